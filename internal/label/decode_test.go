package label

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

const labelDir = "../../testdata/labels"

type manifestImage struct {
	File     string    `json:"file"`
	Label    string    `json:"label"`
	Variant  string    `json:"variant"`
	Tracking string    `json:"tracking"`
	Primary  Barcode   `json:"primary"`
	Codes    []Barcode `json:"codes"`
}

func loadManifest(t testing.TB) []manifestImage {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(labelDir, "labels.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct{ Images []manifestImage }
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Images) < 60 {
		t.Fatalf("labels.json lists %d images, want at least 50", len(m.Images))
	}
	if raceEnabled {
		// Every third image: all designs and variants still appear.
		var sub []manifestImage
		for i := 0; i < len(m.Images); i += 3 {
			sub = append(sub, m.Images[i])
		}
		return sub
	}
	return m.Images
}

type decoded struct {
	img   manifestImage
	codes []Barcode
	zbar  []Barcode
}

var (
	decodeOnce sync.Once
	decodeAll  []decoded
	decodeErr  error
)

// decodeTestdata decodes every test image once (with gozxing and zbarimg)
// and shares the result between the tests.
func decodeTestdata(t *testing.T) []decoded {
	t.Helper()
	zbar, err := exec.LookPath("zbarimg")
	if err != nil {
		t.Fatal("internal/label: zbarimg (Debian zbar-tools) is needed to cross-check the decoder: ", err)
	}
	decodeOnce.Do(func() {
		imgs := loadManifest(t)
		out := make([]decoded, len(imgs))
		var wg sync.WaitGroup
		sem := make(chan struct{}, 2)
		var mu sync.Mutex
		for i, im := range imgs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				path := filepath.Join(labelDir, im.File)
				data, err := os.ReadFile(path)
				if err == nil {
					var g = mustLuma(data)
					out[i] = decoded{img: im, codes: Decode(g)}
					out[i].zbar, err = zbarimg(zbar, path)
				}
				if err != nil {
					mu.Lock()
					decodeErr = errors.Join(decodeErr, err)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		decodeAll = out
	})
	if decodeErr != nil {
		t.Fatal(decodeErr)
	}
	return decodeAll
}

func mustLuma(data []byte) *image.Gray {
	g, err := DecodeLuma(data)
	if err != nil {
		panic(err)
	}
	return g
}

// zbarimg runs `zbarimg -q FILE` and maps its symbology names to ours.
// Exit status 4 means no symbol found.
func zbarimg(bin, path string) ([]Barcode, error) {
	cmd := exec.Command(bin, "-q", "--nodbus", path)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 4 {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Barcode
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		sym, text, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := map[string]string{"CODE-128": FormatCode128, "QR-Code": FormatQR, "EAN-13": FormatEAN13}[sym]
		if f == "" {
			f = sym
		}
		out = append(out, Barcode{Format: f, Text: text})
	}
	return out, sc.Err()
}

func contains(list []Barcode, b Barcode) bool {
	for _, x := range list {
		if x == b {
			return true
		}
	}
	return false
}

// TestTestdataDecodeRate: at least 90 % of the images have their primary
// symbol decoded, and no image yields a symbol that is not printed on it.
func TestTestdataDecodeRate(t *testing.T) {
	all := decodeTestdata(t)
	ok := 0
	for _, d := range all {
		for _, c := range d.codes {
			if !contains(d.img.Codes, c) {
				t.Errorf("%s: misread %s %q (printed: %v)", d.img.File, c.Format, c.Text, d.img.Codes)
			}
		}
		if contains(d.codes, d.img.Primary) {
			ok++
		} else {
			t.Logf("%s: primary %v not decoded (got %v)", d.img.File, d.img.Primary, d.codes)
		}
	}
	rate := float64(ok) / float64(len(all))
	t.Logf("decoded the primary symbol in %d of %d images (%.1f %%)", ok, len(all), 100*rate)
	if rate < 0.9 {
		t.Errorf("decode rate %.1f %% < 90 %%", 100*rate)
	}
}

// TestTestdataAgreesWithZbarimg: for Code 128, QR and EAN-13 (UPC-A, which
// zbarimg reports as EAN-13 with a leading 0), every text gozxing decodes
// is what zbarimg decodes where zbarimg reads that symbology, and on the
// clean images both read exactly the same set.
func TestTestdataAgreesWithZbarimg(t *testing.T) {
	all := decodeTestdata(t)
	both, onlyUs, onlyZbar := 0, 0, 0
	for _, d := range all {
		for _, z := range d.zbar {
			if !contains(d.img.Codes, z) && !(z.Format == FormatEAN13 && contains(d.img.Codes, Barcode{FormatUPCA, strings.TrimPrefix(z.Text, "0")})) {
				t.Errorf("%s: zbarimg read %v, not printed on the label", d.img.File, z)
			}
		}
		var ours []Barcode
		for _, c := range d.codes {
			switch c.Format {
			case FormatUPCA:
				ours = append(ours, Barcode{FormatEAN13, "0" + c.Text})
			case FormatCode128, FormatQR, FormatEAN13:
				ours = append(ours, c)
			}
		}
		zbarHas := map[string]bool{}
		for _, z := range d.zbar {
			zbarHas[z.Format] = true
		}
		for _, c := range ours {
			switch {
			case contains(d.zbar, c):
				both++
			case zbarHas[c.Format]:
				t.Errorf("%s: we read %v, zbarimg read %v", d.img.File, c, d.zbar)
			default:
				onlyUs++
			}
		}
		for _, z := range d.zbar {
			if !contains(ours, z) {
				onlyZbar++
			}
		}
		if d.img.Variant == "clean" {
			if len(ours) != len(d.zbar) {
				t.Errorf("%s (clean): we read %v, zbarimg %v", d.img.File, ours, d.zbar)
			}
			for _, c := range ours {
				if !contains(d.zbar, c) {
					t.Errorf("%s (clean): %v not read by zbarimg (%v)", d.img.File, c, d.zbar)
				}
			}
		}
	}
	t.Logf("Code 128/QR/EAN-13 symbols: %d read by both and equal, %d only by gozxing, %d only by zbarimg", both, onlyUs, onlyZbar)
	if both == 0 {
		t.Error("no symbol read by both decoders")
	}
}

// TestTestdataTracking: ChooseTracking (no registry) returns the printed
// tracking number or none, never another number.
func TestTestdataTracking(t *testing.T) {
	all := decodeTestdata(t)
	found := 0
	for _, d := range all {
		tr, err := ChooseTracking(d.codes, nil)
		switch {
		case err == nil && tr.Number == d.img.Tracking:
			found++
		case err == nil:
			t.Errorf("%s: chose %q, label says %q", d.img.File, tr.Number, d.img.Tracking)
		case !errors.Is(err, ErrNoTracking) && !errors.Is(err, ErrAmbiguous):
			t.Errorf("%s: %v", d.img.File, err)
		}
	}
	t.Logf("tracking number found by pattern in %d of %d images", found, len(all))
	if found < len(all)*9/10 {
		t.Errorf("tracking found in only %d of %d images", found, len(all))
	}
}
