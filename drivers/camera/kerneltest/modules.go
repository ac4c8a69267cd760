package kerneltest

import (
	"bytes"
	"debug/elf"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
)

// Module is one kernel module file and the modules it depends on.
type Module struct {
	Name    string
	Path    string
	Depends []string
}

// modName normalises a module name: file names use '-' or '_' freely.
func modName(s string) string {
	return strings.ReplaceAll(strings.TrimSuffix(filepath.Base(s), ".ko"), "-", "_")
}

// ModInfo reads the "depends=" entry of a module's .modinfo section (Debian
// ships no modules.dep inside the package; depmod makes it at install).
func ModInfo(path string) (Module, error) {
	f, err := elf.Open(path)
	if err != nil {
		return Module{}, fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	sec := f.Section(".modinfo")
	if sec == nil {
		return Module{}, fmt.Errorf("%s: no .modinfo section", path)
	}
	data, err := sec.Data()
	if err != nil {
		return Module{}, fmt.Errorf("%s: .modinfo: %w", path, err)
	}
	m := Module{Name: modName(path), Path: path}
	for _, kv := range bytes.Split(data, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("depends=")); ok && len(v) > 0 {
			for _, d := range strings.Split(string(v), ",") {
				m.Depends = append(m.Depends, modName(d))
			}
		}
	}
	return m, nil
}

// LoadOrder returns the module files to insmod, dependencies first, for the
// wanted modules found under dir (lib/modules/<version>).
func LoadOrder(dir string, want ...string) ([]Module, error) {
	index := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".ko") {
			index[modName(p)] = p
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var order []Module
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(name string, chain []string) error
	visit = func(name string, chain []string) error {
		switch state[name] {
		case 2:
			return nil
		case 1:
			return fmt.Errorf("module dependency cycle: %v", append(chain, name))
		}
		p, ok := index[name]
		if !ok {
			return fmt.Errorf("module %s not found under %s (needed by %v)", name, dir, chain)
		}
		state[name] = 1
		m, err := ModInfo(p)
		if err != nil {
			return err
		}
		for _, d := range m.Depends {
			if err := visit(d, append(chain, name)); err != nil {
				return err
			}
		}
		state[name] = 2
		order = append(order, m)
		return nil
	}
	for _, w := range want {
		if err := visit(modName(w), nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}
