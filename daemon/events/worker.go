package events

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/glsync/terraform-provider-glsync/daemon/metrics"
	"github.com/glsync/terraform-provider-glsync/shared/catalog"
)

// Worker drains the durable queue with a pool of goroutines. An event is
// removed only in the transaction that commits its catalog changes, so a
// crash loses nothing and repeats nothing that was committed.
type Worker struct {
	Queue     catalog.Queue
	Processor *Processor
	Metrics   *metrics.Metrics
	Log       *slog.Logger
	// Workers is the number of events processed at once (default 4).
	Workers int
	// Lease is how long a claimed event is hidden from other claims
	// (default 2 minutes); a crashed process's events return after it.
	Lease time.Duration
	// MaxBytes bounds the bodies of the events in hand at once (0: no
	// bound): deliveries of up to 25 MB each, times the workers, would not
	// fit a small pod.
	MaxBytes int64
	// MaxEventBytes is the largest event body there can be (the webhook
	// listener's limit), so a claim never overshoots MaxBytes.
	MaxEventBytes int64
	// MaxAttempts moves an event to the dead-letter table after that many
	// failed attempts (default 10).
	MaxAttempts int
	// Forward, when set, sends an event's changes to a remote catalog
	// (Port) before the queue commits them; a failure retries the event.
	Forward func(ctx context.Context, c catalog.Changes) error

	once   sync.Once
	notify chan struct{}
}

func (w *Worker) init() {
	w.once.Do(func() {
		w.notify = make(chan struct{}, 1)
		if w.Workers <= 0 {
			w.Workers = 4
		}
		if w.Lease <= 0 {
			w.Lease = 2 * time.Minute
		}
		if w.MaxAttempts <= 0 {
			w.MaxAttempts = 10
		}
		if w.Log == nil {
			w.Log = slog.Default()
		}
	})
}

// Notify wakes the worker after an enqueue, so an event does not wait for
// the next poll.
func (w *Worker) Notify() {
	w.init()
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

// Run processes events until ctx ends, then finishes the events in hand
// (bounded by drain) before returning. Each of the Workers goroutines takes
// the next event as soon as it is free: a slow GitLab answer holds up one
// worker, not a whole batch. Events for one object still go one at a time
// (the queue hands out only the oldest of an object).
func (w *Worker) Run(ctx context.Context, drain time.Duration) {
	w.init()
	poll := time.NewTicker(time.Second)
	defer poll.Stop()
	// In-flight events finish even when ctx ends: shutdown drains.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(drain, cancelWork) })
	defer stop()

	jobs := make(chan *catalog.Event)
	free := make(chan struct{}, w.Workers) // one token per idle worker
	var inHand atomic.Int64                // body bytes being processed
	var wg sync.WaitGroup
	for i := 0; i < w.Workers; i++ {
		free <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ev := range jobs {
				w.process(work, ev)
				inHand.Add(-int64(len(ev.Body)))
				free <- struct{}{}
			}
		}()
	}
	defer func() {
		close(jobs)
		wg.Wait()
	}()
	for {
		// Wait for an idle worker, then take every other idle one.
		select {
		case <-ctx.Done():
			return
		case <-free:
		}
		n := 1
	more:
		for n < w.Workers {
			select {
			case <-free:
				n++
			default:
				break more
			}
		}
		budget := int64(0)
		if w.MaxBytes > 0 {
			held := inHand.Load()
			budget = w.MaxBytes - held
			// With events in hand, claim only when any event fits: the
			// queue always hands out one event, however large.
			if held > 0 && budget < max(w.MaxEventBytes, 1) {
				for ; n > 0; n-- {
					free <- struct{}{}
				}
				if !w.wait(ctx, poll, 10*time.Millisecond) {
					return
				}
				continue
			}
		}
		evs, err := w.Queue.Claim(ctx, n, budget, w.Lease)
		if err != nil && ctx.Err() == nil {
			w.Log.Error("event queue: claim failed", "error", err)
		}
		for ; n > len(evs); n-- {
			free <- struct{}{}
		}
		if len(evs) == 0 {
			if !w.wait(ctx, poll, 0) {
				return
			}
			continue
		}
		for _, ev := range evs {
			inHand.Add(int64(len(ev.Body)))
			jobs <- ev
		}
	}
}

// wait sleeps until an enqueue notification, the poll, a worker freeing
// up (after, when not 0) or the end of ctx; false when ctx ended.
func (w *Worker) wait(ctx context.Context, poll *time.Ticker, after time.Duration) bool {
	var soon <-chan time.Time
	if after > 0 {
		soon = time.After(after)
	}
	select {
	case <-ctx.Done():
		return false
	case <-w.notify:
	case <-poll.C:
	case <-soon:
	}
	return true
}

func (w *Worker) process(ctx context.Context, ev *catalog.Event) {
	log := w.Log.With("event", ev.Type, "delivery", ev.Delivery, "id", ev.ID)
	res, err := w.Processor.Handle(ctx, ev)
	if err == nil && w.Forward != nil && (len(res.Changes.Upserts) > 0 || len(res.Changes.Deletes) > 0) {
		if ferr := w.Forward(ctx, res.Changes); ferr != nil {
			err = &TransientError{ferr}
		}
	}
	if err != nil {
		var te *TransientError
		maxAttempts := w.MaxAttempts
		if !errors.As(err, &te) {
			maxAttempts = ev.Attempts + 1 // a bad payload or mapping will not get better
		}
		backoff := time.Duration(1<<min(ev.Attempts, 8)) * time.Second
		backoff += time.Duration(rand.Int64N(int64(backoff / 2)))
		dead, rerr := w.Queue.Retry(ctx, ev, err.Error(), time.Now().Add(backoff), maxAttempts)
		next := "retry"
		if dead {
			next = "dead"
		}
		if w.Metrics != nil {
			w.Metrics.EventsFailed.WithLabelValues(ev.Type, next).Inc()
		}
		if rerr != nil {
			log.Error("event failed and could not be rescheduled; its lease will expire", "error", err, "reschedule_error", rerr)
			return
		}
		if dead {
			log.Error("event moved to the dead-letter table", "attempts", ev.Attempts+1, "error", err)
		} else {
			log.Warn("event failed; will retry", "attempt", ev.Attempts+1, "in", backoff.Round(time.Second), "error", err)
		}
		return
	}
	if err := w.complete(ctx, ev, res.Changes); err != nil {
		if errors.Is(err, catalog.ErrLeaseLost) {
			log.Warn("event: another worker holds it now (its lease ended); not committed here", "error", err)
			return
		}
		log.Error("event: committing its changes failed; it stays queued", "error", err)
		// Release it for another attempt rather than leaving it leased.
		if _, rerr := w.Queue.Retry(ctx, ev, err.Error(), time.Now().Add(time.Second), w.MaxAttempts); rerr != nil {
			log.Error("event: could not be released; its lease will expire", "error", rerr)
		}
		return
	}
	if w.Metrics != nil {
		w.Metrics.EventsProcessed.WithLabelValues(ev.Type, string(res.Outcome)).Inc()
		w.Metrics.EventDuration.Observe(time.Since(ev.ReceivedAt).Seconds())
	}
	switch res.Outcome {
	case Applied:
		n := len(res.Changes.Deletes)
		for _, es := range res.Changes.Upserts {
			n += len(es)
		}
		log.Info("event applied", "changes", n, "latency", time.Since(ev.ReceivedAt).Round(time.Millisecond))
	case GitLabRefused:
		log.Warn("event not applied: GitLab refused the object; nothing deleted", "detail", res.Detail)
	default:
		log.Info("event ignored", "outcome", string(res.Outcome), "detail", res.Detail)
	}
}

// completeRetries bound how long a commit is retried when the catalog is
// unreachable (a database restart): the changes are in hand, and
// committing them when it is back beats fetching them again.
const (
	completeAttempts = 8
	completeBackoff  = 250 * time.Millisecond
)

func (w *Worker) complete(ctx context.Context, ev *catalog.Event, c catalog.Changes) error {
	var err error
	for i := 0; i < completeAttempts; i++ {
		if err = w.Queue.Complete(ctx, ev, c); err == nil || errors.Is(err, catalog.ErrLeaseLost) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(completeBackoff << min(i, 4)):
		}
	}
	return err
}
