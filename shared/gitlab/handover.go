package gitlab

import (
	"context"
	"sync"
)

// handover bounds what a concurrent listing holds decoded and hands its
// pages to the consumer one at a time. A page of 100 projects is about
// 1 MB as Go maps, and a listing whose consumer (map, store) is slower
// than GitLab would otherwise keep a page per worker waiting: with eight
// workers and a dozen listings in a resync, most of its memory.
//
// The number of pages a listing has outstanding (requested and not yet
// taken by the consumer) is held to a window that follows the consumer:
// it grows by one each time the consumer finishes a page and finds none
// waiting (GitLab is the bottleneck: more requests in flight help), and
// shrinks by one each time a page arrives to find two already waiting
// (the consumer is the bottleneck: more requests would only wait). A fast
// consumer so keeps every worker busy, and a slow one holds about four
// pages (one in its hands, up to three waiting or arriving) whatever the
// listing's length and the client's concurrency.
type handover struct {
	ctx         context.Context
	mu          sync.Mutex
	cond        *sync.Cond
	limit       func() int // the client's in-flight bound now
	window      int        // pages the listing may have outstanding
	outstanding int        // admitted and not yet taken by the consumer
	waiting     int        // fetched, waiting for the consumer
	deliverMu   sync.Mutex // the consumer: one page at a time
}

// handoverStart is the window a listing starts with: two pages keep a
// consumer busy while the next is fetched, and the window grows from
// there as fast as the consumer shows it can take more.
const handoverStart = 2

// handoverBacklog is the number of waiting pages at which an arriving
// page shrinks the window.
const handoverBacklog = 2

func newHandover(ctx context.Context, limit func() int) *handover {
	h := &handover{ctx: ctx, limit: limit, window: handoverStart}
	h.cond = sync.NewCond(&h.mu)
	context.AfterFunc(ctx, func() {
		h.mu.Lock()
		h.cond.Broadcast()
		h.mu.Unlock()
	})
	return h
}

// admit waits until the listing may send one more request (or ctx ends),
// and counts it outstanding: the caller then either hands a page over
// with deliver or gives the slot back with release.
func (h *handover) admit(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for h.outstanding >= min(h.window, max(1, h.limit())) && ctx.Err() == nil {
		h.cond.Wait()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	h.outstanding++
	return nil
}

// release gives back an admitted slot that brought no page to hand over
// (an error, an empty page, nothing left to read).
func (h *handover) release() {
	h.mu.Lock()
	h.outstanding--
	h.cond.Broadcast()
	h.mu.Unlock()
}

// deliver hands an admitted slot's page to the consumer, fn, once the
// consumer is free, and returns fn's error. Once the listing's context
// ends (another page's consumer or request failed), pages still waiting
// are dropped: the consumer sees nothing after a failure.
func (h *handover) deliver(fn func() error) error {
	h.mu.Lock()
	if h.waiting >= handoverBacklog {
		h.window = max(1, h.window-1)
	}
	h.waiting++
	h.mu.Unlock()

	h.deliverMu.Lock()
	defer h.deliverMu.Unlock()
	h.mu.Lock()
	h.waiting--
	h.outstanding--
	h.cond.Broadcast()
	h.mu.Unlock()

	err := h.ctx.Err()
	if err == nil {
		err = fn()
	}

	h.mu.Lock()
	if h.waiting == 0 && h.outstanding > 0 {
		// The consumer would now wait on GitLab.
		h.window = min(h.window+1, max(1, h.limit()))
		h.cond.Broadcast()
	}
	h.mu.Unlock()
	return err
}
