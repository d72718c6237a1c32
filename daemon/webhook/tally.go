package webhook

import (
	"sync"
	"time"
)

// ScopeDeliveries is what this replica's receiver saw of one hook's
// deliveries since it started: an operator looking at a hook wants to
// know whether GitLab still delivers to it, and whether glsync refuses
// what it sends (a secret or signing token that drifted).
type ScopeDeliveries struct {
	// Last is when the last delivery was accepted (queued, or recognised
	// as a duplicate).
	Last time.Time
	// Accepted and Refused count deliveries; Refused are those with a
	// wrong X-Gitlab-Token or signature.
	Accepted, Refused int64
}

// maxTallyScopes bounds the scopes tallied: refusals are counted by the
// scope of the path they were sent to, which anyone can make up. Past the
// bound, new scopes are not tallied (the managed hooks, which receive
// deliveries from the start, are there first).
const maxTallyScopes = 4096

// tally keeps ScopeDeliveries by hook scope ("group:42").
type tally struct {
	mu     sync.Mutex
	scopes map[string]*ScopeDeliveries
}

func (t *tally) add(scope string, accepted bool) {
	if scope == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.scopes == nil {
		t.scopes = map[string]*ScopeDeliveries{}
	}
	d := t.scopes[scope]
	if d == nil {
		if len(t.scopes) >= maxTallyScopes {
			return
		}
		d = &ScopeDeliveries{}
		t.scopes[scope] = d
	}
	if accepted {
		d.Accepted++
		d.Last = time.Now()
	} else {
		d.Refused++
	}
}

// Deliveries is, by hook scope, what this receiver accepted and refused
// since it started.
func (rc *Receiver) Deliveries() map[string]ScopeDeliveries {
	rc.tally.mu.Lock()
	defer rc.tally.mu.Unlock()
	out := make(map[string]ScopeDeliveries, len(rc.tally.scopes))
	for sc, d := range rc.tally.scopes {
		out[sc] = *d
	}
	return out
}
