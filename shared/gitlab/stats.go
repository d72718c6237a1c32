package gitlab

import (
	"context"
	"maps"
	"sync"
	"sync/atomic"
)

// Stats counts what a client did. Safe for concurrent use; one Stats may
// be shared by several clients to get totals.
type Stats struct {
	// Requests is every HTTP attempt sent, retries included.
	Requests atomic.Int64
	// Retries is the number of attempts that were retries.
	Retries atomic.Int64
	// RateLimited is the number of 429 answers received.
	RateLimited atomic.Int64

	statusMu sync.Mutex
	byStatus map[int]int64
	byKind   map[string]int64
	// also are the Stats that count everything this one does, as it
	// happens (see CountingInto).
	also []*Stats
}

// CountingInto returns Stats whose counts are added to each of parents
// as well, when they happen rather than when merged afterwards: a
// resync's own counts (its summary) that the daemon's per-token totals
// (its metrics) see live during a resync of hours. Nil parents are
// ignored; a Stats reached twice through parents counts twice.
func CountingInto(parents ...*Stats) *Stats {
	s := &Stats{}
	for _, p := range parents {
		if p != nil {
			s.also = append(s.also, p)
		}
	}
	return s
}

// each calls f on s and every Stats it counts into.
func (s *Stats) each(f func(*Stats)) {
	f(s)
	for _, p := range s.also {
		p.each(f)
	}
}

// request counts an attempt sent with ctx.
func (s *Stats) request(ctx context.Context) {
	s.each(func(x *Stats) {
		x.Requests.Add(1)
		x.countKind(ctx)
	})
}

// retry counts an attempt that is a retry.
func (s *Stats) retry() { s.each(func(x *Stats) { x.Retries.Add(1) }) }

// rateLimited counts a 429 answer.
func (s *Stats) rateLimited() { s.each(func(x *Stats) { x.RateLimited.Add(1) }) }

// status counts an attempt's response status (0: no complete response).
func (s *Stats) status(code int) { s.each(func(x *Stats) { x.countStatus(code) }) }

type kindKey struct{}

// WithKind labels the requests made with ctx as made for a kind, so Stats
// can count requests per kind.
func WithKind(ctx context.Context, kind string) context.Context {
	return context.WithValue(ctx, kindKey{}, kind)
}

func (s *Stats) countKind(ctx context.Context) {
	k, _ := ctx.Value(kindKey{}).(string)
	if k == "" {
		return
	}
	s.statusMu.Lock()
	if s.byKind == nil {
		s.byKind = map[string]int64{}
	}
	s.byKind[k]++
	s.statusMu.Unlock()
}

// ByKind returns the number of attempts per kind (see WithKind).
func (s *Stats) ByKind() map[string]int64 {
	s.statusMu.Lock()
	defer s.statusMu.Unlock()
	return maps.Clone(s.byKind)
}

func (s *Stats) countStatus(status int) {
	s.statusMu.Lock()
	if s.byStatus == nil {
		s.byStatus = map[int]int64{}
	}
	s.byStatus[status]++
	s.statusMu.Unlock()
}

// Merge adds o's counts to s.
func (s *Stats) Merge(o *Stats) {
	s.Requests.Add(o.Requests.Load())
	s.Retries.Add(o.Retries.Load())
	s.RateLimited.Add(o.RateLimited.Load())
	byStatus, byKind := o.ByStatus(), o.ByKind()
	s.statusMu.Lock()
	defer s.statusMu.Unlock()
	if s.byStatus == nil {
		s.byStatus = map[int]int64{}
	}
	for k, v := range byStatus {
		s.byStatus[k] += v
	}
	if s.byKind == nil {
		s.byKind = map[string]int64{}
	}
	for k, v := range byKind {
		s.byKind[k] += v
	}
}

// ByStatus returns the number of attempts per response status; 0 counts
// attempts that got no complete response (connection errors, request
// timeouts, bodies cut short).
func (s *Stats) ByStatus() map[int]int64 {
	s.statusMu.Lock()
	defer s.statusMu.Unlock()
	return maps.Clone(s.byStatus)
}
