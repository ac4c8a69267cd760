package export

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"weighin/internal/evidence"
)

// File is a finished file of an export, outside the bundle, to be moved
// into it under Name: the evidence store's addendum file.
type File = evidence.AddendumFile

// Binder records a finished export in its bundle: it moves the files in
// (durably, as regular files at the bundle's top level) and writes the
// signed addendum whose body is rec, so that verification checks them.
// The station wires it to the evidence store's addendum mechanism:
//
//	export.BinderFunc(func(dir string, rec export.Record, files []export.File) error {
//		_, err := store.AddAddendum(dir, export.RecordKind, rec, files)
//		return err
//	})
type Binder interface {
	Bind(bundleDir string, rec Record, files []File) error
}

// BinderFunc adapts a function to Binder.
type BinderFunc func(bundleDir string, rec Record, files []File) error

// Bind calls f.
func (f BinderFunc) Bind(bundleDir string, rec Record, files []File) error {
	return f(bundleDir, rec, files)
}

// Files lists every output (videos and their overlay scripts) for a Binder.
func (r *Result) Files() []File {
	fs := make([]File, 0, len(r.Outputs))
	for _, o := range r.Outputs {
		fs = append(fs, File{Name: o.Name, Path: o.Path})
	}
	return fs
}

// Finish binds a finished export with b and then removes its work
// directory. With b nil nothing is bound and the files stay in the work
// directory (the caller copies them). A failed bind leaves the work
// directory as it is, so the bind can be retried.
func Finish(b Binder, src *Source, res *Result) error {
	if b == nil {
		return nil
	}
	if err := b.Bind(src.Dir, res.Record, res.Files()); err != nil {
		return fmt.Errorf("export: record in %s: %w", src.SessionID, err)
	}
	return os.RemoveAll(res.WorkDir)
}

// Pending is an export cut short (a crash, a shutdown, a recording that
// started): its work directory holds a plan and the parts already made.
type Pending struct {
	WorkDir   string
	SessionID string
	Preset    string
}

// PendingExports lists the unfinished exports under stateDir/tmp, for the
// daemon to resume at start and after a recording.
func PendingExports(stateDir string) ([]Pending, error) {
	des, err := os.ReadDir(filepath.Join(stateDir, "tmp"))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	var out []Pending
	for _, de := range des {
		name := de.Name()
		if !de.IsDir() || !strings.HasPrefix(name, "export-") {
			continue
		}
		wd := filepath.Join(stateDir, "tmp", name)
		data, err := os.ReadFile(filepath.Join(wd, jobFile))
		if err != nil {
			continue
		}
		var j job
		if json.Unmarshal(data, &j) != nil || j.State != "running" {
			continue
		}
		rest := strings.TrimPrefix(name, "export-")
		i := strings.LastIndexByte(rest, '-')
		if i <= 0 {
			continue
		}
		out = append(out, Pending{WorkDir: wd, SessionID: rest[:i], Preset: rest[i+1:]})
	}
	return out, nil
}
