package gitlab

import (
	"context"
	"sync"
)

// handover bounds what a concurrent listing holds decoded: a page of 100
// projects is about 1 MB as Go maps, and a listing whose consumer (map,
// store) is slower than GitLab would otherwise keep a page per worker
// waiting. Requests go out only while no fetched page waits for the
// consumer, so a fast consumer keeps every worker busy and a slow one
// holds about three pages (one in its hands, one queued, one arriving)
// whatever the listing's length.
type handover struct {
	mu      sync.Mutex
	cond    *sync.Cond
	waiting int // pages fetched whose consumer has not started on them
}

func newHandover(ctx context.Context) *handover {
	h := &handover{}
	h.cond = sync.NewCond(&h.mu)
	context.AfterFunc(ctx, func() {
		h.mu.Lock()
		h.cond.Broadcast()
		h.mu.Unlock()
	})
	return h
}

// admit waits until no page waits for the consumer (or ctx ends).
func (h *handover) admit(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for h.waiting > 0 && ctx.Err() == nil {
		h.cond.Wait()
	}
	return ctx.Err()
}

// ready records a fetched page waiting for the consumer.
func (h *handover) ready() {
	h.mu.Lock()
	h.waiting++
	h.mu.Unlock()
}

// taken records that the consumer started on a waiting page.
func (h *handover) taken() {
	h.mu.Lock()
	h.waiting--
	h.cond.Broadcast()
	h.mu.Unlock()
}
