package session_test

import (
	"fmt"
	"time"

	"weighin/internal/config"
	"weighin/internal/session"
	"weighin/internal/weighing"
)

// One parcel, start to seal: the station feeds events in and carries the
// effects out, answering recording and sealing with events of its own.
func Example() {
	st, err := session.New(session.ConfigFrom(config.Default().Session))
	if err != nil {
		fmt.Println(err)
		return
	}
	t0 := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	events := []struct {
		after time.Duration
		ev    session.Event
	}{
		{0, session.Reading{Grams: 1840, State: weighing.Unstable}},
		{time.Second, session.Press{Kind: session.PressShort}}, // not stable yet: wait
		{2 * time.Second, session.Reading{Grams: 1840.2, State: weighing.Stable}},
		{3 * time.Second, session.RecordingStarted{Session: 1}},
		{45 * time.Second, session.Press{Kind: session.PressShort}}, // damage here
		{90 * time.Second, session.Press{Kind: session.PressLong}},
		{91 * time.Second, session.Sealed{Session: 1, Bundle: "000001-20261126T090002Z"}},
	}
	for _, e := range events {
		var effects []session.Effect
		st, effects = session.Next(st, e.ev, t0.Add(e.after))
		fmt.Printf("%v: %s\n", e.after, st.Phase)
		for _, eff := range effects {
			switch eff := eff.(type) {
			case session.FreezeWeight:
				fmt.Printf("  freeze %.1f g, stable %v\n", eff.Weighin.Grams, eff.Weighin.Stable)
			case session.StartRecording:
				fmt.Printf("  start recording session %d\n", eff.Session)
			case session.Mark:
				fmt.Printf("  %s at %v\n", eff.Label, eff.At.Sub(t0))
			case session.StopRecording:
				fmt.Printf("  stop (%s)\n", eff.Reason)
			case session.Seal:
				fmt.Printf("  seal, attempt %d\n", eff.Attempt)
			case session.Timer:
				fmt.Printf("  timer at %v\n", eff.At.Sub(t0))
			}
		}
	}
	// Output:
	// 0s: present
	// 1s: waiting
	//   timer at 6s
	// 2s: starting
	//   freeze 1840.2 g, stable true
	//   start recording session 1
	// 3s: recording
	//   timer at 2m33s
	// 45s: recording
	//   mark 1 at 45s
	// 1m30s: sealing
	//   stop (button)
	//   seal, attempt 1
	// 1m31s: stable
}
