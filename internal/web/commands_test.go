package web

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"weighin/internal/api"
	"weighin/internal/export"
	"weighin/internal/result"
)

// The web door never sets the password: a logged-in browser (or anyone on
// a loopback listen without one) cannot take the app over.
func TestWebDoorRefusesPasswd(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	c := e.client()
	_, csrf := e.login(c, "right password")
	resp, body := do(t, c, "POST", e.ts.URL+"/v1/cmd/"+api.CmdWebPasswd, `{"value":"a new password"}`, "Content-Type", "application/json", "X-CSRF-Token", csrf)
	if resp.StatusCode == http.StatusOK || !strings.Contains(body, "weighctl web passwd") {
		t.Errorf("web_passwd on the web door: %d %s", resp.StatusCode, body)
	}
	if code, _ := e.login(e.client(), "right password"); code != http.StatusSeeOther {
		t.Errorf("the old password stopped working: %d", code)
	}
	for _, cmd := range e.st.commands() {
		if strings.HasPrefix(cmd, api.CmdWebPasswd) {
			t.Errorf("the station got %q", cmd)
		}
	}
}

// The API commands weighctl uses while weighd runs.
func TestCommands(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	ctx := context.Background()
	if _, err := e.srv.Command(ctx, api.CmdWebPasswd, "short", nil); !errors.Is(err, ErrWeakPassword) {
		t.Errorf("weak password: %v", err)
	}
	if _, err := e.srv.Command(ctx, api.CmdWebPasswd, "the newer password", nil); err != nil {
		t.Fatal(err)
	}
	if code, _ := e.login(e.client(), "the newer password"); code != http.StatusSeeOther {
		t.Errorf("login with the password set through the API: %d", code)
	}
	for _, bad := range []string{"", "../x", "000009-unsynced"} {
		if _, err := e.srv.Command(ctx, api.CmdShare, bad, nil); err == nil {
			t.Errorf("share %q accepted", bad)
		}
	}
	if _, err := e.srv.Command(ctx, api.CmdShare, testSession, map[string]string{"ttl": "400d"}); err == nil {
		t.Error("ttl 400d accepted")
	}
	v, err := e.srv.Command(ctx, api.CmdShare, testSession, map[string]string{"ttl": "2h"})
	if err != nil {
		t.Fatal(err)
	}
	info := v.(api.ShareInfo)
	if info.Session != testSession || info.State != "active" || !strings.Contains(info.URL, "/s/"+info.ID+".") {
		t.Errorf("share %+v", info)
	}
	path := info.URL[strings.Index(info.URL, "/s/"):]
	if resp, _ := do(t, e.client(), "GET", e.ts.URL+path, ""); resp.StatusCode != http.StatusOK {
		t.Errorf("the API's link: %d", resp.StatusCode)
	}
	l, err := e.srv.Command(ctx, api.CmdShareList, "", nil)
	if list := l.([]api.ShareInfo); err != nil || len(list) != 1 || list[0].ID != info.ID {
		t.Errorf("share_list %+v %v", l, err)
	}
	if _, err := e.srv.Command(ctx, api.CmdShareRevoke, info.ID, nil); err != nil {
		t.Fatal(err)
	}
	if resp, _ := do(t, e.client(), "GET", e.ts.URL+path, ""); resp.StatusCode != http.StatusForbidden {
		t.Errorf("revoked through the API: %d", resp.StatusCode)
	}
	if _, err := e.srv.Command(ctx, api.CmdShareRevoke, "nosuch", nil); err == nil {
		t.Error("revoking an unknown id succeeded")
	}
	if _, err := e.srv.Command(ctx, "nosuch", "", nil); !errors.Is(err, api.ErrUnknownCommand) {
		t.Errorf("unknown command: %v", err)
	}
}

// Marks count from the first frame of their own file; after a rotation
// the export's mapping places them on the video axis and in the MP4.
func TestPlaceMarks(t *testing.T) {
	t.Parallel()
	marks := []result.Mark{{TS: 2, File: "video-000.mkv", Label: "box opened"}, {TS: 3, File: "video-001.mkv"}}
	// video-000 is 10 s long; the export is split at 8 s of video time.
	mapping := []export.Segment{
		{File: "export-chat-part1of2.mp4", ExportStartS: 0, ExportEndS: 8, Original: "video-000.mkv", OriginalStartS: 0, VideoStartS: 0},
		{File: "export-chat-part2of2.mp4", ExportStartS: 0, ExportEndS: 2, Original: "video-000.mkv", OriginalStartS: 8, VideoStartS: 8},
		{File: "export-chat-part2of2.mp4", ExportStartS: 2, ExportEndS: 12, Original: "video-001.mkv", OriginalStartS: 0, VideoStartS: 10},
	}
	off, got := placeMarks(marks, mapping, "export-chat-part2of2.mp4")
	if off != 8 {
		t.Errorf("part 2's offset %v, want 8", off)
	}
	if m := got[1]; m.VideoS != 13 || m.T != 5 || m.Label != "Mark 2" {
		t.Errorf("mark after the rotation, in part 2: %+v (want video 13 s, 5 s into the part)", m)
	}
	if m := got[0]; m.VideoS != 2 || m.T != -1 || m.Where == "" {
		t.Errorf("mark in part 1 while part 2 plays: %+v", m)
	}
	off, got = placeMarks(marks, mapping, "export-chat-part1of2.mp4")
	if off != 0 || got[0].T != 2 || got[1].T != -1 {
		t.Errorf("part 1: offset %v, marks %+v", off, got)
	}
	// No export yet: the second file's start is unknown and said so.
	_, got = placeMarks(marks, nil, "")
	if got[0].VideoS != 2 || got[1].VideoS != -1 || !strings.Contains(got[1].Where, "video-001.mkv") {
		t.Errorf("without a mapping: %+v", got)
	}
}
