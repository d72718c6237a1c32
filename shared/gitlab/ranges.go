package gitlab

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"sync"
)

// Parallel keyset listing by id ranges.
//
// A keyset chain is sequential: each page's link names the next. GitLab's
// project listing also filters by id (id_after, id_before) and pages in
// either direction, so a long listing can be cut into id ranges ("gaps")
// read concurrently: each gap is read upwards from its lower bound and
// downwards from its upper bound, and the two reads meet. Every full page
// is a full page of the answer, so the only requests beyond the minimum
// are the partial pages where reads meet (fewer than one per gap) and the
// rare overlap of two reads racing for a gap's last items; the number of
// gaps is bounded by the listing's estimated size (rangeWaste of its
// pages), which keeps a listing of 10,000 objects or more within 5% of
// the minimum number of requests.
//
// Exactly once: an object is handed over only when it lies inside an open
// gap and inside the range its page covers (a keyset page covers every id
// between its request's bound and its last item, or its whole request
// range when it is the last page); the gap then shrinks past it. Objects
// created while the listing runs get higher ids than any existing one and
// are listed when they fall inside a gap still open; deleted ones are
// simply absent.

// rangeSmallPages is the size (in pages) under which a listing stays one
// chain: below it the bounds probe costs more than it saves.
const rangeSmallPages = 10

// rangeWaste is the share of the estimated pages a listing may spend on
// extra gaps: each gap costs less than one partial page where its two
// reads meet.
const rangeWaste = 0.04

// rangeSplitMin is the fewest items a gap must still hold (by estimate)
// to be split for an idle worker.
const rangeSplitMin = 600

// openEnd is the upper bound of a gap whose top is not known yet.
const openEnd = math.MaxInt64

// idGap is the open id interval (lo, hi) not yet listed.
type idGap struct{ lo, hi int64 }

func (g idGap) open() bool { return g.hi-g.lo > 1 }

// rangeReq is a request in flight: its direction and bounds.
type rangeReq struct {
	desc   bool
	lo, hi int64
}

// rangeLister coordinates the workers of one parallel listing.
type rangeLister struct {
	c      *Client
	path   string
	params url.Values

	mu       sync.Mutex
	cond     *sync.Cond
	gaps     []*idGap // disjoint, sorted by lo
	inflight []*rangeReq
	items    int // objects handed over
	span     int64
	full     int // full pages seen (for the density estimate)
	splits   int
	peak     int // most requests in flight at once
	err      error

	hand *handover
	fn   func(Page) error
}

// ListKeysetParallel lists path like ListKeyset (every object once,
// ordered by id within each page) but reads a long listing as concurrent
// id ranges with id_after / id_before, adapting the number of ranges to
// the listing's size and the client's concurrency. Pages reach fn one at
// a time, not in id order. Only listings that accept id_after and
// id_before with keyset pagination in both directions (GitLab's projects)
// may use it.
func (c *Client) ListKeysetParallel(ctx context.Context, path string, params url.Values, fn func(Page) error) error {
	q := CloneValues(params)
	q.Del("id_after")
	q.Del("id_before")
	q.Set("pagination", "keyset")
	q.Set("order_by", "id")
	q.Set("per_page", "100")
	first, more, err := c.rangePage(ctx, path, q, rangeReq{lo: 0, hi: openEnd})
	if err != nil {
		return err
	}
	if err := fn(first); err != nil || !more {
		return err
	}
	last := id(first.Items[len(first.Items)-1])
	l := &rangeLister{c: c, path: path, params: q, fn: fn, items: len(first.Items)}
	l.cond = sync.NewCond(&l.mu)
	l.gaps = []*idGap{{lo: last, hi: openEnd}}
	l.learn(first.Items)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	l.hand = newHandover(ctx, c.InFlightLimit)
	var wg sync.WaitGroup
	for range max(2, c.InFlightLimit()) {
		wg.Go(func() { l.work(ctx, cancel) })
	}
	wg.Wait()
	if st, ok := ctx.Value(listStatsKey{}).(*ListStats); ok {
		st.Ranges, st.PeakInFlight = 1+l.splits, max(1, l.peak)
	}
	if l.err != nil {
		return l.err
	}
	return ctx.Err()
}

// ListStats reports how a parallel listing went, for benchmarks and
// logs.
type ListStats struct {
	// Ranges is the number of id ranges read (0: the listing fit in one
	// page).
	Ranges int
	// PeakInFlight is the most requests the listing had in flight at once.
	PeakInFlight int
}

type listStatsKey struct{}

// WithListStats returns a context whose parallel listings report into
// the returned ListStats.
func WithListStats(ctx context.Context) (context.Context, *ListStats) {
	st := &ListStats{}
	return context.WithValue(ctx, listStatsKey{}, st), st
}

// rangePage fetches one page of the range r in its direction and reports
// whether GitLab has more in that range.
func (c *Client) rangePage(ctx context.Context, path string, q url.Values, r rangeReq) (Page, bool, error) {
	q = CloneValues(q)
	q.Set("sort", "asc")
	if r.desc {
		q.Set("sort", "desc")
	}
	if r.lo > 0 {
		q.Set("id_after", strconv.FormatInt(r.lo, 10))
	}
	if r.hi != openEnd {
		q.Set("id_before", strconv.FormatInt(r.hi, 10))
	}
	p, resp, err := c.get(ctx, path, q)
	if err != nil {
		return p, false, err
	}
	// The coverage reasoning rests on GitLab's order and bounds: check
	// them rather than hand over a listing that could skip objects.
	prev := r.lo
	if r.desc {
		prev = r.hi
	}
	for _, o := range p.Items {
		v, ok := o["id"].(float64)
		in := ok && int64(v) > r.lo && int64(v) < r.hi
		if !in || (!r.desc && int64(v) <= prev) || (r.desc && int64(v) >= prev) {
			return p, false, fmt.Errorf("token %s: GET /%s: %w", c.Masked, path, errRangeOrder)
		}
		prev = int64(v)
	}
	return p, resp.NextLink != "" && len(p.Items) > 0, nil
}

func id(o map[string]any) int64 { v, _ := o["id"].(float64); return int64(v) }

// work is one worker: it takes the most useful read, sends it, and folds
// the answer in, until every gap is closed.
func (l *rangeLister) work(ctx context.Context, cancel context.CancelFunc) {
	for {
		if l.hand.admit() != nil {
			l.cond.Broadcast()
			return
		}
		l.mu.Lock()
		r := l.next()
		for r == nil && l.err == nil && ctx.Err() == nil && (l.openGaps() > 0 && len(l.inflight) > 0) {
			l.cond.Wait()
			r = l.next()
		}
		if r == nil || l.err != nil || ctx.Err() != nil {
			l.cond.Broadcast()
			l.mu.Unlock()
			l.hand.release()
			return
		}
		l.inflight = append(l.inflight, r)
		l.peak = max(l.peak, len(l.inflight))
		l.mu.Unlock()

		p, more, err := l.c.rangePage(ctx, l.path, l.params, *r)

		l.mu.Lock()
		l.inflight = slices.DeleteFunc(l.inflight, func(x *rangeReq) bool { return x == r })
		var out []map[string]any
		if err == nil {
			out = l.fold(*r, p.Items, more)
		} else if l.err == nil && ctx.Err() == nil {
			l.err = err
			cancel()
		}
		l.cond.Broadcast()
		l.mu.Unlock()
		if len(out) == 0 {
			l.hand.release()
			continue
		}
		if ferr := l.hand.deliver(func() error { return l.fn(Page{Items: out, RequestedAt: p.RequestedAt}) }); ferr != nil {
			l.mu.Lock()
			if l.err == nil {
				l.err = ferr
			}
			l.mu.Unlock()
			cancel()
			l.cond.Broadcast()
			return
		}
	}
}

func (l *rangeLister) openGaps() int {
	n := 0
	for _, g := range l.gaps {
		if g.open() {
			n++
		}
	}
	return n
}

// busy reports whether a read is in flight from g's lower (desc false)
// or upper edge.
func (l *rangeLister) busy(g *idGap, desc bool) bool {
	for _, r := range l.inflight {
		if r.desc == desc && ((!desc && r.lo == g.lo) || (desc && r.hi == g.hi)) {
			return true
		}
	}
	return false
}

// estimate is the number of objects a gap probably holds, from the
// density of the full pages seen so far.
func (l *rangeLister) estimate(g *idGap) float64 {
	if g.hi == openEnd || l.span == 0 {
		return math.Inf(1)
	}
	return float64(g.hi-g.lo-1) * float64(l.full*100) / float64(l.span)
}

// next picks the read to send, or nil when nothing useful can start now.
// Called with mu held.
func (l *rangeLister) next() *rangeReq {
	var best *idGap
	for _, g := range l.gaps {
		if !g.open() {
			continue
		}
		up, down := l.busy(g, false), l.busy(g, true)
		switch {
		case g.hi == openEnd:
			// The top is unknown: one read downwards from the top finds
			// it (and for a listing of up to 200 objects ends it).
			if !down && !up {
				return &rangeReq{desc: true, lo: g.lo, hi: g.hi}
			}
		case !up && !down:
			return &rangeReq{lo: g.lo, hi: g.hi}
		case !up || !down:
			// A second read of a gap pays when the first cannot finish it.
			if l.estimate(g) > 150 {
				return &rangeReq{desc: up, lo: g.lo, hi: g.hi}
			}
		default:
			if best == nil || l.estimate(g) > l.estimate(best) {
				best = g
			}
		}
	}
	if best == nil || !l.mayGrow() || l.estimate(best) < rangeSplitMin || l.estimate(best) == math.Inf(1) {
		return nil
	}
	// Split the largest gap whose both edges are being read: the
	// worker reads upwards from its middle.
	mid := best.lo + (best.hi-best.lo)/2
	upper := &idGap{lo: mid, hi: best.hi}
	best.hi = mid + 1
	i := slices.Index(l.gaps, best)
	l.gaps = slices.Insert(l.gaps, i+1, upper)
	l.splits++
	return &rangeReq{lo: upper.lo, hi: upper.hi}
}

// mayGrow reports whether one more gap stays within the listing's budget
// of extra requests (rangeWaste of its estimated pages) and the client's
// concurrency. Called with mu held.
func (l *rangeLister) mayGrow() bool {
	var left float64
	for _, g := range l.gaps {
		if g.open() {
			left += l.estimate(g)
		}
	}
	pages := (float64(l.items) + left) / 100
	if pages < rangeSmallPages {
		return false
	}
	gaps := 1 + l.splits
	return float64(gaps+1) <= math.Max(1, math.Floor(rangeWaste*pages)) && len(l.inflight) < l.c.InFlightLimit()
}

// learn adds a full page's id span to the density estimate.
func (l *rangeLister) learn(items []map[string]any) {
	if len(items) < 100 {
		return
	}
	lo, hi := id(items[0]), id(items[len(items)-1])
	if lo > hi {
		lo, hi = hi, lo
	}
	if hi > lo {
		l.span += hi - lo + 1
		l.full++
	}
}

// fold applies a page read for r to the gaps and returns the objects to
// hand over: those inside an open gap and inside the range the page
// covers, at an edge of that gap (which then shrinks past them). Called
// with mu held.
func (l *rangeLister) fold(r rangeReq, items []map[string]any, more bool) []map[string]any {
	// The covered range, exclusive bounds: all of the request's range
	// when GitLab has no more in it, else up to the page's last object.
	cov := idGap{lo: r.lo, hi: r.hi}
	if more {
		if r.desc {
			cov.lo = id(items[len(items)-1]) - 1
		} else {
			cov.hi = id(items[len(items)-1]) + 1
		}
		l.learn(items)
	}
	var out []map[string]any
	for _, g := range l.gaps {
		in := idGap{lo: max(cov.lo, g.lo), hi: min(cov.hi, g.hi)}
		if !g.open() || !in.open() {
			continue
		}
		atLow, atHigh := in.lo == g.lo, in.hi == g.hi
		if !atLow && !atHigh {
			// Inside the gap, away from both edges: handing these over
			// would leave them inside it. They are read again later.
			continue
		}
		for _, o := range items {
			if v := id(o); v > in.lo && v < in.hi {
				out = append(out, o)
			}
		}
		switch {
		case atLow && atHigh:
			g.hi = g.lo + 1
		case atLow:
			g.lo = in.hi - 1
		default:
			g.hi = in.lo + 1
		}
	}
	l.items += len(out)
	l.gaps = slices.DeleteFunc(l.gaps, func(g *idGap) bool { return !g.open() })
	if !r.desc {
		return out
	}
	slices.Reverse(out) // pages reach fn in ascending id order
	return out
}

// errRangeOrder is returned when a page is not in the order or range it
// was asked for, which would break the coverage reasoning above.
var errRangeOrder = errors.New("an id-ordered page has an object out of order or outside its id_after/id_before range")
