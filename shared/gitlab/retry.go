// Retries: which answers and errors are sent again, with what backoff, and how
// retries are logged. The gate (transport.go, pacing.go) holds a retry until
// GitLab's rate limit allows it.

package gitlab

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/origin"
	"github.com/glsync/terraform-provider-glsync/shared/retry"
	retryablehttp "github.com/hashicorp/go-retryablehttp"
)

type ctxKey int

const (
	noRetryOnReset ctxKey = iota
	atMostOnce
)

// AtMostOnce marks a request context so the request is sent again only
// after a 429 (which GitLab did not apply): not after a dropped
// connection nor a 5xx, which may come after GitLab applied it. A
// pipeline triggered for a Port action run must never run twice.
func AtMostOnce(ctx context.Context) context.Context {
	return context.WithValue(NonIdempotent(ctx), atMostOnce, true)
}

// NonIdempotent marks a request context so a dropped connection is not
// retried: the request may have been applied (e.g. a hook created).
func NonIdempotent(ctx context.Context) context.Context {
	return context.WithValue(ctx, noRetryOnReset, true)
}

// checkRetry decides whether to retry: 429, 408 and 5xx (except 501)
// always, connection errors unless the request was marked NonIdempotent.
//
// When it returns an error, the caller (retryablehttp, then client-go)
// drops resp without closing it, so its body is closed here.
func (c *Client) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		discard(resp)
		return false, ctx.Err()
	}
	retry := false
	reason := ""
	switch {
	case err != nil:
		if ctx.Value(noRetryOnReset) == nil && isTransient(err) {
			retry, reason = true, "connection error"
		}
	case resp.StatusCode == http.StatusTooManyRequests:
		// The gate holds the retry until GitLab's reset, unless that is
		// longer than we wait: then fail now rather than sleep.
		if _, perr := c.gate.pause(ctx, time.Now()); perr != nil {
			discard(resp)
			c.log.Warn("gitlab: rate limited for longer than the client waits", "error", perr)
			return false, perr
		}
		retry, reason = true, "429 rate limited"
	case serverTrouble(resp.StatusCode) && ctx.Value(atMostOnce) == nil:
		retry, reason = true, resp.Status
	case resp.StatusCode == http.StatusUnauthorized && c.bearer != nil:
		// An expired OAuth token: a refreshed one may be in the file.
		changed, rerr := c.bearer.reload()
		if rerr != nil {
			c.log.Warn("gitlab: 401 and the OAuth token file could not be read", "error", rerr)
		}
		retry, reason = changed, "401 with a refreshed OAuth token"
	}
	if retry {
		c.noteRetry(reason, requestPath(resp, err))
	}
	return retry, nil
}

// serverTrouble reports whether status says the server (or a proxy in
// front of it) failed to answer in time or at all, which a later attempt
// may not meet: 5xx except 501 (a method it will never implement), and
// 408, which a load balancer or GitLab's Workhorse sends when the request
// took too long. Ocean retries 408 since core 0.48.4 for that reason.
func serverTrouble(status int) bool {
	return status == http.StatusRequestTimeout || status >= 500 && status != http.StatusNotImplemented
}

// retryLogEvery bounds the INFO lines about retries: one per client in
// this interval, counting the retries since the last line.
const retryLogEvery = 10 * time.Second

// noteRetry logs a retry at debug level, and at INFO at most once per
// retryLogEvery with the count since the last INFO line, so a flaky
// GitLab shows in the logs without flooding them.
func (c *Client) noteRetry(reason, path string) {
	c.log.Debug("gitlab: retryable failure", "reason", reason, "request", path)
	c.retryMu.Lock()
	c.retrySince++
	now := time.Now()
	if now.Sub(c.retryLogged) < retryLogEvery {
		c.retryMu.Unlock()
		return
	}
	n := c.retrySince
	c.retrySince, c.retryLogged = 0, now
	c.retryMu.Unlock()
	c.log.Info("gitlab: retrying failed requests", "retries", n, "last_reason", reason, "last_request", path, "gitlab", c.host)
}

// requestPath is the method and path of the request an answer or an
// error is about (no query: it may carry a private_token).
func requestPath(resp *http.Response, err error) string {
	if resp != nil && resp.Request != nil {
		return resp.Request.Method + " " + resp.Request.URL.Path
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			return ue.Op + " " + u.Path
		}
	}
	return ""
}

// discard closes an answer the client will not read.
func discard(resp *http.Response) {
	if resp != nil && resp.Body != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		_ = resp.Body.Close()
	}
}

func isTransient(err error) bool {
	var ne net.Error
	var ue *url.Error
	var te *timeoutError
	var rl *RateLimitError
	var re *origin.RedirectError
	switch {
	case errors.As(err, &rl), errors.As(err, &re):
		return false
	case errors.As(err, &te):
		return true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EPIPE):
		return true
	case errors.As(err, &ne) && ne.Timeout():
		return true
	case errors.As(err, &ue):
		return strings.Contains(ue.Err.Error(), "connection reset") || strings.Contains(ue.Err.Error(), "EOF")
	}
	return false
}

// backoff returns the wait before retry attempt n. For 429 the gate
// already holds the request until GitLab's reset; only jitter is added so
// that waiting requests do not all fire in the same millisecond.
//
// retryablehttp asks for a backoff only when it will retry (not when
// checkRetry said yes but the retries are used up), so retries are
// counted here.
func (c *Client) backoff(base, maxWait time.Duration) retryablehttp.Backoff {
	return func(_, _ time.Duration, attempt int, resp *http.Response) time.Duration {
		c.stats.retry()
		if resp != nil && resp.StatusCode == http.StatusTooManyRequests {
			return time.Duration(rand.Int64N(int64(250 * time.Millisecond)))
		}
		// glsync's one backoff policy: base doubling to maxWait, with
		// the upper half jittered (a wait in [d/2, d]).
		return retry.Policy{Base: base / 2, Max: maxWait / 2, Jitter: 1}.Delay(attempt)
	}
}
