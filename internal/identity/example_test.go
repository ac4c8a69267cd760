package identity_test

import (
	"fmt"
	"os"
	"path/filepath"

	"weighin/internal/identity"
)

// A Raspberry Pi without a configured station_id: the id comes from the
// board's serial number, once, and stays in the state directory.
func ExampleResolveWith() {
	state, _ := os.MkdirTemp("", "state")
	defer os.RemoveAll(state)
	serial := filepath.Join(state, "serial-number")
	os.WriteFile(serial, []byte("10000000c0ffee42\x00"), 0o644)

	id, err := identity.ResolveWith(state, "", identity.Probes{DeviceTreeSerial: serial})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(id.ID, id.Source)
	again, _ := identity.ResolveWith(state, "", identity.Probes{DeviceTreeSerial: "/nonexistent"})
	fmt.Println(again.ID, again.Source)
	// Output:
	// pi-10000000c0ffee42 pi-serial
	// pi-10000000c0ffee42 persisted
}
