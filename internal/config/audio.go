package config

import (
	"regexp"
	"slices"
)

// Audio configures the microphone (issue 25): sound from the room is
// recorded with the video unless Enabled is false.
type Audio struct {
	// Enabled records sound. A missing microphone is a warning, never a
	// refused recording.
	Enabled bool `yaml:"enabled"`
	// Device is empty for the camera's own microphone (the sound card on
	// the camera's USB device), else hw:CARD[,DEV] (CARD a number or a card
	// id, as `arecord -l` lists them), a bare card id, or a
	// /dev/snd/pcmC<card>D<dev>c path (drivers/audio.Resolve).
	Device string `yaml:"device"`
	// Rate is the sample rate in Hz (mono S16_LE).
	Rate int `yaml:"rate"`
}

// AudioRates are the sample rates audio.rate takes.
var AudioRates = []int{8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000}

func defaultAudio() Audio {
	return Audio{Enabled: true, Device: "", Rate: 16000}
}

// audioDevice is the syntax of audio.device: the forms drivers/audio's
// Resolve takes (its TestConfigAgrees holds the two together).
var audioDevice = regexp.MustCompile(`^(|hw:[A-Za-z0-9_-]+(,[0-9]+)?|[A-Za-z0-9_-]{1,31}|/dev/snd/pcmC[0-9]+D[0-9]+c)$`)

func (a Audio) validate(p *problems) {
	if !audioDevice.MatchString(a.Device) || a.Device == "default" {
		p.add("audio.device", `must be empty (the camera's own microphone), hw:CARD[,DEV], a card id or /dev/snd/pcmC<card>D<dev>c, got %q`, a.Device)
	}
	if !slices.Contains(AudioRates, a.Rate) {
		p.add("audio.rate", "must be one of %v Hz, got %d", AudioRates, a.Rate)
	}
}
