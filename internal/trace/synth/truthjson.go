package synth

import "weighin/internal/trace"

func marshalTruth(tr Trace) ([]byte, error) { return trace.MarshalTruth(tr.Truth) }
