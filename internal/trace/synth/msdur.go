package synth

import "time"

func msDur(ms int64) time.Duration { return time.Duration(ms) * time.Millisecond }
