package synth

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// CSV encodes tr as `t_ms,raw,grams_true` lines.
func CSV(tr Trace) []byte {
	var b bytes.Buffer
	b.WriteString("t_ms,raw,grams_true\n")
	var line []byte
	for i, s := range tr.Samples {
		line = strconv.AppendInt(line[:0], s.T.Milliseconds(), 10)
		line = append(line, ',')
		line = strconv.AppendInt(line, int64(s.Raw), 10)
		line = append(line, ',')
		line = strconv.AppendFloat(line, tr.Grams[i], 'f', 3, 64)
		line = append(line, '\n')
		b.Write(line)
	}
	return b.Bytes()
}

// Files returns the file names and contents the generator writes for the
// reference set: NAME.csv and NAME.truth.json per scenario.
func Files() (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, s := range Scenarios() {
		tr := Generate(s)
		j, err := marshalTruth(tr)
		if err != nil {
			return nil, fmt.Errorf("synth: %s: %w", s.Name, err)
		}
		out[s.Name+".csv"] = CSV(tr)
		out[s.Name+".truth.json"] = j
	}
	return out, nil
}

// FilesB returns the files of a model-B set (ScenariosB, NoisyScenarios).
func FilesB(ss []ScenarioB) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, s := range ss {
		tr := GenerateB(s)
		j, err := marshalTruth(tr)
		if err != nil {
			return nil, fmt.Errorf("synth: %s: %w", s.Name, err)
		}
		out[s.Name+".csv"] = CSV(tr)
		out[s.Name+".truth.json"] = j
	}
	return out, nil
}

// WriteAll writes the reference set into dir (created if missing).
func WriteAll(dir string) error {
	files, err := Files()
	if err != nil {
		return err
	}
	return writeFiles(dir, files)
}

// WriteB writes a model-B set into dir (created if missing).
func WriteB(dir string, ss []ScenarioB) error {
	files, err := FilesB(ss)
	if err != nil {
		return err
	}
	return writeFiles(dir, files)
}

func writeFiles(dir string, files map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("synth: %w", err)
		}
	}
	return nil
}
