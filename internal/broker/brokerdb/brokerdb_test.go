package brokerdb

import "testing"

func TestMatchTopic(t *testing.T) {
	for _, tc := range []struct {
		f, t string
		want bool
	}{
		{"a/#", "a", true}, {"a/#", "a/b/c", true}, {"a/+/c", "a/b/c", true}, {"a/+/c", "a/b/d", false},
		{"a/+", "a/b/c", false}, {"a/b", "a/b", true}, {"a/b", "a", false}, {"homeassistant/+/st/#", "homeassistant/device/st/config", true},
		{"homeassistant/+/st/#", "homeassistant/device/st2/config", false},
	} {
		if got := MatchTopic(tc.f, tc.t); got != tc.want {
			t.Errorf("MatchTopic(%q, %q) = %v", tc.f, tc.t, got)
		}
	}
}
