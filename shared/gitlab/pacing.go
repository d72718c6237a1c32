package gitlab

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Pacing and adaptive concurrency.
//
// GitLab throttles each user per window (RateLimit-Limit per minute,
// RateLimit-Remaining until RateLimit-Reset). Waiting for the 429 and its
// Retry-After wastes the rest of the window and bursts again at its start;
// instead the pacer spreads what is left of the window's budget over what
// is left of the window, so the budget lasts exactly until the reset. The
// 429 handling stays as the safety net (GitLab instances that announce
// their limit only on a 429 are paced from that first 429 on).
//
// The in-flight bound adapts: a fixed 8 requests per token at 200 ms
// caps a token at 40 requests a second. The bound grows while requests
// queue for a slot and GitLab's latency stays flat, is cut on 429, 5xx
// and timeouts or when latency climbs (GitLab is queueing our requests),
// and never exceeds what the pace can use (Little's law: in flight =
// rate × latency), so a rate-limited token does not hold dozens of
// goroutines for nothing.

// DefaultConcurrencyCeiling is the in-flight bound's default ceiling per
// token (Options.ConcurrencyCeiling).
const DefaultConcurrencyCeiling = 128

// paceMargin is the part of a window's budget the pacer leaves unused,
// so clock skew or a request GitLab counted late does not make the last
// one a 429.
const paceMargin = 1

// Shared lets the clients made for one token in a process (the event
// workers', each resync's, hook reconciliation's) share that token's
// in-flight bound, pacing and pauses: GitLab limits the token's user,
// not one client, and two clients pacing alone would together send twice
// the allowed rate. The zero value is not usable; see NewShared.
type Shared struct {
	mu    sync.Mutex
	gates map[[32]byte]*gate
}

// NewShared returns an empty set of shared per-token limits.
func NewShared() *Shared { return &Shared{gates: map[[32]byte]*gate{}} }

// gate returns the token's gate, made by mk the first time. The key is a
// hash, so the map holds no token.
func (s *Shared) gate(host, token string, mk func() *gate) *gate {
	key := sha256.Sum256([]byte(host + "\x00" + token))
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.gates[key]
	if g == nil {
		g = mk()
		s.gates[key] = g
	}
	return g
}

// pacer spreads a token's requests so that GitLab's budget for the
// window lasts until the window resets. Times are passed in, so its
// arithmetic is tested without sleeping.
type pacer struct {
	mu sync.Mutex
	// perMinute is the user's limit (Options.RateLimit); learned is
	// GitLab's RateLimit-Limit (per minute). 0: none.
	perMinute, learned float64
	// remaining and reset are the window GitLab last reported; sent
	// counts the requests released since (GitLab may not have counted
	// them in remaining yet).
	remaining, sent int
	reset           time.Time
	// pending are released requests whose answer has not been seen.
	pending int
	// next is the earliest release of the next request.
	next time.Time
	// heard is closed by the first answer: until then only one request
	// goes, so a burst cannot spend a small budget before GitLab has
	// announced it.
	heard     chan struct{}
	heardOnce sync.Once
	log       *slog.Logger
}

// first returns nil when the token's first answer was seen or no request
// is out yet; else a channel closed when it is.
func (p *pacer) first() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.heard == nil {
		p.heard = make(chan struct{})
		return nil // this request is the first
	}
	select {
	case <-p.heard:
		return nil
	default:
		return p.heard
	}
}

// steady is the sustained rate allowed (requests per second, 0: none
// known): the lower of the user's limit and GitLab's.
func (p *pacer) steady() float64 {
	r := p.learned / 60
	if u := p.perMinute / 60; u > 0 && (r == 0 || u < r) {
		r = u
	}
	return r
}

// rate is the pace now, requests per second (0: unpaced).
func (p *pacer) rate(now time.Time) float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	r, _ := p.rateAt(now)
	return r
}

// rateAt is the pace for a request released at t and the earliest time
// it may go (after t when the window's budget is spent). p.mu is held.
func (p *pacer) rateAt(t time.Time) (float64, time.Time) {
	r := p.steady()
	if p.reset.IsZero() || !t.Before(p.reset) {
		return r, t
	}
	left := p.remaining - p.sent - paceMargin
	if left <= 0 {
		// Spent: the first slot is the next window's.
		return r, p.reset
	}
	w := float64(left) / p.reset.Sub(t).Seconds()
	if u := p.perMinute / 60; u > 0 && u < w {
		w = u
	}
	return w, t
}

// reserve returns when a request asked for at now may be sent, and
// counts it as sent.
func (p *pacer) reserve(now time.Time) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	at := now
	if p.next.After(at) {
		at = p.next
	}
	r, at := p.rateAt(at)
	if r > 0 {
		p.next = at.Add(time.Duration(float64(time.Second) / r))
	}
	p.sent++
	p.pending++
	return at
}

// setUser sets the user's limit (requests per minute, 0: none).
func (p *pacer) setUser(perMinute float64) {
	p.mu.Lock()
	p.perMinute = perMinute
	p.mu.Unlock()
}

// unreserve gives back a reservation that was not used (the request
// failed before it was sent).
func (p *pacer) unreserve() {
	p.mu.Lock()
	p.sent--
	p.pending--
	if p.heard != nil {
		// The first request may be the one given up: the others must not
		// wait for its answer.
		p.heardOnce.Do(func() { close(p.heard) })
	}
	p.mu.Unlock()
}

// answered records the answer to a released request (nil when none came)
// and learns GitLab's window from its headers.
func (p *pacer) answered(h http.Header, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pending--
	if p.heard != nil {
		p.heardOnce.Do(func() { close(p.heard) })
	}
	if h == nil {
		return
	}
	if limit, err := strconv.Atoi(h.Get("RateLimit-Limit")); err == nil && limit > 0 && float64(limit) != p.learned {
		if p.log != nil {
			p.log.Info("gitlab: pacing requests to GitLab's announced rate limit", "limit_per_minute", limit, "user_limit_per_minute", p.perMinute)
		}
		p.learned = float64(limit)
	}
	remaining, err1 := strconv.Atoi(h.Get("RateLimit-Remaining"))
	reset, err2 := strconv.ParseInt(h.Get("RateLimit-Reset"), 10, 64)
	if err1 != nil || err2 != nil {
		return
	}
	at := time.Unix(reset, 0)
	if !at.After(now) {
		return // a window already over (a late answer, or clock skew)
	}
	switch {
	case at.After(p.reset):
		// A newer window: what is in flight may not be counted in it.
		p.remaining, p.reset, p.sent = remaining, at, p.pending
	case at.Equal(p.reset) && remaining-p.pending < p.remaining-p.sent:
		// GitLab counts fewer left than we thought (other clients of the
		// same user): believe it.
		p.remaining, p.sent = remaining, p.pending
	}
}

// slots bounds a token's in-flight requests; the bound adapts (see the
// package comment on pacing) between floor and ceil.
type slots struct {
	mu                     sync.Mutex
	floor, ceil            int
	limit, inflight        int
	waiters                []chan struct{}
	ewma, base             time.Duration // latency: smoothed, and the lowest seen
	lastCut                time.Time
	rate                   func() float64 // the pace now (requests/s), 0: unpaced
	grown, cut             int64          // adjustments, for tests and logs
	latencySlack, cutEvery time.Duration
}

func newSlots(floor, ceil int, rate func() float64) *slots {
	return &slots{floor: floor, ceil: ceil, limit: floor, rate: rate, latencySlack: 50 * time.Millisecond}
}

// bound is the in-flight bound now.
func (s *slots) bound() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limit
}

// top is the highest the bound may go now: the ceiling, or with a pace,
// twice what the pace keeps in flight at the current latency.
func (s *slots) top() int {
	c := s.ceil
	if r := s.rate(); r > 0 && s.ewma > 0 {
		need := int(math.Ceil(r*s.ewma.Seconds()*2)) + 1
		c = min(c, max(s.floor, need))
	}
	return c
}

func (s *slots) acquire(ctx context.Context) error {
	s.mu.Lock()
	if s.inflight < s.limit && len(s.waiters) == 0 {
		s.inflight++
		s.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	s.waiters = append(s.waiters, ch)
	s.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		defer s.mu.Unlock()
		for i, w := range s.waiters {
			if w == ch {
				s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
				return ctx.Err()
			}
		}
		// Granted meanwhile: hand the slot on.
		s.inflight--
		s.grant()
		return ctx.Err()
	}
}

// grant wakes waiters while there is room. s.mu is held.
func (s *slots) grant() {
	for s.inflight < s.limit && len(s.waiters) > 0 {
		close(s.waiters[0])
		s.waiters = s.waiters[1:]
		s.inflight++
	}
}

// release frees a slot after an attempt that took rtt; congested is a
// 429, a 5xx, a timeout or a dropped connection.
func (s *slots) release(rtt time.Duration, congested bool, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight--
	if !congested && rtt > 0 {
		if s.base == 0 || rtt < s.base {
			s.base = rtt
		} else {
			// Let the floor of latency rise slowly, should GitLab get
			// slower for good.
			s.base += (rtt - s.base) / 256
		}
		if s.ewma == 0 {
			s.ewma = rtt
		} else {
			s.ewma += (rtt - s.ewma) / 8
		}
		congested = s.ewma > 2*s.base+s.latencySlack
	}
	// One cut per round trip: the answers of one overloaded moment
	// arrive together.
	switch {
	case congested && s.limit > s.floor && now.Sub(s.lastCut) > max(s.ewma, s.cutEvery):
		s.limit = max(s.floor, s.limit*3/4)
		s.lastCut = now
		s.cut++
	case !congested && len(s.waiters) > 0 && s.limit < s.top():
		// Requests queue for a slot and GitLab keeps up: one more per
		// answer doubles the bound per round trip until something pushes
		// back.
		s.limit++
		s.grown++
	}
	if t := s.top(); s.limit > t {
		s.limit = t
	}
	s.grant()
}
