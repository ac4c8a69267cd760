package audio

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"weighin/internal/config"
)

// fakeRoot builds the sysfs and /dev of a station: a USB webcam (1-1: video
// on interface :1.0, its microphone card1 on :1.2), a USB headset (1-2,
// card0), a USB camera without a microphone (1-3, video1), the kernel's
// loopback (card2) and vivid (video2) on the platform bus. Symlinks are
// relative, as the kernel makes them.
func fakeRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	usb := "sys/devices/pci0000:00/0000:00:14.0/usb1"
	mk := func(p string, data string) {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, p string) {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		rel, err := filepath.Rel(filepath.Dir(full), filepath.Join(root, target))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(rel, full); err != nil {
			t.Fatal(err)
		}
	}
	mk(usb+"/devnum", "1")
	for _, d := range []string{"1-1", "1-2", "1-3"} {
		mk(usb+"/"+d+"/devnum", "2")
	}
	for _, d := range []string{"1-1/1-1:1.0", "1-1/1-1:1.2", "1-2/1-2:1.0", "1-3/1-3:1.0"} {
		mk(usb+"/"+d+"/bInterfaceNumber", "00")
	}
	mk("sys/devices/platform/vivid.0/driver_override", "")
	mk("sys/devices/platform/snd_aloop.0/driver_override", "")
	link(usb+"/1-1/1-1:1.0", "sys/class/video4linux/video0/device")
	link(usb+"/1-3/1-3:1.0", "sys/class/video4linux/video1/device")
	link("sys/devices/platform/vivid.0", "sys/class/video4linux/video2/device")
	link(usb+"/1-2/1-2:1.0", "sys/class/sound/card0/device")
	link(usb+"/1-1/1-1:1.2", "sys/class/sound/card1/device")
	link("sys/devices/platform/snd_aloop.0", "sys/class/sound/card2/device")
	mk("sys/class/sound/card0/id", "Headset\n")
	mk("sys/class/sound/card1/id", "C920\n")
	mk("sys/class/sound/card2/id", "Loopback\n")
	for _, n := range []string{"video0", "video1", "video2", "snd/pcmC0D0c", "snd/pcmC0D0p", "snd/pcmC1D0c", "snd/pcmC2D0p", "snd/pcmC2D1c", "snd/controlC1"} {
		mk("dev/"+n, "")
	}
	link("dev/video0", "dev/v4l/by-id/usb-046d_C920-video-index0")
	return root
}

func TestResolve(t *testing.T) {
	root := fakeRoot(t)
	for _, c := range []struct {
		name, video string
		want        string // a node under /dev/snd, or the error's text
	}{
		{"", "/dev/video0", "pcmC1D0c"},
		{"", "/dev/v4l/by-id/usb-046d_C920-video-index0", "pcmC1D0c"},
		{"", "/dev/video1", "the camera /dev/video1 (USB 1-3) has no sound card; set audio.device"},
		{"", "/dev/video2", "the camera /dev/video2 (video2) is not a USB device; set audio.device"},
		{"", "/dev/video7", "the camera /dev/video7"},
		{"hw:0", "", "pcmC0D0c"},
		{"hw:0,0", "", "pcmC0D0c"},
		{"hw:Loopback,1", "", "pcmC2D1c"},
		{"Loopback", "", "pcmC2D1c"},
		{"C920", "/dev/video1", "pcmC1D0c"},
		{"hw:2,0", "", "card 2 has no capture device 0"},
		{"hw:9", "", "no sound card 9"},
		{"hw:Mic", "", `no sound card with id "Mic" (cards: [Headset C920 Loopback])`},
		{"/dev/snd/pcmC1D0c", "", "pcmC1D0c"},
		{"/dev/snd/pcmC5D0c", "", "pcmC5D0c: "},
		{"plughw:1,0", "", `"plughw:1,0" is not hw:CARD[,DEV]`},
	} {
		got, err := Resolve(root, c.name, c.video)
		if strings.HasPrefix(c.want, "pcm") && !strings.Contains(c.want, " ") {
			if err != nil || got != filepath.Join(root, "dev/snd", c.want) {
				t.Errorf("Resolve(%q, %q) = %q, %v; want %s", c.name, c.video, got, err, c.want)
			}
			continue
		}
		if !errors.Is(err, ErrNoDevice) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Resolve(%q, %q) = %q, %v; want ErrNoDevice with %q", c.name, c.video, got, err, c.want)
		}
	}
}

func TestValidDevice(t *testing.T) {
	for _, ok := range []string{"", "hw:1", "hw:1,0", "hw:C920,0", "C920", "U0x46d0x825", "/dev/snd/pcmC1D0c"} {
		if !ValidDevice(ok) {
			t.Errorf("ValidDevice(%q) = false", ok)
		}
	}
	for _, bad := range []string{"plughw:1,0", "hw:", "hw:1,", "default", "/dev/snd/pcmC1D0p", "/dev/video0", "a b", "hw:1,0,0"} {
		if ValidDevice(bad) {
			t.Errorf("ValidDevice(%q) = true", bad)
		}
	}
}

// The configuration accepts exactly the names Resolve takes.
func TestConfigAgrees(t *testing.T) {
	for _, name := range []string{"", "hw:1", "hw:1,0", "hw:C920,0", "C920", "U0x46d0x825", "/dev/snd/pcmC1D0c",
		"plughw:1,0", "hw:", "hw:1,", "default", "/dev/snd/pcmC1D0p", "/dev/video0", "a b", "hw:1,0,0", "/dev/snd/../pcmC1D0c"} {
		c := config.Default()
		c.Audio.Device = name
		if cfg := c.Validate() == nil; cfg != ValidDevice(name) {
			t.Errorf("audio.device %q: config accepts %v, drivers/audio %v", name, cfg, ValidDevice(name))
		}
	}
}
