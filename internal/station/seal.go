package station

import (
	"context"
	"errors"
	"fmt"
	"time"

	"weighin/internal/evidence"
	"weighin/internal/registry"
	"weighin/internal/result"
	"weighin/internal/session"
	"weighin/internal/steps"
	"weighin/internal/verdict"
)

// sealInput is everything a seal attempt needs, finished: loop hands it
// over once the recording's end and the label still are in, and the
// sealer neither waits for nor asks anything else.
type sealInput struct {
	id      uint64
	es      *evidence.Session
	attempt int
	start   time.Time
	synced  bool
	weighin session.Weighin
	// entries are final, the label's tracking number included.
	entries session.Entries
	parcel  *registry.Parcel
	stop    session.StopReason
	stats   stopResult
	// fileStarts are stats' files' starts on the session's time axis;
	// resumed, the continuations after an inactivity stop.
	fileStarts []float64
	resumed    []result.Resume
	still      labelResult
	// confirmed: the buyer confirmed the code read from the label.
	confirmed bool
	params    verdict.Params
	// det is what the step detector saw while recording (nil: it did not
	// run); check and weightID are the weigh-in's (unpack.go).
	det      *steps.Detection
	check    weighinCheck
	weightID string
}

// sealer is one seal attempt, in its own goroutine: it answers into out
// (capacity 1) and never waits for loop.
func (s *Station) sealer(ctx context.Context, in sealInput, out chan<- sealedEv) {
	res, err := s.seal(ctx, in)
	if err != nil {
		s.log.Error("seal failed", "session", in.es.ID(), "attempt", in.attempt, "err", err)
	}
	out <- sealedEv{id: in.id, res: res, err: err}
}

// seal computes the session's result — the verdict once, the claim, the
// continuity and marks — writes the label still and the claim into the
// bundle through the evidence store, seals it and delivers the result.
func (s *Station) seal(ctx context.Context, in sealInput) (result.Result, error) {
	if in.es == nil {
		return result.Result{}, errors.New("no bundle was opened")
	}
	stats := in.stats
	if errors.Is(stats.err, context.DeadlineExceeded) || errors.Is(stats.err, context.Canceled) {
		// The recorder has not finished its files: sealing now would hash a
		// file still being written. Recovery seals it at the next start.
		return result.Result{}, fmt.Errorf("the recording is not finished: %w", stats.err)
	}
	if stats.err != nil {
		s.log.Warn("recording ended on an error", "session", in.es.ID(), "err", stats.err)
	}
	res := s.resultOf(in.es, in.start, in.synced, in.weighin, in.entries, in.parcel)
	res.LabelRead = labelRead(&in.still, in.confirmed)
	vin := verdictInput(in.weighin, in.entries, in.parcel)
	out, err := verdict.Evaluate(in.params, vin)
	if err != nil {
		return result.Result{}, fmt.Errorf("verdict: %w", err)
	}
	out, u := s.unpacking(in, vin, out)
	out.Apply(&res)
	u.Apply(&res)
	applyWeighin(&res, in.check, in.weightID)
	res.StopReason = string(in.stop)
	res.Continuity = stats.stats.Continuity()
	res.Continuity.Resumed = in.resumed
	res.Marks = stats.stats.ResultMarks()
	if res.Marks == nil {
		res.Marks = []result.Mark{}
	}
	msg, err := verdict.Compose(res, verdict.DisputeOptions{Solution: verdict.Solution(in.entries.Solution), Detail: res.Damage})
	if err != nil {
		return result.Result{}, fmt.Errorf("dispute: %w", err)
	}
	res.Dispute, res.DisputeShort = msg.String(), msg.Short
	if err := in.es.WriteFile("dispute.txt", []byte(res.Dispute+"\n")); err != nil {
		return result.Result{}, err
	}
	var jpeg []byte
	if in.still.ok {
		jpeg = in.still.still.JPEG
		if !in.still.written {
			if err := in.es.WriteFile("label.jpg", jpeg); err != nil {
				return result.Result{}, err
			}
		}
	}
	var files []evidence.FileEntry
	for _, f := range stats.stats.Files {
		files = append(files, evidence.FileEntry{Name: f.Name, Bytes: f.Bytes, SHA256: f.SHA256})
	}
	sealed, err := in.es.Seal(res, files...)
	if err != nil {
		return result.Result{}, err
	}
	s.deliver(ctx, sealed, "sealed", jpeg)
	return sealed, nil
}
