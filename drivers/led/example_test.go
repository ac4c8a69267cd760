package led_test

import (
	"fmt"
	"time"

	"weighin/drivers/led"
)

// Patterns are pure functions of the time since they started.
func ExampleLevel() {
	for _, t := range []time.Duration{0, 150 * time.Millisecond, 300 * time.Millisecond, 900 * time.Millisecond} {
		next, _ := led.NextChange(led.Discrepancy, t)
		fmt.Printf("%v: lit %v until %v\n", t, led.Level(led.Discrepancy, t), next)
	}
	// Output:
	// 0s: lit true until 150ms
	// 150ms: lit false until 300ms
	// 300ms: lit true until 450ms
	// 900ms: lit false until 1.8s
}
