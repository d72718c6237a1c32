package gitlab

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/origin"
)

type noLimit struct{}

func (noLimit) Wait(ctx context.Context) error { return ctx.Err() }

// gate is a token's traffic control: it holds every request of the token
// while GitLab asked us to wait (429 Retry-After, or RateLimit-Remaining
// 0), up to maxWait (a longer pause fails the token's requests at once),
// paces requests to GitLab's rate limit and bounds those in flight.
type gate struct {
	// sem's capacity is the configured bound (Options.MaxConcurrent),
	// what Gate() has always exposed; slots does the bounding.
	sem     chan struct{}
	maxWait time.Duration
	mu      sync.Mutex
	until   time.Time
	pace    *pacer
	slots   *slots
}

func newGate(opts Options) *gate {
	g := &gate{sem: make(chan struct{}, opts.MaxConcurrent), maxWait: opts.MaxWait,
		pace: &pacer{perMinute: opts.RateLimit, log: opts.Logger}}
	g.slots = newSlots(opts.MaxConcurrent, opts.ConcurrencyCeiling, func() float64 { return g.pace.rate(time.Now()) })
	return g
}

// paced waits for the request's turn under the pace, or fails at once
// like wait when that is further off than the client waits or than ctx
// has left.
func (g *gate) paced(ctx context.Context) error {
	if first := g.pace.first(); first != nil {
		select {
		case <-first:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	now := time.Now()
	d := g.pace.reserve(now).Sub(now)
	if d <= 0 {
		return nil
	}
	var err error
	if d > g.maxWait {
		err = &RateLimitError{Wait: d, Limit: g.maxWait}
	} else if dl, ok := ctx.Deadline(); ok && now.Add(d).After(dl) {
		err = &RateLimitError{Wait: d, Limit: dl.Sub(now), Deadline: true}
	}
	if err != nil {
		g.pace.unreserve()
		return err
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		g.pace.unreserve()
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (g *gate) pauseUntil(t time.Time) {
	g.mu.Lock()
	if t.After(g.until) {
		g.until = t
	}
	g.mu.Unlock()
}

// pause returns how long requests must still wait, or a *RateLimitError
// when that is more than the client waits or than ctx has left.
func (g *gate) pause(ctx context.Context, now time.Time) (time.Duration, error) {
	g.mu.Lock()
	d := g.until.Sub(now)
	g.mu.Unlock()
	if d <= 0 {
		return 0, nil
	}
	if d > g.maxWait {
		return d, &RateLimitError{Wait: d, Limit: g.maxWait}
	}
	if dl, ok := ctx.Deadline(); ok && now.Add(d).After(dl) {
		return d, &RateLimitError{Wait: d, Limit: dl.Sub(now), Deadline: true}
	}
	return d, nil
}

func (g *gate) wait(ctx context.Context) error {
	for {
		d, err := g.pause(ctx, time.Now())
		if err != nil || d <= 0 {
			return err
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// RateLimitError is what a request of a token fails with, instead of
// waiting, when GitLab asked the token to wait longer than the client
// waits (Options.MaxWait) or than the request's context has left.
type RateLimitError struct {
	// Wait is how long GitLab asked to wait, from the time of the error.
	Wait time.Duration
	// Limit is Options.MaxWait, or what the context had left when
	// Deadline is set.
	Limit    time.Duration
	Deadline bool
}

func (e *RateLimitError) Error() string {
	wait := e.Wait.Round(time.Second)
	if wait == 0 {
		wait = e.Wait.Round(time.Millisecond)
	}
	if e.Deadline {
		return fmt.Sprintf("rate limited: GitLab asked this token to wait %v (Retry-After or RateLimit-Reset), past the deadline of this work (%v left); not waiting",
			wait, e.Limit.Round(time.Millisecond))
	}
	return fmt.Sprintf("rate limited: GitLab asked this token to wait %v (Retry-After or RateLimit-Reset), longer than the client waits (%v); not waiting",
		wait, e.Limit)
}

// transport counts attempts, enforces the gate, learns pauses from
// GitLab's rate-limit headers, bounds each attempt by the request timeout
// and reads the answer whole before handing it over.
type transport struct {
	next  http.RoundTripper
	gate  *gate
	stats *Stats
	// bearer, when set, supplies the Authorization header of every
	// attempt: a retry after a 401 carries the token read since.
	bearer  *bearer
	timeout time.Duration
	// origin is the configured GitLab's: a request for anywhere else is
	// refused before it is sent, since it carries the token (a redirect
	// the client let through, a URL taken from an answer).
	origin origin.Origin
}

// maxBuffered is the largest answer read whole before it is handed over;
// larger ones (big raw files) are streamed, and a failure while reading
// them is the caller's error, not a retry.
const maxBuffered = 8 << 20

// timeoutError is an attempt that got no complete answer within the
// request timeout. It is retried like a dropped connection.
type timeoutError struct{ after time.Duration }

func (e *timeoutError) Error() string {
	return fmt.Sprintf("no complete answer within %v (the client's request timeout)", e.after)
}
func (e *timeoutError) Timeout() bool   { return true }
func (e *timeoutError) Temporary() bool { return true }

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if o := origin.Of(req.URL); o != t.origin {
		if req.Body != nil {
			req.Body.Close() // a RoundTripper closes the body, even on errors
		}
		return nil, fmt.Errorf("gitlab: not sending a request for %s with the token: it is not the configured GitLab (%s)", origin.Display(req.URL), t.origin)
	}
	ctx := req.Context()
	if err := t.gate.wait(ctx); err != nil {
		return nil, err
	}
	if err := t.gate.paced(ctx); err != nil {
		return nil, err
	}
	if err := t.gate.slots.acquire(ctx); err != nil {
		t.gate.pace.unreserve()
		return nil, err
	}
	start := time.Now()
	actx, cancel := context.WithTimeoutCause(ctx, t.timeout, &timeoutError{after: t.timeout})
	// congested tells the in-flight bound that GitLab pushed back.
	congested := false
	done := func() {
		cancel()
		now := time.Now()
		t.gate.slots.release(now.Sub(start), congested, now)
	}
	// failed names the request timeout when it is what ended the attempt.
	failed := func(err error) error {
		if ctx.Err() == nil && actx.Err() != nil {
			return context.Cause(actx)
		}
		return err
	}
	req = req.Clone(actx)
	if t.bearer != nil {
		req.Header.Set("Authorization", "Bearer "+t.bearer.token.Load().(string))
	}
	t.stats.request(ctx)
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		t.gate.pace.answered(nil, time.Now())
		t.stats.status(0)
		err = failed(err)
		congested = isTransient(err)
		done()
		return nil, err
	}
	t.observe(resp)
	congested = resp.StatusCode == http.StatusTooManyRequests || serverTrouble(resp.StatusCode)
	streamed, err := readWhole(resp)
	if err != nil {
		// A body cut short, reset or stalled is a failed attempt (retried
		// like a reset), never a short page.
		congested = true
		t.stats.status(0)
		err = failed(fmt.Errorf("reading the %d answer: %w", resp.StatusCode, err))
		done()
		return nil, err
	}
	t.stats.status(resp.StatusCode)
	if !streamed {
		done()
		return resp, nil
	}
	resp.Body = &releaseBody{ReadCloser: resp.Body, release: done}
	return resp, nil
}

// readWhole replaces resp.Body with the answer read into memory, unless
// it is larger than maxBuffered (then streamed reports so and the body
// still reads from the connection).
func readWhole(resp *http.Response) (streamed bool, err error) {
	if resp.Body == nil || resp.Body == http.NoBody {
		return false, nil
	}
	if resp.ContentLength > maxBuffered {
		return true, nil
	}
	buf, err := io.ReadAll(io.LimitReader(resp.Body, maxBuffered+1))
	if err != nil {
		resp.Body.Close()
		return false, err
	}
	if len(buf) > maxBuffered {
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(buf), resp.Body), resp.Body}
		return true, nil
	}
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(buf))
	return false, nil
}

// observe pauses the token when GitLab says so. RateLimit-Remaining 0
// means the next request would get a 429, so wait for the reset instead.
func (t *transport) observe(resp *http.Response) {
	now := time.Now()
	t.gate.pace.answered(resp.Header, now)
	if resp.StatusCode == http.StatusTooManyRequests {
		t.stats.rateLimited()
		t.gate.pauseUntil(now.Add(retryAfter(resp, now)))
		return
	}
	if resp.Header.Get("RateLimit-Remaining") == "0" {
		if reset, err := strconv.ParseInt(resp.Header.Get("RateLimit-Reset"), 10, 64); err == nil {
			t.gate.pauseUntil(time.Unix(reset, 0))
		}
	}
}

// retryAfter reads Retry-After (seconds or an HTTP date), then
// RateLimit-Reset (unix seconds), defaulting to one second.
func retryAfter(resp *http.Response, now time.Time) time.Duration {
	if v := resp.Header.Get("Retry-After"); v != "" {
		if s, err := strconv.Atoi(v); err == nil && s >= 0 {
			return time.Duration(s) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil {
			return t.Sub(now)
		}
	}
	if v := resp.Header.Get("RateLimit-Reset"); v != "" {
		if reset, err := strconv.ParseInt(v, 10, 64); err == nil {
			if d := time.Unix(reset, 0).Sub(now); d > 0 {
				return d
			}
		}
	}
	return time.Second
}

type releaseBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

func (b *releaseBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}
