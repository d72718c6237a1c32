package gitlab

import (
	"context"
	"sync"
)

// handover bounds what a concurrent listing holds decoded and hands its
// pages to the consumer one at a time. A page of 100 projects is about
// 0.4 MB as Go maps, and a listing whose consumer (map, store) is slower
// than GitLab would otherwise keep a page per worker waiting: with eight
// workers and a dozen listings in a resync, most of its memory.
//
// The number of pages a listing has outstanding (requested and not yet
// taken by the consumer) is held to a window that follows the consumer:
// it grows by one each time the consumer finishes a page and finds none
// waiting (GitLab is the bottleneck: more requests in flight help), and
// shrinks by one each time a page arrives to find enough already waiting
// (the consumer is the bottleneck: more requests would only wait). A fast
// consumer so keeps every worker busy, and a slow one holds a few pages
// whatever the listing's length and the client's concurrency.
//
// Under a page budget (a resync sets one), each listing has one page of
// its own, outstanding or in its consumer's hands, and every further page
// it holds borrows from the budget, which all listings of the resync
// share: a dozen listings whose consumers all wait on the same store
// cannot each build up their own backlog, and a page is read ahead of a
// busy consumer only where the budget allows. Any listing can always make
// progress with its own page, so nested listings (a project's pipelines,
// read while the project listing's page is consumed) never wait on their
// parents' budget.
type handover struct {
	ctx         context.Context
	mu          *sync.Mutex // the budget's when there is one
	cond        *sync.Cond
	budget      *pageBudget
	limit       func() int // the client's in-flight bound now
	window      int        // pages the listing may have outstanding
	outstanding int        // admitted and not yet taken by the consumer
	borrowed    int        // pages held against the budget
	waiting     int        // fetched, waiting for the consumer
	consuming   bool       // the consumer has a page in hand
	deliverMu   sync.Mutex // the consumer: one page at a time
}

// handoverStart is the window a listing starts with: two pages keep a
// consumer busy while the next is fetched, and the window grows from
// there as fast as the consumer shows it can take more.
const handoverStart = 2

// handoverBacklog is the number of waiting pages at which an arriving
// page shrinks the window.
const handoverBacklog = 2

// pageBudget is the pages all listings under one context may hold
// beyond one each.
type pageBudget struct {
	mu      sync.Mutex
	free    int
	waiters map[*handover]struct{} // listings waiting for a free page
}

type pageBudgetKey struct{}

// WithPageBudget returns a context under which concurrent listings share
// a budget of pages held (requested and not yet consumed) beyond one page
// each: the decoded pages of all listings stay under (listings + pages)
// however many run at once and however slow their consumers are.
func WithPageBudget(ctx context.Context, pages int) context.Context {
	return context.WithValue(ctx, pageBudgetKey{}, &pageBudget{free: max(0, pages), waiters: map[*handover]struct{}{}})
}

func newHandover(ctx context.Context, limit func() int) *handover {
	h := &handover{ctx: ctx, limit: limit, window: handoverStart, mu: &sync.Mutex{}}
	if b, ok := ctx.Value(pageBudgetKey{}).(*pageBudget); ok {
		h.budget, h.mu = b, &b.mu
	}
	h.cond = sync.NewCond(h.mu)
	context.AfterFunc(ctx, func() {
		h.mu.Lock()
		h.cond.Broadcast()
		h.mu.Unlock()
	})
	return h
}

// admit waits until the listing may send one more request (or the
// listing's context ends, which wakes it), and counts it outstanding: the
// caller then either hands a page over with deliver or gives the slot
// back with release.
func (h *handover) admit() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for {
		if err := h.ctx.Err(); err != nil {
			if h.budget != nil {
				delete(h.budget.waiters, h)
			}
			return err
		}
		if h.outstanding < min(h.window, max(1, h.limit())) {
			if h.budget == nil || h.needed(h.outstanding+1) <= h.borrowed {
				break
			}
			if h.budget.free > 0 {
				h.budget.free--
				h.borrowed++
				break
			}
			h.budget.waiters[h] = struct{}{}
		}
		h.cond.Wait()
	}
	h.outstanding++
	return nil
}

// needed is how many pages the listing holds against the budget with
// outstanding pages out: all it holds (outstanding, and the one in the
// consumer's hands) but its own.
func (h *handover) needed(outstanding int) int {
	held := outstanding
	if h.consuming {
		held++
	}
	return max(0, held-1)
}

// settle returns borrowed pages the listing no longer needs to the budget
// and wakes whoever waits. Called with mu held, after the listing's pages
// went down.
func (h *handover) settle() {
	if h.budget != nil && h.borrowed > h.needed(h.outstanding) {
		h.budget.free += h.borrowed - h.needed(h.outstanding)
		h.borrowed = h.needed(h.outstanding)
		for w := range h.budget.waiters {
			w.cond.Broadcast()
			delete(h.budget.waiters, w)
		}
	}
	h.cond.Broadcast()
}

// release gives back an admitted slot that brought no page to hand over
// (an error, an empty page, nothing left to read).
func (h *handover) release() {
	h.mu.Lock()
	h.outstanding--
	h.settle()
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
	h.consuming = true
	h.settle()
	h.mu.Unlock()

	err := h.ctx.Err()
	if err == nil {
		err = fn()
	}

	h.mu.Lock()
	h.consuming = false
	if h.waiting == 0 && h.outstanding > 0 {
		// The consumer would now wait on GitLab.
		h.window = min(h.window+1, max(1, h.limit()))
	}
	h.settle()
	h.mu.Unlock()
	return err
}
