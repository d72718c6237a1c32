package webhook

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
)

// downQueue is a queue whose database does not answer.
type downQueue struct {
	catalog.Queue
	tries atomic.Int32
	err   error
}

func (q *downQueue) Enqueue(context.Context, *catalog.Event) (bool, error) {
	q.tries.Add(1)
	return false, q.err
}

// A delivery waits for an unreachable queue up to EnqueueWait, trying
// again meanwhile, and no longer once its request's context ends.
func TestEnqueueWaitsWithinEnqueueWaitAndTheContext(t *testing.T) {
	q := &downQueue{err: errors.New("connection refused")}
	rc := NewReceiver(q, nil, ReceiverOptions{EnqueueWait: 2 * time.Second})
	start := time.Now()
	if _, err := rc.enqueue(context.Background(), &catalog.Event{}); !errors.Is(err, q.err) {
		t.Fatalf("err = %v, want the queue's", err)
	}
	// Tries at 0, 50, 150, 350, 750 and 1350 ms: a busy machine may lose
	// some, not all. No wait starts that would end past EnqueueWait (the
	// next would end at 2350 ms), so 1 s beyond it is a stalled loop, not
	// a slow machine.
	if took, n := time.Since(start), q.tries.Load(); took > 3*time.Second || n < 3 {
		t.Fatalf("%d tries in %v, want several within EnqueueWait", n, took)
	}

	q = &downQueue{err: q.err}
	rc = NewReceiver(q, nil, ReceiverOptions{EnqueueWait: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel) // the client hangs up
	start = time.Now()
	if _, err := rc.enqueue(ctx, &catalog.Event{}); !errors.Is(err, q.err) {
		t.Fatalf("err = %v, want the queue's", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("enqueue returned %v after it started, its context cancelled at 100 ms", took)
	}
}
