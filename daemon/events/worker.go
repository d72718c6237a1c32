package events

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/glsync/terraform-provider-glsync/daemon/metrics"
	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/retry"
)

// Worker drains the durable queue with a pool of goroutines. An event is
// removed only in the transaction that commits its catalog changes, so a
// crash loses nothing and repeats nothing that was committed. Make one
// with NewWorker.
type Worker struct {
	// Forward, when set (before Run), sends an event's changes to a
	// remote catalog (Port) before the queue commits them; a failure
	// retries the event.
	Forward func(ctx context.Context, c catalog.Changes) error
	// Observe, when set (before Run), sees every event handled without
	// error (a pipeline's completion finishes the Port action run that
	// triggered it). It runs where the queue hands the event out, so once
	// across replicas; its error retries the event, and it must tolerate
	// seeing an event again.
	Observe func(ctx context.Context, ev *catalog.Event) error

	queue     catalog.Queue
	processor *Processor
	o         WorkerOptions // defaults settled by NewWorker
	notify    chan struct{}
}

// WorkerOptions tune a Worker; a zero field takes its default.
type WorkerOptions struct {
	// Metrics count events processed and failed (default
	// metrics.Discard()).
	Metrics *metrics.Metrics
	// Log defaults to slog.Default().
	Log *slog.Logger
	// Workers is the least number of events processed at once (default
	// 4); with Concurrency, the number follows what GitLab allows.
	Workers int
	// Concurrency, when set, is how many events to process at once, read
	// before each claim: glsyncd derives it from its GitLab clients'
	// in-flight bounds, which adapt to GitLab's latency and rate limit
	// (an event spends most of its time waiting for GitLab). It is kept
	// between Workers and MaxWorkers.
	Concurrency func() int
	// MaxWorkers bounds Concurrency (default 256).
	MaxWorkers int
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
}

// NewWorker returns a worker that claims events from queue and hands them
// to p, with o's defaults settled once here, so nothing checks for them
// where events are processed.
func NewWorker(queue catalog.Queue, p *Processor, o WorkerOptions) *Worker {
	if o.Metrics == nil {
		o.Metrics = metrics.Discard()
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.MaxWorkers <= 0 {
		o.MaxWorkers = 256
	}
	o.MaxWorkers = max(o.MaxWorkers, o.Workers)
	if o.Lease <= 0 {
		o.Lease = 2 * time.Minute
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 10
	}
	return &Worker{queue: queue, processor: p, o: o, notify: make(chan struct{}, 1)}
}

// Notify wakes the worker after an enqueue, so an event does not wait for
// the next poll.
func (w *Worker) Notify() {
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

// Run processes events until ctx ends, then finishes the events in hand
// (bounded by drain) before returning. Each event is processed as soon as
// it is claimed, and a new claim is made as soon as events finish: a slow
// GitLab answer holds up one event, not a batch. How many events are in
// hand follows Concurrency. Events for one object still go one at a time
// (the queue hands out only the oldest of an object).
func (w *Worker) Run(ctx context.Context, drain time.Duration) {
	poll := time.NewTicker(time.Second)
	defer poll.Stop()
	// In-flight events finish even when ctx ends: shutdown drains.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(drain, cancelWork) })
	defer stop()

	// finished carries the body size of each processed event; it holds
	// as many as can be in hand, so a worker never blocks on it.
	finished := make(chan int64, w.o.MaxWorkers)
	var wg sync.WaitGroup
	defer wg.Wait()
	inHand, held := 0, int64(0) // events and body bytes being processed
	collect := func(n int64) { inHand--; held -= n }
	for {
		for drained := false; !drained; {
			select {
			case n := <-finished:
				collect(n)
			default:
				drained = true
			}
		}
		want := w.target()
		free := want - inHand
		budget := int64(0)
		if w.o.MaxBytes > 0 {
			budget = w.o.MaxBytes - held
		}
		// With events in hand, claim only when a worker is free and any
		// event fits (the queue always hands out one event, however
		// large). Claims batch by themselves: the events that finish
		// while one claim runs are all replaced by the next.
		if inHand > 0 && (free <= 0 || w.o.MaxBytes > 0 && budget < max(w.o.MaxEventBytes, 1)) {
			select {
			case <-ctx.Done():
				return
			case n := <-finished:
				collect(n)
			}
			continue
		}
		evs, err := w.queue.Claim(ctx, max(free, 1), budget, w.o.Lease)
		if err != nil && ctx.Err() == nil {
			w.o.Log.Error("event queue: claim failed", "error", err)
		}
		if len(evs) == 0 {
			if !w.wait(ctx, poll, finished, collect) {
				return
			}
			continue
		}
		for _, ev := range evs {
			inHand++
			held += int64(len(ev.Body))
			wg.Add(1)
			go func() {
				defer wg.Done()
				w.process(work, ev)
				finished <- int64(len(ev.Body))
			}()
		}
	}
}

// target is how many events to have in hand now.
func (w *Worker) target() int {
	if w.o.Concurrency == nil {
		return w.o.Workers
	}
	return min(max(w.o.Concurrency(), w.o.Workers), w.o.MaxWorkers)
}

// wait sleeps until an enqueue notification, the poll, an event in hand
// finishing (its object's next event may be due) or the end of ctx;
// false when ctx ended.
func (w *Worker) wait(ctx context.Context, poll *time.Ticker, finished <-chan int64, collect func(int64)) bool {
	select {
	case <-ctx.Done():
		return false
	case <-w.notify:
	case <-poll.C:
	case n := <-finished:
		collect(n)
	}
	return true
}

func (w *Worker) process(ctx context.Context, ev *catalog.Event) {
	log := w.o.Log.With("event", ev.Type, "delivery", ev.Delivery, "id", ev.ID)
	res, err := w.processor.Handle(ctx, ev)
	if err == nil && w.Forward != nil && (len(res.Changes.Upserts) > 0 || len(res.Changes.Deletes) > 0) {
		if ferr := w.Forward(ctx, res.Changes); ferr != nil {
			err = &TransientError{ferr}
		}
	}
	if err == nil && w.Observe != nil {
		if oerr := w.Observe(ctx, ev); oerr != nil {
			err = &TransientError{oerr}
		}
	}
	if err != nil {
		var te *TransientError
		maxAttempts, backoff := w.schedule(ev, errors.As(err, &te))
		dead, rerr := w.queue.Retry(ctx, ev, err.Error(), time.Now().Add(backoff), maxAttempts)
		next := "retry"
		if dead {
			next = "dead"
		}
		w.o.Metrics.EventsFailed.WithLabelValues(ev.Type, next).Inc()
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
	if len(res.Failed) > 0 {
		w.completePart(ctx, log, ev, res)
		return
	}
	if err := w.complete(ctx, ev, res.Changes); err != nil {
		if errors.Is(err, catalog.ErrLeaseLost) {
			log.Warn("event: another worker holds it now (its lease ended); not committed here", "error", err)
			return
		}
		log.Error("event: committing its changes failed; it stays queued", "error", err)
		// Release it for another attempt rather than leaving it leased.
		w.release(ctx, log, ev, err.Error())
		return
	}
	w.o.Metrics.EventsProcessed.WithLabelValues(ev.Type, string(res.Outcome)).Inc()
	w.o.Metrics.EventDuration.Observe(time.Since(ev.ReceivedAt).Seconds())
	logRefused(log, res)
	switch res.Outcome {
	case Applied:
		n := len(res.Changes.Deletes)
		for _, es := range res.Changes.Upserts {
			n += len(es)
		}
		log.Info("event applied", "changes", n, "latency", time.Since(ev.ReceivedAt).Round(time.Millisecond))
	case GitLabRefused:
		log.Warn("event not applied: GitLab refused the object; nothing deleted", "detail", res.Detail)
	case NotDeleted:
		log.Warn("deletion event not applied: its hook does not cover the object, or GitLab still serves it", "detail", res.Detail)
	default:
		log.Info("event ignored", "outcome", string(res.Outcome), "detail", res.Detail)
	}
}

// release hands a claimed event back to the queue, due in a second, so
// its object's later events do not wait out the lease.
func (w *Worker) release(ctx context.Context, log *slog.Logger, ev *catalog.Event, reason string) {
	if _, err := w.queue.Retry(ctx, ev, reason, time.Now().Add(time.Second), w.o.MaxAttempts); err != nil {
		log.Error("event: could not be released; its lease will expire", "error", err)
	}
}

// logRefused logs the GitOps claims an event's spec files made and were
// refused (catalog.FilterClaims).
func logRefused(log *slog.Logger, res Result) {
	for _, r := range res.Refused {
		log.Warn("GitOps claim refused: a spec file declared an entity another project or kind owns (gitopsScope: project)", "claim", r.String())
	}
}

// eventRetry spaces an event's attempts: 1 s doubling to 256 s, plus up
// to half as much jitter, so the events of one outage do not all come
// back at once.
var eventRetry = retry.Policy{Base: time.Second, Max: 256 * time.Second, Jitter: 0.5}

// schedule is when a failed event (or the failed parts of one) is tried
// again, and after how many attempts it goes to the dead letters: at once
// for a failure no retry can fix (a 4xx answer, a file that does not
// parse, a mapping error), after MaxAttempts with eventRetry's backoff
// otherwise.
func (w *Worker) schedule(ev *catalog.Event, transient bool) (maxAttempts int, backoff time.Duration) {
	maxAttempts = w.o.MaxAttempts
	if !transient {
		maxAttempts = ev.Attempts + 1
	}
	return maxAttempts, eventRetry.Delay(ev.Attempts)
}

// completePart commits the changes of the parts of ev that succeeded and
// keeps the failed parts queued in its place (see Queue.CompletePart).
func (w *Worker) completePart(ctx context.Context, log *slog.Logger, ev *catalog.Event, res Result) {
	rest, reason, transient, err := Rest(ev.Body, res.Failed)
	if err != nil {
		// The body decoded once already; this cannot happen short of a
		// bug. The whole event is tried again rather than lost.
		log.Error("event: cannot keep the failed parts; the whole event will be retried", "error", err)
		w.release(ctx, log, ev, err.Error())
		return
	}
	if w.Forward != nil && (len(res.Changes.Upserts) > 0 || len(res.Changes.Deletes) > 0) {
		if ferr := w.Forward(ctx, res.Changes); ferr != nil {
			log.Warn("event: forwarding its changes failed; will retry", "error", ferr)
			w.release(ctx, log, ev, ferr.Error())
			return
		}
	}
	maxAttempts, backoff := w.schedule(ev, transient)
	var dead bool
	err = w.retryCommit(ctx, func() error {
		var err error
		dead, err = w.queue.CompletePart(ctx, ev, res.Changes, rest, reason, time.Now().Add(backoff), maxAttempts)
		return err
	})
	if err != nil {
		if errors.Is(err, catalog.ErrLeaseLost) {
			log.Warn("event: another worker holds it now (its lease ended); not committed here", "error", err)
			return
		}
		log.Error("event: committing the parts that succeeded failed; it stays queued", "error", err)
		// Released, not left leased: its object's later events wait on it.
		w.release(ctx, log, ev, err.Error())
		return
	}
	next := "retry"
	if dead {
		next = "dead"
	}
	w.o.Metrics.EventsFailed.WithLabelValues(ev.Type, next).Inc()
	logRefused(log, res)
	for _, f := range res.Failed {
		if dead {
			log.Error("event part moved to the dead-letter table; the event's other parts were applied", "part", f.Part, "attempts", ev.Attempts+1, "error", f.Err)
		} else {
			log.Warn("event part failed; the event's other parts were applied, this part will retry", "part", f.Part, "attempt", ev.Attempts+1, "in", backoff.Round(time.Second), "error", f.Err)
		}
	}
	w.o.Metrics.EventsProcessed.WithLabelValues(ev.Type, "partial").Inc()
}

// commitRetry bounds how long a commit is retried when the catalog is
// unreachable (a database restart): the changes are in hand, and
// committing them when it is back beats fetching them again. 8 attempts,
// 250 ms doubling to 4 s between them: about 19 s in all.
var commitRetry = retry.Policy{Base: 250 * time.Millisecond, Max: 4 * time.Second, Attempts: 8}

func (w *Worker) complete(ctx context.Context, ev *catalog.Event, c catalog.Changes) error {
	return w.retryCommit(ctx, func() error { return w.queue.Complete(ctx, ev, c) })
}

// retryCommit runs commit until it succeeds, the lease is lost, ctx ends
// or commitRetry's attempts failed (the catalog unreachable for longer).
func (w *Worker) retryCommit(ctx context.Context, commit func() error) error {
	return commitRetry.Do(ctx, func(err error) bool { return !errors.Is(err, catalog.ErrLeaseLost) }, commit)
}
