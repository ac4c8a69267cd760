package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"weighin/internal/api"
	"weighin/internal/calib"
	"weighin/internal/doctor"
	"weighin/internal/publish"
	"weighin/internal/registry"
	"weighin/internal/vocab"
)

// The parcels, station and calibration pages. Their forms post to the web
// app, which carries each out through the station's API commands (the
// ones weighctl parcels, share and calibrate use) and answers with the
// page again: plain HTML forms, no script but the live reading's.

// maxImportBytes bounds a CSV imported from the page, as weighctl's import
// through weighd is bounded (the API takes 64 KiB values).
const maxImportBytes = 60 << 10

// maxUploadBytes bounds a multipart form, kept in memory: more than a CSV
// weighd takes, so that a larger file is refused by name.
const maxUploadBytes = 1 << 20

// decodeInto turns an API answer into v (the answers are JSON on the
// socket; in process the same values).
func decodeInto(ans any, v any) error {
	b, err := json.Marshal(ans)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// status is weighd's status as the pages read it.
func (s *Server) stationStatus(ctx context.Context) (api.Status, error) {
	var st api.Status
	v, err := s.opt.Station.Status(ctx)
	if err == nil {
		err = decodeInto(v, &st)
	}
	return st, err
}

// back answers a form with a redirect to page with a message.
func back(w http.ResponseWriter, r *http.Request, page, msg string) {
	http.Redirect(w, r, page+"?msg="+url.QueryEscape(msg), http.StatusSeeOther)
}

// The parcels page.

type expectedRow struct {
	registry.Expected
}

// Items is the row's items as the CSV writes them.
func (e expectedRow) ItemsText() string { return registry.FormatItems(e.Items) }

func (s *Server) serveParcels(w http.ResponseWriter, r *http.Request, ls *loginSession, rest string) {
	switch {
	case rest == "" && safeMethod(r.Method):
		s.parcelsPage(w, r, ls, http.StatusOK, map[string]any{"Msg": r.URL.Query().Get("msg")})
	case rest == "add" && r.Method == http.MethodPost:
		f := map[string]string{}
		for _, k := range []string{"tracking", "order_ref", "label_g", "label_resolution_g", "items"} {
			f[k] = r.PostFormValue(k)
		}
		p, err := registry.ParcelFromFields(f["tracking"], f["order_ref"], f["label_g"], f["label_resolution_g"], f["items"])
		if err == nil {
			var v []byte
			if v, err = json.Marshal(p); err == nil {
				_, err = s.opt.Station.Command(r.Context(), string(publish.CmdParcel), string(v), nil)
			}
		}
		if err != nil {
			s.parcelsPage(w, r, ls, http.StatusBadRequest, map[string]any{"AddError": err.Error(), "Form": f})
			return
		}
		back(w, r, "/parcels", "added "+vocab.NormalizeTracking(p.Tracking))
	case rest == "rm" && r.Method == http.MethodPost:
		t := r.PostFormValue("tracking")
		if _, err := s.opt.Station.Command(r.Context(), api.CmdParcelRemove, t, nil); err != nil {
			s.parcelsPage(w, r, ls, http.StatusBadRequest, map[string]any{"Error": err.Error()})
			return
		}
		back(w, r, "/parcels", "removed "+vocab.NormalizeTracking(t))
	case rest == "import" && r.Method == http.MethodPost:
		n, name, err := s.importCSV(r)
		if err != nil {
			s.parcelsPage(w, r, ls, http.StatusBadRequest, map[string]any{"ImportError": err.Error()})
			return
		}
		back(w, r, "/parcels", fmt.Sprintf("imported %d parcels from %s", n, name))
	default:
		http.NotFound(w, r)
	}
}

// importCSV sends the form's CSV file to the parcel_import command.
func (s *Server) importCSV(r *http.Request) (int, string, error) {
	if r.MultipartForm == nil { // csrfOK parsed it, bounded
		return 0, "", errors.New("import: send the CSV as a file (multipart/form-data)")
	}
	f, hdr, err := r.FormFile("csv")
	if err != nil {
		return 0, "", errors.New("import: choose a CSV file")
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxImportBytes+1))
	if err != nil {
		return 0, "", fmt.Errorf("import: %v", err)
	}
	name := hdr.Filename
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	if name == "" {
		name = "parcels.csv"
	}
	if len(data) > maxImportBytes {
		return 0, name, fmt.Errorf("import: %s is larger than %d KiB, more than weighd takes at once: split it", name, maxImportBytes>>10)
	}
	v, err := json.Marshal(api.ImportRequest{Name: name, CSV: string(data)})
	if err != nil {
		return 0, name, err
	}
	var reply api.ImportReply
	ans, err := s.opt.Station.Command(r.Context(), api.CmdParcelImport, string(v), nil)
	if err == nil {
		err = decodeInto(ans, &reply)
	}
	return reply.Imported, name, err
}

func (s *Server) parcelsPage(w http.ResponseWriter, r *http.Request, ls *loginSession, code int, data map[string]any) {
	var rows []expectedRow
	ans, err := s.opt.Station.Command(r.Context(), api.CmdParcels, "", nil)
	if err == nil {
		err = decodeInto(ans, &rows)
	}
	if err != nil && data["Error"] == nil {
		data["Error"] = err.Error()
	}
	arrived := 0
	for _, e := range rows {
		if e.Sessions > 0 {
			arrived++
		}
	}
	data["CSRF"], data["Rows"], data["Arrived"], data["Columns"] = ls.csrf, rows, arrived, strings.Join(registry.Columns, ",")
	if data["Form"] == nil {
		data["Form"] = map[string]string{}
	}
	s.renderCode(w, code, "parcels.html", data)
}

// The station page.

func (s *Server) serveStation(w http.ResponseWriter, r *http.Request, ls *loginSession, rest string) {
	switch {
	case rest == "" && safeMethod(r.Method):
		s.stationPage(w, r, ls, http.StatusOK, map[string]any{"Msg": r.URL.Query().Get("msg")})
	case rest == "share-revoke" && r.Method == http.MethodPost:
		id := r.PostFormValue("id")
		if _, err := s.opt.Station.Command(r.Context(), api.CmdShareRevoke, id, nil); err != nil {
			s.stationPage(w, r, ls, http.StatusBadRequest, map[string]any{"Error": err.Error()})
			return
		}
		back(w, r, "/station", "share link "+id+" revoked")
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) stationPage(w http.ResponseWriter, r *http.Request, ls *loginSession, code int, data map[string]any) {
	st, err := s.stationStatus(r.Context())
	if err != nil && data["Error"] == nil {
		data["Error"] = "status: " + err.Error()
	}
	var shares []api.ShareInfo
	if ans, err := s.opt.Station.Command(r.Context(), api.CmdShareList, "", nil); err != nil {
		data["ShareError"] = err.Error()
	} else if err := decodeInto(ans, &shares); err != nil {
		data["ShareError"] = err.Error()
	}
	var checks []doctor.Check
	if s.opt.Doctor != nil {
		checks = s.opt.Doctor(r.Context())
	}
	data["CSRF"], data["S"], data["Shares"], data["Checks"] = ls.csrf, st, shares, checks
	data["Free"] = humanBytes(st.FreeStorageBytes)
	data["Uptime"] = (time.Duration(st.UptimeS) * time.Second).String()
	s.renderCode(w, code, "station.html", data)
}

// The calibration page: the guided steps of weighctl calibrate (package
// calib's), each carried out by the same API command.

func (s *Server) serveCalibrate(w http.ResponseWriter, r *http.Request, ls *loginSession, rest string) {
	q := r.URL.Query()
	data := map[string]any{"Step": 1, "Msg": q.Get("msg")}
	switch {
	case rest == "" && safeMethod(r.Method):
		if q.Get("step") == "2" {
			data["Step"] = 2
			if m := q.Get("mass"); m != "" {
				if g, err := vocab.ParseMass(m); err != nil {
					data["Error"] = err.Error()
				} else {
					data["Mass"] = strconv.FormatFloat(g, 'f', -1, 64)
				}
			}
		}
		s.calibratePage(w, r, ls, http.StatusOK, data)
	case rest == "zero" && r.Method == http.MethodPost:
		if _, err := s.opt.Station.Command(r.Context(), api.CmdCalibrateZero, "", nil); err != nil {
			data["Error"] = err.Error()
			s.calibratePage(w, r, ls, http.StatusBadRequest, data)
			return
		}
		http.Redirect(w, r, "/calibrate?step=2&msg="+url.QueryEscape("zero recorded."), http.StatusSeeOther)
	case rest == "span" && r.Method == http.MethodPost:
		mass := r.PostFormValue("mass")
		data["Step"], data["Mass"] = 2, mass
		if _, err := s.opt.Station.Command(r.Context(), api.CmdCalibrateSpan, mass, nil); err != nil {
			data["Error"] = err.Error()
			s.calibratePage(w, r, ls, http.StatusBadRequest, data)
			return
		}
		back(w, r, "/calibrate", "calibration saved ("+mass+" g).")
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) calibratePage(w http.ResponseWriter, r *http.Request, ls *loginSession, code int, data map[string]any) {
	st, err := s.stationStatus(r.Context())
	if err != nil && data["Error"] == nil {
		data["Error"] = "status: " + err.Error()
	}
	m, _ := data["Mass"].(string)
	data["CSRF"], data["S"], data["Steps"] = ls.csrf, st, calib.Steps
	data["StepZero"], data["AskMass"], data["StepSpan"] = calib.StepZero, calib.AskMass, calib.StepSpan(m)
	data["Reading"] = strconv.FormatFloat(st.WeightG, 'f', 1, 64)
	s.renderCode(w, code, "calibrate.html", data)
}
