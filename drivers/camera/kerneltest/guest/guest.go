// Package guest is what the tests running inside the kernel tier's qemu
// guest share (drivers/camera's vividguest and drivers/audio's aloopguest
// tests): the results port the host reads.
package guest

import (
	"fmt"
	"os"
	"sync"
	"syscall"
	"testing"
)

// resultsTTY is the guest's second serial port: the host reads the RESULT
// lines from it, apart from kernel messages on the console.
var resultsTTY = sync.OnceValues(func() (*os.File, error) {
	return os.OpenFile("/dev/ttyS1", os.O_WRONLY|syscall.O_NOCTTY, 0)
})

// Result prints a "RESULT k=v …" line for the host, on stdout and the
// results port.
func Result(t testing.TB, format string, args ...any) {
	t.Helper()
	line := fmt.Sprintf("RESULT "+format+"\n", args...)
	os.Stdout.WriteString(line)
	tty, err := resultsTTY()
	if err == nil {
		_, err = tty.WriteString(line)
	}
	if err != nil {
		t.Fatalf("results port: %v", err)
	}
}
