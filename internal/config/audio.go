package config

import "regexp"

// Audio configures the microphone recorded with the video (issue 25).
type Audio struct {
	// Enabled records sound from the room with the video [true].
	Enabled bool `yaml:"enabled"`
	// Device is the ALSA capture device: empty = the camera's own
	// microphone (matched to camera.device by its USB path), else
	// hw:CARD[,DEV], a card id, or /dev/snd/pcmC<card>D<dev>c.
	Device string `yaml:"device"`
	// Rate is the sample rate in Hz [16000], mono, S16_LE.
	Rate int `yaml:"rate"`
}

func defaultAudio() Audio { return Audio{Enabled: true, Rate: 16000} }

// audioDevice is the forms drivers/audio.Resolve takes (its ValidDevice).
var audioDevice = regexp.MustCompile(`^(|hw:[A-Za-z0-9_-]+(,[0-9]+)?|[A-Za-z0-9_-]{1,31}|/dev/snd/pcmC[0-9]+D[0-9]+c)$`)

func (a Audio) validate(p *problems) {
	intBetween(p, "audio.rate", a.Rate, 8000, 48000)
	if !audioDevice.MatchString(a.Device) {
		p.add("audio.device", "must be empty (the camera's own microphone), hw:CARD[,DEV], a card id or /dev/snd/pcmC<card>D<dev>c, got %q", a.Device)
	}
}
