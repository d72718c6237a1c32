package gitlab

import (
	"context"
	"math"
	"net/url"
	"sync"
)

// Offset listings GitLab does not count.
//
// Above 10,000 objects GitLab leaves out X-Total and X-Total-Pages (and
// rel="last"), so the number of pages is unknown and each page only says
// whether a next one exists. Read one after another, such a listing costs
// a round trip per page. GitLab documents that it stops counting at
// 10,000, so a first page without totals that has a next page means the
// listing holds more than 10,000 objects: pages 2 to 100 exist and are
// read concurrently at no risk. Past the pages known to exist (each page
// with a next one proves one more), reads run ahead of the proof only
// within offsetWaste of the known pages, so a listing that ends there
// wastes a bounded, small share of requests on empty pages.

// offsetCounted is the number of objects GitLab still counts.
const offsetCounted = 10_000

// offsetWaste is the share of the known pages a listing may read past the
// last one proven to exist.
const offsetWaste = 0.04

// offsetUncounted reads pages from next on of a listing GitLab did not
// count, concurrently as described above, handing pages to fn one at a
// time.
func (c *Client) offsetUncounted(ctx context.Context, path string, q url.Values, next int64, fn func(Page) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		cond     = sync.NewCond(&mu)
		issued   = next - 1                     // highest page sent
		known    = max(next, offsetCounted/100) // highest page known to exist
		end      = int64(math.MaxInt64)         // the last page, once seen
		inflight int                            // requests out
		firstErr error                          // the first failure
	)
	h := newHandover(ctx, c.InFlightLimit)
	ahead := func() int64 { return int64(math.Max(1, math.Floor(offsetWaste*float64(known)))) }
	work := func() {
		for {
			if h.admit() != nil {
				return
			}
			mu.Lock()
			for firstErr == nil && ctx.Err() == nil && issued < end && issued+1 > known+ahead() && inflight > 0 {
				cond.Wait()
			}
			if firstErr != nil || ctx.Err() != nil || issued >= end || issued+1 > known+ahead() {
				cond.Broadcast()
				mu.Unlock()
				h.release()
				return
			}
			issued++
			p := issued
			inflight++
			mu.Unlock()

			page, resp, err := c.get(ctx, path, withPage(q, p))

			mu.Lock()
			inflight--
			switch {
			case err != nil:
				if firstErr == nil {
					firstErr = err
					cancel()
				}
			case resp.NextPage != 0:
				known = max(known, p+1)
			default:
				end = min(end, p)
			}
			cond.Broadcast()
			mu.Unlock()
			if err != nil || len(page.Items) == 0 {
				h.release()
				continue
			}
			if ferr := h.deliver(func() error { return fn(page) }); ferr != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = ferr
				}
				mu.Unlock()
				cancel()
				cond.Broadcast()
				return
			}
		}
	}
	var wg sync.WaitGroup
	for range max(1, c.InFlightLimit()) {
		wg.Go(work)
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}
