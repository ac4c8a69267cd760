package timestamp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"

	"weighin/internal/timestamp"
)

// The files a token leaves in a bundle, and which files get one.
func ExampleTokenName() {
	for _, f := range timestamp.Stamped([]string{"SHA256SUMS", "addendum-001-outcome.json", "addendum-002-timestamp.json", "weight.csv"}) {
		fmt.Println(f, "→", timestamp.TokenName(f), timestamp.ChainName(f))
	}
	// Output:
	// SHA256SUMS → SHA256SUMS.tsr SHA256SUMS.tsa.pem
	// addendum-001-outcome.json → addendum-001-outcome.tsr addendum-001-outcome.tsa.pem
}

// How weighd wires the queue: the store's addendum mechanism records the
// tokens, the seal path and every non-timestamp addendum enqueue, Run goes
// under the daemon's errgroup, Status goes on the status and MQTT.
func ExampleQueue() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	state, _ := os.MkdirTemp("", "weighin-example-")
	defer os.RemoveAll(state)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	roots, err := timestamp.Roots("") // trust.tsa_ca_file
	if err != nil {
		fmt.Println(err)
		return
	}
	q, err := timestamp.Open(state, timestamp.Options{
		URLs:  nil, // trust.tsa_urls: empty, so nothing is contacted
		Roots: roots,
		Log:   log,
		Record: func(bundleDir string, body timestamp.Body, files []timestamp.File) error {
			// store.AddAddendum(bundleDir, timestamp.Kind, body, files as evidence.AddendumFile)
			return nil
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	go q.Run(ctx)
	// After a seal: q.Enqueue(bundleDir, evidence.SumsFile).
	// After an addendum of kind k with timestamp.Stamps(k): q.Enqueue(bundleDir, its .json).
	st, _ := json.Marshal(q.Status())
	fmt.Println(string(st))
	// Output:
	// {"state":"off","backlog":0,"failed":0}
}
