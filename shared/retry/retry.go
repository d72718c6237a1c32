// Package retry is glsync's one backoff policy: every loop that waits
// before trying again (an event's next attempt, a commit or an enqueue
// while the database restarts, a transaction PostgreSQL aborted, the
// wait for a database at start-up, the leader election's poll, the
// GitLab client's wait after a 5xx or a reset) states its Policy here
// instead of inventing a formula, and every wait ends as soon as its
// context does. (The HTTP clients' loops are retryablehttp's, which
// honours the context; after a 429 they follow GitLab's rate-limit
// headers or Port's Retry-After, not a backoff.)
//
// The wait before retry n (0 for the first retry) is
//
//	d(n) = min(Base·2ⁿ, Max) + a uniform random extra in [0, Jitter·that)
//
// so Base = Max gives a constant interval, and Jitter spreads retries
// that failed together (writers that deadlocked, events of one outage).
//
// It imports nothing of glsync: stores and daemon alike use it. A
// library (cenkalti/backoff) was weighed: its backoff is a stateful
// iterator with symmetric jitter, while an event's next attempt is
// computed from the attempt count the queue stored, so Delay(n) as a
// pure function fits every caller.
package retry

import (
	"context"
	"math/rand/v2"
	"time"
)

// Policy is an exponential backoff with a cap and optional jitter, and
// the bounds of a retry loop (Do).
type Policy struct {
	// Base is the wait before the first retry; each retry doubles it.
	Base time.Duration
	// Max caps the doubling (0: Base·2ⁿ grows without a cap, but never
	// beyond 2⁶² ns).
	Max time.Duration
	// Jitter adds up to this fraction of the capped wait, at random
	// (0: none; 0.5: up to half as much again).
	Jitter float64
	// Attempts bounds the tries Do makes, the first included (0: no
	// bound).
	Attempts int
	// Within bounds the time Do spends, from its first try: it does not
	// start a wait that would end later (0: no bound).
	Within time.Duration
}

// Delay is the wait before retry n (0-based), as the package doc states.
func (p Policy) Delay(n int) time.Duration {
	d := p.Base
	for i := 0; i < n && (p.Max <= 0 || d < p.Max) && d < 1<<61; i++ {
		d *= 2
	}
	if p.Max > 0 {
		d = min(d, p.Max)
	}
	if p.Jitter > 0 && d > 0 {
		if extra := int64(p.Jitter * float64(d)); extra > 0 {
			d += time.Duration(rand.Int64N(extra))
		}
	}
	return d
}

// Do calls try until it succeeds, returns an error retryable refuses
// (nil retryable: every error is worth a retry), the policy's Attempts or
// Within are spent, or ctx ends, waiting Delay(n) before retry n. It
// returns try's last error: when ctx ends during a wait, the error of the
// try before it, at once.
func (p Policy) Do(ctx context.Context, retryable func(error) bool, try func() error) error {
	var deadline time.Time
	if p.Within > 0 {
		deadline = time.Now().Add(p.Within)
	}
	for n := 0; ; n++ {
		err := try()
		if err == nil || retryable != nil && !retryable(err) || p.Attempts > 0 && n+1 >= p.Attempts {
			return err
		}
		d := p.Delay(n)
		if !deadline.IsZero() && time.Now().Add(d).After(deadline) {
			return err
		}
		if Sleep(ctx, d) != nil {
			return err
		}
	}
}

// Sleep waits d, or less when ctx ends first; it returns ctx's error
// then, nil otherwise. Unlike time.Sleep, shutdown does not wait for it.
func Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
