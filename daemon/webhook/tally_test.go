package webhook

import (
	"strconv"
	"testing"
)

func TestTallyCountsByScopeWithinItsBound(t *testing.T) {
	rc := NewReceiver(nil, nil, ReceiverOptions{})
	rc.tally.add("group:1", true)
	rc.tally.add("group:1", false)
	rc.tally.add("group:1", true)
	rc.tally.add("", false) // no scope: a delivery no hook's secret matched
	d := rc.Deliveries()
	if len(d) != 1 || d["group:1"].Accepted != 2 || d["group:1"].Refused != 1 || d["group:1"].Last.IsZero() {
		t.Fatalf("tally %+v", d)
	}
	// Made-up scopes past the bound are not kept; known ones still count.
	for i := range maxTallyScopes + 10 {
		rc.tally.add("group:"+strconv.Itoa(1000+i), false)
	}
	rc.tally.add("group:1", false)
	if d := rc.Deliveries(); len(d) != maxTallyScopes || d["group:1"].Refused != 2 {
		t.Fatalf("%d scopes tallied, group:1 %+v", len(d), d["group:1"])
	}
}
