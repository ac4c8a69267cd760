package button_test

import (
	"fmt"
	"time"

	"weighin/drivers/button"
)

// The pure decoder: a bouncy short press, then a long one.
func ExampleDecoder() {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	d := button.NewDecoder(t0, false, 30*time.Millisecond, 2*time.Second, 400*time.Millisecond)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	for _, e := range []struct {
		ms      int
		pressed bool
	}{{100, true}, {101, false}, {102, true}, {300, false}, {1000, true}, {4000, false}} {
		d.Edge(at(e.ms), e.pressed)
	}
	d.Tick(at(5000))
	for {
		p, ok := d.Pop()
		if !ok {
			break
		}
		fmt.Printf("%s press at %v, held %v\n", p.Kind, p.At.Sub(t0), p.Held)
	}
	// Output:
	// short press at 102ms, held 198ms
	// long press at 1s, held 2s
}
