package result

import "fmt"

// StopReasonText says why the recording ended, for a reader: the
// stop_reason and what it means, or that the result's schema does not
// record it.
func StopReasonText(r Result) string {
	why := map[string]string{
		StopButton: "a long press of the button", StopCommand: "the stop command (MQTT or the API)",
		StopMaxDuration: "session.max_duration reached", StopInactivity: "no weight change for session.inactivity_stop",
		StopShutdown: "weighd was stopped", StopInterrupted: "cut by a crash or power failure, sealed at recovery",
		StopWriteFailed: "the recording could not be written any more (disk full or I/O error); sealed with what was written",
	}[r.StopReason]
	switch {
	case r.StopReason == "":
		return fmt.Sprintf("- (not recorded in result schema %d)", r.Schema)
	case why == "":
		return r.StopReason
	}
	return r.StopReason + ": " + why
}
