package trace_test

import (
	"fmt"
	"os"
	"strings"
	"time"

	"weighin/internal/trace"
)

func ExampleRead() {
	// A bundle's weight.csv replays as is: only t_ms and raw are used.
	csv := "t_ms,raw,grams,stable\r\n0,8000,0.00,1\r\n100,428000,1000.00,0\r\n"
	samples, err := trace.Read("weight.csv", strings.NewReader(csv))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range samples {
		fmt.Println(s.T, s.Raw)
	}
	_, err = trace.Read("bad.csv", strings.NewReader("t_ms,raw\n0,8000\n100,x\n"))
	fmt.Println(err)
	// Output:
	// 0s 8000
	// 100ms 428000
	// bad.csv:3: bad field: raw "x" is not a signed 24-bit integer
}

func ExampleWriter() {
	w := trace.NewWriter(os.Stdout)
	w.Write(trace.Record{Sample: trace.Sample{T: 1500 * time.Millisecond, Raw: 780843}, Grams: 1840.117, Stable: true})
	w.Flush()
	// Output:
	// t_ms,raw,grams,stable
	// 1500,780843,1840.12,1
}
