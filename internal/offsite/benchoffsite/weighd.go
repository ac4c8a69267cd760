package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"weighin/internal/api"
	"weighin/internal/offsite"
)

// weighdBench is the same bundle replicated by weighd --sim itself (the
// replicator under its errgroup, queued by its start-up scan): the upload's
// span by weighd's journal (first copying to last verified), and weighd's
// CPU from its API answering to every object Verified (utime+stime from
// /proc/<pid>/stat) less its idle CPU rate over as long right after, per
// uploaded GB.
type weighdBench struct {
	bin, vgw, tmp, state, creds string
	total                       int64
}

// config writes weighd's configuration: the state holding the bundle, the
// embedded MQTT broker, the simulator at 720p30, offsite to endpoint under
// prefix.
func (w weighdBench) config(name, endpoint, prefix string) (conf, sock string, err error) {
	dir := filepath.Join(w.tmp, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	sock = filepath.Join(dir, "w.sock")
	conf = filepath.Join(dir, "weighd.yaml")
	l, err := net.Listen("tcp", "127.0.0.1:0") // the embedded broker's port
	if err != nil {
		return "", "", err
	}
	mqtt := l.Addr().String()
	l.Close()
	c := fmt.Sprintf("station_id: bench\nstate_dir: %s\nlog_level: info\napi:\n  socket: %s\nmqtt:\n  embedded_listen: %s\ncamera:\n  width: 1280\n  height: 720\n  fps: 30\nsession:\n  label_window: 1s\n  stable_wait: 2s\noffsite:\n  endpoint: %s\n  bucket: bench\n  prefix: %s\n  credentials_file: %s\n",
		w.state, sock, mqtt, endpoint, prefix, w.creds)
	return conf, sock, os.WriteFile(conf, []byte(c), 0o600)
}

// start runs weighd --sim on conf (a fresh journal: the bundle is queued
// again) until its API answers.
func (w weighdBench) start(conf, sock string) (*exec.Cmd, *api.Client, error) {
	os.RemoveAll(filepath.Join(w.state, "offsite"))
	logf, err := os.Create(conf + ".log")
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(w.bin, "--sim", "--config", conf)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	c := api.NewClient(sock)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		var st api.Status
		if c.Status(context.Background(), &st) == nil {
			return cmd, c, nil
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			log, _ := os.ReadFile(conf + ".log")
			return nil, nil, fmt.Errorf("weighd did not come up:\n%s", log)
		}
	}
}

func stop(cmd *exec.Cmd) {
	cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

// status polls weighd until cond holds (or a problem is reported), every
// poll (a few times a second: a status costs weighd CPU too).
func status(c *api.Client, timeout time.Duration, cond func(api.Status) bool, poll ...time.Duration) (api.Status, error) {
	every := 10 * time.Millisecond
	if len(poll) > 0 {
		every = poll[0]
	}
	deadline := time.Now().Add(timeout)
	for {
		var st api.Status
		if err := c.Status(context.Background(), &st); err == nil {
			if st.Offsite != nil && len(st.Offsite.Problems) > 0 {
				return st, fmt.Errorf("weighd's replicator: %+v", st.Offsite.Problems)
			}
			if cond(st) {
				return st, nil
			}
		}
		if time.Now().After(deadline) {
			return st, errors.New("timed out")
		}
		time.Sleep(every)
	}
}

// journalSpan is the upload's span by weighd's own journal: from the first
// object's copying to the last one's verified.
func journalSpan(state string) (float64, error) {
	b, err := os.ReadFile(filepath.Join(state, offsite.Dir, "journal.jsonl"))
	if err != nil {
		return 0, err
	}
	var first, last time.Time
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var o offsite.Object
		if json.Unmarshal([]byte(line), &o) != nil {
			continue
		}
		switch {
		case o.State == offsite.Copying && (first.IsZero() || o.At.Before(first)):
			first = o.At.Time
		case o.State == offsite.Verified && o.At.After(last):
			last = o.At.Time
		}
	}
	if first.IsZero() || !last.After(first) {
		return 0, errors.New("the journal has no copying → verified span")
	}
	return last.Sub(first).Seconds(), nil
}

func allVerified(st api.Status) bool {
	return st.Offsite != nil && st.Offsite.BacklogObjects == 0 && st.Offsite.Objects["verified"] > 0
}

// procCPU is the process's utime+stime in seconds.
func procCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100, nil // USER_HZ is 100 on Linux
}

// outage starts weighd against an endpoint where no store listens yet, so
// its replicator pauses (the 30 s back-off), then starts versitygw there
// with the bucket: weighd uploads at its next attempt, which it returns.
func (w weighdBench) outage(name string) (cmd *exec.Cmd, c *api.Client, next time.Time, cleanup func(), err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, next, nil, err
	}
	addr := l.Addr().String()
	l.Close()
	conf, sock, err := w.config(name, "http://"+addr, name)
	if err != nil {
		return nil, nil, next, nil, err
	}
	if cmd, c, err = w.start(conf, sock); err != nil {
		return nil, nil, next, nil, err
	}
	st, err := status(c, time.Minute, func(s api.Status) bool { return s.Offsite != nil && s.Offsite.ConsecutiveFailures > 0 })
	if err != nil {
		stop(cmd)
		return nil, nil, next, nil, fmt.Errorf("weighd's replicator did not pause on the missing store: %w", err)
	}
	root := filepath.Join(w.tmp, "s3-"+name)
	if err := os.MkdirAll(filepath.Join(root, "bench"), 0o755); err != nil { // the bucket, in the POSIX backend
		stop(cmd)
		return nil, nil, next, nil, err
	}
	srv := exec.Command(w.vgw, "--access", ak, "--secret", sk, "--port", addr, "--quiet", "posix", root)
	if err := srv.Start(); err != nil {
		stop(cmd)
		return nil, nil, next, nil, err
	}
	return cmd, c, st.Offsite.NextAttempt.Time, func() {
		stop(cmd)
		srv.Process.Kill()
		srv.Wait()
		os.RemoveAll(root)
	}, nil
}

// upload is one run: MB/s by the journal, and weighd's CPU seconds per GB
// over the upload less its idle rate measured just before it, with the
// same polling.
func (w weighdBench) upload(run int) (mbps, cpuPerGB float64, err error) {
	cmd, c, next, cleanup, err := w.outage(fmt.Sprintf("weighd-%d", run))
	if err != nil {
		return 0, 0, err
	}
	defer cleanup()
	const poll = 200 * time.Millisecond
	time.Sleep(time.Second) // versitygw starting
	i0, _ := procCPU(cmd.Process.Pid)
	t0 := time.Now()
	status(c, time.Until(next.Add(-300*time.Millisecond)), func(api.Status) bool { return false }, poll)
	i1, _ := procCPU(cmd.Process.Pid)
	idle := (i1 - i0) / time.Since(t0).Seconds()
	t1 := time.Now()
	st, err := status(c, 10*time.Minute, allVerified, poll)
	if err != nil {
		return 0, 0, err
	}
	window := time.Since(t1).Seconds()
	cpu, _ := procCPU(cmd.Process.Pid)
	secs, err := journalSpan(w.state)
	if err != nil {
		return 0, 0, err
	}
	if st.Offsite.UploadedBytes != w.total {
		return 0, 0, fmt.Errorf("weighd uploaded %d bytes, the bundle has %d", st.Offsite.UploadedBytes, w.total)
	}
	gb := float64(w.total) / 1e9
	return float64(w.total) / 1e6 / secs, max(cpu-i1-idle*window, 0) / gb, nil
}

// duringRecording: weighd paused by an outage (outage), a 720p30 session
// starts, and weighd uploads the bundle unpaced at its next attempt while
// recording. It returns the frames and drops of the
// session's own continuity record, and the upload's seconds.
func (w weighdBench) duringRecording() (frames, dropped int64, secs float64, err error) {
	_, c, _, cleanup, err := w.outage("weighd-rec")
	if err != nil {
		return 0, 0, 0, err
	}
	defer cleanup()
	cmdDo := func(name, value string) error { return c.Command(context.Background(), name, value, nil) }
	if err := cmdDo(api.CmdSimPlace, "1000"); err != nil {
		return 0, 0, 0, err
	}
	if _, err := status(c, time.Minute, func(s api.Status) bool { return s.WeightState == "stable" }); err != nil {
		return 0, 0, 0, fmt.Errorf("no stable weight: %w", err)
	}
	if err := cmdDo(api.CmdSimPress, "short"); err != nil {
		return 0, 0, 0, err
	}
	st, err := status(c, time.Minute, func(s api.Status) bool { return s.Recording })
	if err != nil {
		return 0, 0, 0, fmt.Errorf("no recording: %w", err)
	}
	if st.Offsite.UploadedBytes > 0 {
		return 0, 0, 0, errors.New("the upload began before the recording")
	}
	if _, err := status(c, 2*time.Minute, func(s api.Status) bool { return s.Offsite.UploadedBytes > 0 }); err != nil {
		return 0, 0, 0, fmt.Errorf("the upload did not begin: %w", err)
	}
	t0 := time.Now()
	if _, err := status(c, 10*time.Minute, allVerified); err != nil {
		return 0, 0, 0, err
	}
	secs = time.Since(t0).Seconds()
	time.Sleep(time.Second)
	if err := cmdDo(api.CmdSimPress, "long"); err != nil {
		return 0, 0, 0, err
	}
	st, err = status(c, time.Minute, func(s api.Status) bool { return s.LastResult != nil && s.SessionState != "sealing" })
	if err != nil {
		return 0, 0, 0, fmt.Errorf("no sealed result: %w", err)
	}
	for _, n := range st.LastResult.Continuity.Dropped {
		dropped += n
	}
	return st.LastResult.Continuity.Frames, dropped, secs, nil
}
