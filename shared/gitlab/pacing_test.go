package gitlab

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// headers are the RateLimit-* headers GitLab sends with an answer.
func headers(limit, remaining int, reset time.Time) http.Header {
	h := http.Header{}
	h.Set("RateLimit-Limit", strconv.Itoa(limit))
	h.Set("RateLimit-Observed", strconv.Itoa(limit-remaining))
	h.Set("RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	return h
}

// The remaining budget is spread over the remaining window: 40 requests
// left (one kept back) over 10 seconds go out every quarter second, and
// none goes before the reset once the budget is spent.
func TestPacerSpreadsTheWindow(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	reset := now.Add(10 * time.Second)
	p := &pacer{}
	if at := p.reserve(now); !at.Equal(now) {
		t.Fatalf("unknown limit: paced to %v", at.Sub(now))
	}
	p.answered(headers(600, 40, reset), now) // remaining counts the first request
	var last time.Time
	for i := 0; i < 39; i++ {
		at := p.reserve(now)
		if d := at.Sub(last) - 10*time.Second/39; i > 0 && (d > time.Microsecond || d < -time.Microsecond) {
			t.Fatalf("request %d spaced %v after the previous, want %v", i, at.Sub(last), 10*time.Second/39)
		}
		if !at.Before(reset) {
			t.Fatalf("request %d at %v: past the reset with budget left", i, at.Sub(now))
		}
		last = at
	}
	if at := p.reserve(now); at.Before(reset) {
		t.Fatalf("the 40th request goes %v before the reset: it would leave nothing in the window", reset.Sub(at))
	}
	// The next window is paced at GitLab's steady rate, 600 a minute.
	if at := p.reserve(now); at.Sub(reset) != 100*time.Millisecond {
		t.Fatalf("next window spaced %v, want 100ms", at.Sub(reset))
	}
}

// GitLab's count wins when it is lower than the pacer's (another client of
// the same user spends the budget too); an out-of-order answer with more
// left does not undo it.
func TestPacerBelievesTheLowerCount(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	reset := now.Add(10 * time.Second)
	p := &pacer{}
	p.reserve(now)
	p.reserve(now)
	p.answered(headers(600, 50, reset), now)
	p.answered(headers(600, 11, reset), now) // someone else used 39
	p.reserve(now)
	p.answered(headers(600, 49, reset), now) // a late answer, before the other's requests
	if r := p.rate(now); r != 0.9 {          // (11 - 1 sent since - 1 margin) / 10 s
		t.Fatalf("rate %v/s, want 0.9/s from the lower count", r)
	}
}

// The user's limit paces alone when GitLab announces none, and caps
// GitLab's when it is lower.
func TestPacerUserLimit(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	p := &pacer{perMinute: 120}
	first, second := p.reserve(now), p.reserve(now)
	if !first.Equal(now) || second.Sub(first) != 500*time.Millisecond {
		t.Fatalf("spacing %v, want 500ms", second.Sub(first))
	}
	p.answered(headers(6000, 5000, now.Add(30*time.Second)), now)
	p.answered(nil, now)
	if r := p.rate(now); r != 2 {
		t.Fatalf("rate %v/s, want the user's 2/s", r)
	}
}

// The in-flight bound grows while requests queue and GitLab keeps up, is
// cut once per round trip when GitLab pushes back, stays within floor and
// ceiling, and under a pace never exceeds twice what the pace keeps in
// flight.
func TestSlotsAdapt(t *testing.T) {
	ctx := context.Background()
	rate := 0.0
	s := newSlots(4, 64, func() float64 { return rate })
	now := time.Unix(1_700_000_000, 0)
	held := 0
	fill := func(n int) { // n requests wanting slots; those beyond the bound queue
		for i := 0; i < n; i++ {
			go func() { _ = s.acquire(ctx) }()
		}
		for {
			s.mu.Lock()
			queued, in := len(s.waiters), s.inflight
			s.mu.Unlock()
			if queued+in == held+n {
				held += n
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
	answer := func(rtt time.Duration, congested bool) {
		now = now.Add(rtt)
		s.release(rtt, congested, now)
		held--
	}
	fill(200)
	for i := 0; i < 100; i++ {
		answer(200*time.Millisecond, false)
	}
	if b := s.bound(); b != 64 {
		t.Fatalf("bound %d after 100 answers with requests queued, want the ceiling 64", b)
	}
	answer(200*time.Millisecond, true)
	answer(200*time.Millisecond, true) // same round trip: no second cut
	if b := s.bound(); b != 48 {
		t.Fatalf("bound %d after a 429, want 48", b)
	}
	for i := 0; i < 20; i++ {
		now = now.Add(time.Second)
		answer(200*time.Millisecond, true)
	}
	if b := s.bound(); b != 4 {
		t.Fatalf("bound %d after repeated 5xx, want the floor 4", b)
	}
	// Paced at 50/s with 200ms answers, 10 are in flight: the bound stops
	// at 2×10+1 however long requests queue.
	rate = 50
	for i := 0; i < 60; i++ {
		answer(200*time.Millisecond, false)
	}
	if b := s.bound(); b != 21 {
		t.Fatalf("bound %d under a 50/s pace at 200ms, want 21", b)
	}
	// Latency climbing with load means GitLab queues our requests.
	rate = 0
	fill(40)
	for i := 0; i < 30; i++ {
		answer(time.Second, false)
	}
	if b := s.bound(); b >= 21 {
		t.Fatalf("bound %d while latency rose from 200ms to 1s, want it cut", b)
	}
}
