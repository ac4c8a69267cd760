package publish_test

import (
	"errors"
	"fmt"

	"weighin/internal/publish"
)

func ExampleParseCommand() {
	c, err := publish.ParseCommand("label_weight", []byte("1840.5"), false)
	fmt.Println(c, err)

	_, err = publish.ParseCommand("label_weight", []byte("NaN"), false)
	var ce *publish.CommandError
	if errors.As(err, &ce) {
		fmt.Println(ce.Command, "refused:", ce.Reason)
	}

	_, err = publish.ParseCommand("start", []byte("PRESS"), true)
	fmt.Println(errors.Is(err, publish.ErrRetained))
	// Output:
	// label_weight=1840.5 <nil>
	// label_weight refused: label weight: "NaN" is not a plain decimal number
	// true
}

func ExampleNewTopics() {
	t := publish.NewTopics("pi-1", "homeassistant")
	fmt.Println(t.State)
	fmt.Println(t.Cmd(publish.CmdTare))
	fmt.Println(t.Discovery)
	// Output:
	// weighin/pi-1/state
	// weighin/pi-1/cmd/tare
	// homeassistant/device/pi-1/config
}
