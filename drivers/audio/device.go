package audio

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// ErrNoDevice is wrapped by Resolve when no capture device matches.
var ErrNoDevice = errors.New("audio: no microphone")

var (
	hwName  = regexp.MustCompile(`^hw:([A-Za-z0-9_-]+)(?:,([0-9]+))?$`)
	pcmNode = regexp.MustCompile(`^pcmC([0-9]+)D([0-9]+)c$`)
	cardID  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,31}$`)
	devPath = regexp.MustCompile(`^/dev/snd/pcmC[0-9]+D[0-9]+c$`)
)

// ValidDevice reports whether name is a form Resolve takes: empty (the
// camera's own microphone), hw:CARD[,DEV] with CARD a number or a card id,
// a bare card id, or a /dev/snd/pcmC<card>D<dev>c path (alsa-lib's
// "default" and plug: names are not cards).
func ValidDevice(name string) bool {
	switch {
	case name == "default":
		return false // alsa-lib's plugin name, not a card
	case name == "", hwName.MatchString(name), cardID.MatchString(name):
		return true
	}
	return devPath.MatchString(name)
}

// Resolve returns the capture PCM node for the configured device name,
// looked up under root ("/" on a station; a directory tree in tests):
//
//   - "" is the camera's own microphone: the sound card whose sysfs device
//     lies under the same USB device as the camera's video node
//     (/sys/class/video4linux/videoN/device → its USB device; then
//     /sys/class/sound/cardM/device under that USB device), and its first
//     capture PCM;
//   - "hw:M,D" is card M (a number or its id, /sys/class/sound/cardM/id),
//     device D (0 when left out: "hw:M");
//   - a bare card id is that card's first capture PCM;
//   - "/dev/snd/pcmCMDDc" is that node.
//
// The result is a path under root.
func Resolve(root, name, videoDevice string) (string, error) {
	if root == "" {
		root = "/"
	}
	at := func(p string) string { return filepath.Join(root, p) }
	switch {
	case name == "":
		card, err := cameraCard(root, videoDevice)
		if err != nil {
			return "", err
		}
		return firstCapture(root, card)
	case strings.HasPrefix(name, "/dev/snd/"):
		p := at(name)
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%w: %s: %v", ErrNoDevice, name, err)
		}
		return p, nil
	}
	cardName, dev := name, ""
	if m := hwName.FindStringSubmatch(name); m != nil {
		cardName, dev = m[1], m[2]
		if dev == "" {
			dev = "0"
		}
	} else if !cardID.MatchString(name) {
		return "", fmt.Errorf("%w: %q is not hw:CARD[,DEV], a card id or /dev/snd/pcmC…D…c", ErrNoDevice, name)
	}
	card, err := findCard(root, cardName)
	if err != nil {
		return "", err
	}
	if dev == "" {
		return firstCapture(root, card)
	}
	p := at(fmt.Sprintf("dev/snd/pcmC%dD%sc", card, dev))
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%w: card %d has no capture device %s (%s)", ErrNoDevice, card, dev, filepath.Base(p))
	}
	return p, nil
}

// findCard turns a card number or id into the card's number.
func findCard(root, name string) (int, error) {
	if n, err := strconv.Atoi(name); err == nil {
		if _, err := os.Stat(filepath.Join(root, "sys/class/sound", fmt.Sprintf("card%d", n))); err != nil {
			return 0, fmt.Errorf("%w: no sound card %d", ErrNoDevice, n)
		}
		return n, nil
	}
	cards, _ := filepath.Glob(filepath.Join(root, "sys/class/sound/card[0-9]*"))
	var ids []string
	for _, c := range cards {
		id, err := os.ReadFile(filepath.Join(c, "id"))
		if err != nil {
			continue
		}
		s := strings.TrimSpace(string(id))
		ids = append(ids, s)
		if s == name {
			return strconv.Atoi(strings.TrimPrefix(filepath.Base(c), "card"))
		}
	}
	return 0, fmt.Errorf("%w: no sound card with id %q (cards: %v)", ErrNoDevice, name, ids)
}

// firstCapture is a card's capture PCM node with the lowest device number.
func firstCapture(root string, card int) (string, error) {
	nodes, _ := filepath.Glob(filepath.Join(root, "dev/snd", fmt.Sprintf("pcmC%dD*c", card)))
	best, bestDev := "", -1
	for _, n := range nodes {
		m := pcmNode.FindStringSubmatch(filepath.Base(n))
		if m == nil {
			continue
		}
		d, _ := strconv.Atoi(m[2])
		if bestDev < 0 || d < bestDev {
			best, bestDev = n, d
		}
	}
	if best == "" {
		return "", fmt.Errorf("%w: sound card %d has no capture device", ErrNoDevice, card)
	}
	return best, nil
}

// cameraCard finds the sound card on the camera's USB device.
func cameraCard(root, videoDevice string) (int, error) {
	node, err := filepath.EvalSymlinks(filepath.Join(root, videoDevice))
	if err != nil {
		return 0, fmt.Errorf("%w: the camera %s: %v", ErrNoDevice, videoDevice, err)
	}
	v := filepath.Base(node)
	dev, err := filepath.EvalSymlinks(filepath.Join(root, "sys/class/video4linux", v, "device"))
	if err != nil {
		return 0, fmt.Errorf("%w: the camera %s (%s) has no sysfs device: %v", ErrNoDevice, videoDevice, v, err)
	}
	usb := usbDevice(dev)
	if usb == "" {
		return 0, fmt.Errorf("%w: the camera %s (%s) is not a USB device; set audio.device", ErrNoDevice, videoDevice, v)
	}
	cards, _ := filepath.Glob(filepath.Join(root, "sys/class/sound/card[0-9]*"))
	sort.Strings(cards)
	for _, c := range cards {
		d, err := filepath.EvalSymlinks(filepath.Join(c, "device"))
		if err != nil {
			continue
		}
		if d == usb || strings.HasPrefix(d, usb+"/") {
			return strconv.Atoi(strings.TrimPrefix(filepath.Base(c), "card"))
		}
	}
	return 0, fmt.Errorf("%w: the camera %s (USB %s) has no sound card; set audio.device (arecord -l lists the cards) or audio.enabled: false", ErrNoDevice, videoDevice, filepath.Base(usb))
}

// usbDevice walks up from a sysfs device (a USB interface, "1-1.2:1.0")
// to the USB device it belongs to: the first directory with a devnum file.
func usbDevice(dev string) string {
	for d := dev; d != "/" && d != "." && strings.Contains(d, "/devices/"); d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "devnum")); err == nil && !strings.Contains(filepath.Base(d), ":") {
			return d
		}
	}
	return ""
}
