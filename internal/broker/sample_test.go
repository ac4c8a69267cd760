package broker_test

import "weighin/internal/result"

func sampleResult() result.Result {
	return result.Result{Schema: result.Schema, SessionID: "000001-20260101T000000Z-emb", Seq: 1, StationID: "emb1", Verdict: result.VerdictMatch}
}
