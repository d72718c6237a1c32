// Package gitlab builds GitLab API clients (on gitlab.com/gitlab-org/api/client-go)
// that behave well against a busy GitLab: one rate limiter per token that
// obeys Retry-After and RateLimit-* (up to a longest wait, beyond which
// the token's requests fail at once), retries with jittered backoff on
// 429, 5xx, dropped connections, answers cut short and attempts over the
// request timeout, a bound on concurrent requests, and counters for
// requests and retries. It also lists collections page by page with
// offset or keyset pagination, so callers stream instead of loading
// everything.
package gitlab

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	gogitlab "gitlab.com/gitlab-org/api/client-go"

	"github.com/glsync/terraform-provider-glsync/shared/origin"
	"github.com/glsync/terraform-provider-glsync/shared/redact"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
	retryablehttp "github.com/hashicorp/go-retryablehttp"
)

// Options tune a Client. The zero value is usable.
type Options struct {
	// MaxConcurrent is the in-flight bound for this token that the
	// client starts at and never goes below (default 8); the bound grows
	// up to ConcurrencyCeiling while requests queue for a slot and
	// GitLab's latency stays flat (see pacing.go).
	MaxConcurrent int
	// ConcurrencyCeiling is the highest the in-flight bound grows to
	// (default DefaultConcurrencyCeiling; at least MaxConcurrent, which
	// makes the bound fixed).
	ConcurrencyCeiling int
	// RateLimit, when above 0, is the most requests per minute sent with
	// this token, spread evenly (glsyncd's gitlabRateLimit). GitLab's
	// own limit, learned from its RateLimit-* headers, applies as well:
	// the remaining budget of its window is spread over what is left of
	// the window, so requests do not burst into 429s.
	RateLimit float64
	// Shared, when set, makes the clients of one token (and host) share
	// its in-flight bound, pacing and pauses; without it each client
	// paces alone.
	Shared *Shared
	// MaxRetries bounds retries of one request. Zero means "not set" and
	// gives the default, 8; NoRetries (or any negative value) sends every
	// request once. A setting where 0 means "no retries" (maxRetries in
	// glsyncd's config) must be passed as NoRetries.
	MaxRetries int
	// RetryBase is the first backoff step for 5xx and resets (default
	// 250ms); it doubles per attempt up to RetryMax (default 10s), with
	// full jitter.
	RetryBase, RetryMax time.Duration
	// RequestTimeout bounds one attempt, from sending the request to the
	// last byte of the answer (default 2m). An attempt that takes longer
	// fails and is retried like a dropped connection: without it, an
	// answer that never comes (a stalled proxy, a listener that accepts
	// nothing) would hold the request until its context ends.
	RequestTimeout time.Duration
	// MaxWait is the longest pause the client accepts when GitLab asks the
	// token to wait (429 with Retry-After, or RateLimit-Remaining 0 until
	// RateLimit-Reset); default 5m. When GitLab asks for more, or for more
	// than the request's context has left before its deadline, requests of
	// the token fail at once with a *RateLimitError naming the wait,
	// instead of sleeping through it.
	MaxWait time.Duration
	// Transport is the underlying transport (default: a pooled transport).
	Transport http.RoundTripper
	// Logger receives retry and rate-limit messages (default slog.Default()).
	Logger *slog.Logger
	// OAuth sends the token as "Authorization: Bearer", as OAuth access
	// tokens need (GitLab takes access tokens that way too); else
	// PRIVATE-TOKEN.
	OAuth bool
	// TokenFile, with OAuth, is a file holding the current access token
	// (Ocean's OCEAN__OAUTH_ACCESS_TOKEN_FILE_PATH): re-read when GitLab
	// answers 401, so a token refreshed by another process is picked up
	// without a restart.
	TokenFile string
	// HostSetting names the setting the host came from (default
	// "gitlabHost"): a redirect to another origin is refused with an
	// error that says to fix it.
	HostSetting string
}

// NoRetries is the Options.MaxRetries value for "send each request once"
// (zero there means the default).
const NoRetries = -1

// Defaults of Options.
const (
	DefaultMaxRetries     = 8
	DefaultRequestTimeout = 2 * time.Minute
	DefaultMaxWait        = 5 * time.Minute
)

// Client is a GitLab API client for one token.
type Client struct {
	// API is the underlying client-go client, for typed calls.
	API *gogitlab.Client
	// Masked is the token in a form safe to log.
	Masked string
	host   string // the instance, for errors
	stats  *Stats
	log    *slog.Logger
	gate   *gate
	bearer *bearer // nil unless OAuth

	retryMu     sync.Mutex
	retrySince  int       // retries since the last INFO line
	retryLogged time.Time // when it was written
}

// bearer sends an OAuth access token, re-read from its file on demand.
type bearer struct {
	token atomic.Value // string
	file  string
}

func (*bearer) Init(context.Context, *gogitlab.Client) error { return nil }

func (b *bearer) Header(context.Context) (string, string, error) {
	return "Authorization", "Bearer " + b.token.Load().(string), nil
}

// reload re-reads the token file; it reports whether the token changed.
func (b *bearer) reload() (bool, error) {
	if b.file == "" {
		return false, nil
	}
	raw, err := os.ReadFile(b.file)
	if err != nil {
		return false, fmt.Errorf("gitlab: reading the OAuth token file: %w", err)
	}
	t := strings.TrimSpace(string(raw))
	if t == "" || t == b.token.Load().(string) {
		return false, nil
	}
	b.token.Store(t)
	return true, nil
}

// New returns a client for token against host (e.g. https://gitlab.com).
// stats may be nil.
//
// The token is only ever sent to host's origin (scheme, host and port): a
// redirect elsewhere is refused with an *origin.RedirectError naming both
// URLs and Options.HostSetting, and never retried; one within the origin
// is followed.
func New(host, token string, opts Options, stats *Stats) (*Client, error) {
	base, err := url.Parse(strings.TrimRight(host, "/"))
	if err != nil || base.Host == "" {
		return nil, fmt.Errorf("gitlab: %s is not a URL like https://gitlab.com", redact.Value(host))
	}
	if opts.HostSetting == "" {
		opts.HostSetting = "gitlabHost"
	}
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = 8
	}
	if opts.ConcurrencyCeiling <= 0 {
		opts.ConcurrencyCeiling = DefaultConcurrencyCeiling
	}
	opts.ConcurrencyCeiling = max(opts.ConcurrencyCeiling, opts.MaxConcurrent)
	if opts.MaxRetries == 0 {
		opts.MaxRetries = DefaultMaxRetries
	}
	if opts.MaxRetries < 0 {
		opts.MaxRetries = 0
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = DefaultRequestTimeout
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = DefaultMaxWait
	}
	if opts.RetryBase <= 0 {
		opts.RetryBase = 250 * time.Millisecond
	}
	if opts.RetryMax <= 0 {
		opts.RetryMax = 10 * time.Second
	}
	if opts.Transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = opts.ConcurrencyCeiling
		opts.Transport = t
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if stats == nil {
		stats = &Stats{}
	}
	masked := tokenmap.Mask(token)
	log := opts.Logger.With("token", masked)
	gopts := opts
	gopts.Logger = log
	var g *gate
	if opts.Shared != nil {
		g = opts.Shared.gate(host, token, func() *gate { return newGate(gopts) })
		g.pace.setUser(opts.RateLimit)
	} else {
		g = newGate(gopts)
	}
	c := &Client{Masked: masked, host: redactHost(host), stats: stats, log: log, gate: g}
	tr := &transport{next: opts.Transport, gate: g, stats: stats, timeout: opts.RequestTimeout, origin: origin.Of(base)}
	// net/http would copy PRIVATE-TOKEN to any host a redirect names (it
	// drops only Authorization, and keeps even that for another port or
	// scheme of the same host), and the transport sets the OAuth bearer
	// on every request: redirects must stay on the origin.
	httpClient := origin.Bind(&http.Client{Transport: tr}, base, "GitLab", opts.HostSetting)
	var auth gogitlab.AuthSource = gogitlab.AccessTokenAuthSource{Token: token}
	if opts.OAuth {
		b := &bearer{file: opts.TokenFile}
		b.token.Store(token)
		c.bearer, auth, tr.bearer = b, b, b
	}
	api, err := gogitlab.NewAuthSourceClient(auth,
		gogitlab.WithBaseURL(strings.TrimRight(host, "/")+"/api/v4"),
		gogitlab.WithHTTPClient(httpClient),
		// Our transport paces requests; the built-in limiter would only
		// configure itself once from the first response.
		gogitlab.WithCustomLimiter(noLimit{}),
		gogitlab.WithCustomRetry(c.checkRetry),
		gogitlab.WithCustomBackoff(c.backoff(opts.RetryBase, opts.RetryMax)),
		gogitlab.WithCustomRetryMax(opts.MaxRetries),
	)
	if err != nil {
		return nil, fmt.Errorf("gitlab: client for %s: %w", host, err)
	}
	api.UserAgent = "glsync"
	c.API = api
	return c, nil
}

// Logger returns the client's logger (it names the token, masked).
func (c *Client) Logger() *slog.Logger { return c.log }

// Stats returns the counters this client adds to.
func (c *Client) Stats() *Stats { return c.stats }

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
		d := base << attempt
		if d > maxWait || d <= 0 {
			d = maxWait
		}
		// full jitter in [d/2, d)
		return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
	}
}

// User is what GET /user tells about the token's user.
type User struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
	Bot      bool   `json:"bot"`
	IsAdmin  bool   `json:"is_admin"`
}

// CurrentUser returns the token's user: admins see every project, other
// tokens see their memberships.
func (c *Client) CurrentUser(ctx context.Context) (User, error) {
	var u User
	req, err := c.API.NewRequest(http.MethodGet, "user", nil, []gogitlab.RequestOptionFunc{gogitlab.WithContext(ctx)})
	if err != nil {
		return u, err
	}
	if resp, err := c.API.Do(req, &u); err != nil {
		return u, c.wrap("GET /user", resp, err)
	}
	return u, nil
}

// APIError is a GitLab answer that is not a success, after retries.
type APIError struct {
	Op     string // e.g. "GET /projects"
	Status int    // 0 when no answer was received
	// Host is the GitLab instance (e.g. https://gitlab.example.com), named
	// in the message of an answer: "503" alone does not say from where.
	Host string
	Err  error
}

func (e *APIError) Error() string {
	from := ""
	if e.Host != "" {
		from = " (from " + e.Host + ")"
	}
	switch {
	case e.Status >= 400:
		return fmt.Sprintf("gitlab: %s: %d %s%s", e.Op, e.Status, http.StatusText(e.Status), from)
	case e.Status != 0:
		// A success whose answer could not be read or decoded: the
		// status alone ("200 OK") would hide what went wrong.
		return fmt.Sprintf("gitlab: %s: %d %s%s, but the answer is unusable: %v", e.Op, e.Status, http.StatusText(e.Status), from, e.Err)
	}
	// Without an answer, Err is the transport's error, which names the URL.
	return fmt.Sprintf("gitlab: %s: %v", e.Op, e.Err)
}

func (e *APIError) Unwrap() error { return e.Err }

// wrap turns client-go errors into APIError and adds the masked token.
// The status comes from the response when there was one (client-go turns
// a 404 into a bare ErrNotFound).
func (c *Client) wrap(op string, resp *gogitlab.Response, err error) error {
	var er *gogitlab.ErrorResponse
	status := 0
	switch {
	case resp != nil && resp.Response != nil:
		status = resp.StatusCode
	case errors.As(err, &er) && er.Response != nil:
		status = er.Response.StatusCode
	}
	if re := (*origin.RedirectError)(nil); errors.As(err, &re) {
		// It names both URLs already; net/http's wrapping would name
		// the refused one a third time.
		err = re
	}
	return fmt.Errorf("token %s: %w", c.Masked, &APIError{Op: op, Status: status, Host: c.host, Err: err})
}

// redactHost is host as errors may show it: without user info.
func redactHost(host string) string { return redact.URL(strings.TrimRight(host, "/")) }

// Do sends one request with a JSON body (nil for none) and decodes the
// answer into out (nil to discard). POSTs are marked non-idempotent: a
// dropped connection is not retried, since GitLab may have applied it.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) (int, error) {
	if method == http.MethodPost {
		ctx = NonIdempotent(ctx)
	}
	req, err := c.API.NewRequest(method, path, body, []gogitlab.RequestOptionFunc{gogitlab.WithContext(ctx)})
	if err != nil {
		return 0, err
	}
	resp, err := c.API.Do(req, out)
	status := 0
	if resp != nil && resp.Response != nil {
		status = resp.StatusCode
	}
	if err != nil {
		return status, c.wrap(method+" /"+path, resp, err)
	}
	return status, nil
}

// ErrTooLarge is returned by Raw for content above the limit.
var ErrTooLarge = errors.New("content larger than the limit")

type limitWriter struct {
	buf   bytes.Buffer
	limit int
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.buf.Len()+len(p) > l.limit {
		return 0, ErrTooLarge
	}
	return l.buf.Write(p)
}

// Raw GETs a non-JSON resource (a raw file), reading at most limit bytes.
// status is the answer's status (404 means the file is not there).
func (c *Client) Raw(ctx context.Context, path string, params url.Values, limit int) ([]byte, int, error) {
	req, err := c.API.NewRequest(http.MethodGet, path, nil, []gogitlab.RequestOptionFunc{
		gogitlab.WithContext(ctx),
		func(r *retryablehttp.Request) error { r.URL.RawQuery = params.Encode(); return nil },
	})
	if err != nil {
		return nil, 0, err
	}
	w := &limitWriter{limit: limit}
	resp, err := c.API.Do(req, w)
	status := 0
	if resp != nil && resp.Response != nil {
		status = resp.StatusCode
	}
	if errors.Is(err, ErrTooLarge) {
		return nil, status, fmt.Errorf("token %s: GET /%s: %w (%d bytes)", c.Masked, path, ErrTooLarge, limit)
	}
	if err != nil {
		return nil, status, c.wrap("GET /"+path, resp, err)
	}
	return w.buf.Bytes(), status, nil
}

// Page is one page of a listing: raw objects as GitLab sent them, and
// when the request for them was sent (what the catalog orders writes by).
type Page struct {
	Items       []map[string]any
	RequestedAt time.Time
}

// Gate exposes the configured concurrency bound (its capacity,
// Options.MaxConcurrent), so callers that fan out per object do not start
// more goroutines than can run. InFlightLimit is the bound now.
func (c *Client) Gate() chan struct{} { return c.gate.sem }

// InFlightLimit is the token's in-flight bound now: it adapts between
// Options.MaxConcurrent and Options.ConcurrencyCeiling to GitLab's
// latency and rate limit, so a fan-out sized by it keeps the token busy
// without holding goroutines that could only wait.
func (c *Client) InFlightLimit() int { return c.gate.slots.bound() }

// Pace is the token's request rate now, requests per second, as the
// user's limit and GitLab's announced one allow (0: unpaced).
func (c *Client) Pace() float64 { return c.gate.pace.rate(time.Now()) }

// FirstItems fetches the first n items of an offset listing (newest first
// where GitLab orders so), in ceil(n/100) pages at most.
func (c *Client) FirstItems(ctx context.Context, path string, n int) (Page, error) {
	return c.FirstItemsQuery(ctx, path, nil, n)
}

// FirstItemsQuery is FirstItems with query parameters.
func (c *Client) FirstItemsQuery(ctx context.Context, path string, params url.Values, n int) (Page, error) {
	var out Page
	q := CloneValues(params)
	per := n
	if per > 100 {
		per = 100
	}
	q.Set("per_page", strconv.Itoa(per))
	for page := int64(1); ; page++ {
		q.Set("page", strconv.FormatInt(page, 10))
		p, resp, err := c.get(ctx, path, q)
		if err != nil {
			return out, err
		}
		if out.RequestedAt.IsZero() {
			out.RequestedAt = p.RequestedAt
		}
		out.Items = append(out.Items, p.Items...)
		if len(out.Items) >= n {
			out.Items = out.Items[:n]
			return out, nil
		}
		if resp.NextPage == 0 {
			return out, nil
		}
	}
}

// ListKeyset lists path (e.g. "projects") with keyset pagination ordered by
// id, calling fn for each page as it arrives. Keyset pages are chained, so
// they are fetched one after another; fn runs while the next page loads.
func (c *Client) ListKeyset(ctx context.Context, path string, params url.Values, fn func(Page) error) error {
	q := CloneValues(params)
	q.Set("pagination", "keyset")
	q.Set("order_by", "id")
	q.Set("sort", "asc")
	q.Set("per_page", "100")
	return c.chain(ctx, path, q, fn)
}

// ListKeysetRaw follows keyset pagination (Link rel="next") on listings
// that are not ordered by id, such as the repository tree.
func (c *Client) ListKeysetRaw(ctx context.Context, path string, params url.Values, fn func(Page) error) error {
	q := CloneValues(params)
	q.Set("pagination", "keyset")
	q.Set("per_page", "100")
	return c.chain(ctx, path, q, fn)
}

// WalkKeyset follows keyset pagination in GitLab's default order for path
// one page at a time, without fetching ahead, while fn asks for more: for
// listings read only up to a point (a project's newest jobs), where a
// page fetched ahead would be a wasted request.
func (c *Client) WalkKeyset(ctx context.Context, path string, params url.Values, fn func(Page) (more bool, err error)) error {
	q := CloneValues(params)
	q.Set("pagination", "keyset")
	if q.Get("per_page") == "" {
		q.Set("per_page", "100")
	}
	for {
		p, resp, err := c.get(ctx, path, q)
		if err != nil {
			return err
		}
		more, err := fn(p)
		if err != nil || !more || resp.NextLink == "" {
			return err
		}
		u, err := url.Parse(resp.NextLink)
		if err != nil {
			return fmt.Errorf("token %s: GET /%s: bad Link header: %w", c.Masked, path, err)
		}
		q = u.Query()
	}
}

type shiftKey struct{}

// WithShiftWatch returns a context in which an offset listing whose pages
// are read concurrently reports, in the flag, that the collection changed
// size meanwhile (X-Total differed between pages): an item may have slid
// from a page not yet read into one already read and been missed, so the
// listing must not be taken as complete (no stale deletion from it).
func WithShiftWatch(ctx context.Context) (context.Context, *atomic.Bool) {
	f := &atomic.Bool{}
	return context.WithValue(ctx, shiftKey{}, f), f
}

// WalkOffset lists path with offset pagination, 100 a page, one page at
// a time while fn asks for more, in the order params ask GitLab for, its
// own default when they ask none: its requests are those of a client
// that sends only per_page and page (Ocean's), and its pages reach fn in
// GitLab's order, the order Ocean's objects come in (ListOffset's arrive
// as they are read). fn learns the page count GitLab announced with the first
// page (X-Total-Pages), 0 when it did not count (over 10,000 items). A
// change of X-Total between pages is reported as WithShiftWatch says.
func (c *Client) WalkOffset(ctx context.Context, path string, params url.Values, fn func(p Page, totalPages int64) (more bool, err error)) error {
	q := CloneValues(params)
	q.Set("per_page", "100")
	shifted, _ := ctx.Value(shiftKey{}).(*atomic.Bool)
	total, items := int64(-1), int64(0)
	for page := int64(1); ; {
		q.Set("page", strconv.FormatInt(page, 10))
		p, resp, err := c.get(ctx, path, q)
		if err != nil {
			return err
		}
		if total < 0 {
			total, items = resp.TotalPages, resp.TotalItems
		} else if shifted != nil && resp.TotalItems != items {
			// Items came or went between pages: one may have slid
			// from an unread page into a read one (see WithShiftWatch).
			shifted.Store(true)
		}
		more, err := fn(p, total)
		if err != nil || !more || resp.NextPage <= page {
			return err
		}
		page = resp.NextPage
	}
}

// IsGitLabCom reports whether the client talks to GitLab.com, where
// instance settings only self-managed GitLab offers (such as the external
// authorization service) are never on.
func (c *Client) IsGitLabCom() bool {
	return strings.EqualFold(c.API.BaseURL().Hostname(), "gitlab.com")
}

// ListOffset lists path with offset pagination, 100 per page. When GitLab
// reports the number of pages (up to 10,000 items) the remaining pages are
// fetched concurrently; above, where GitLab stops counting, pages are
// read concurrently as far as they are known to exist and a little beyond
// (see offsetUncounted). Pages reach fn as they arrive, not in page
// order: a caller that needs GitLab's order reads with WalkOffset.
//
// It sends the order params ask for and adds none. It used to add
// order_by=id&sort=asc, so that objects created while the pages are read
// land on the last page; but most listings do not take that value, and
// Grape refuses a value outside an order_by's or sort's declared values
// with 400 (tags take name|updated|version, issues and merge requests no
// id, branches' sort takes name_asc|updated_asc|updated_desc), and the
// listings that declare no order ignore it. A caller that wants the
// append-only order asks for it where the listing declares it (groups,
// projects).
func (c *Client) ListOffset(ctx context.Context, path string, params url.Values, fn func(Page) error) error {
	q := CloneValues(params)
	q.Set("per_page", "100")
	q.Set("page", "1")
	first, resp, err := c.get(ctx, path, q)
	if err != nil {
		return err
	}
	if err := fn(first); err != nil {
		return err
	}
	if resp.NextPage == 0 {
		return nil
	}
	if resp.TotalPages == 0 {
		return c.offsetUncounted(ctx, path, q, resp.NextPage, fn)
	}
	shifted, _ := ctx.Value(shiftKey{}).(*atomic.Bool)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	h := newHandover(ctx, c.InFlightLimit)
	var (
		next     atomic.Int64 // the highest page a worker took
		failOnce sync.Once
		firstErr error
	)
	next.Store(1)
	fail := func(err error) {
		failOnce.Do(func() { firstErr = err })
		cancel()
	}
	var wg sync.WaitGroup
	for range max(1, c.InFlightLimit()) {
		wg.Go(func() {
			for {
				if h.admit() != nil {
					return
				}
				p := next.Add(1)
				if p > resp.TotalPages {
					h.release()
					return
				}
				items, presp, err := c.get(ctx, path, withPage(q, p))
				if err != nil {
					h.release()
					fail(err)
					return
				}
				if shifted != nil && presp.TotalItems != resp.TotalItems {
					// Items came or went while pages were read out of order:
					// one may have slid from an unread page into a read one.
					shifted.Store(true)
				}
				if err := h.deliver(func() error { return fn(items) }); err != nil {
					fail(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// chain follows keyset pagination's next links one by one, prefetching
// the next page while fn handles the current one.
func (c *Client) chain(ctx context.Context, path string, q url.Values, fn func(Page) error) error {
	type result struct {
		items Page
		next  url.Values
		err   error
	}
	fetch := func(q url.Values) <-chan result {
		ch := make(chan result, 1)
		go func() {
			items, resp, err := c.get(ctx, path, q)
			r := result{items: items, err: err}
			if err == nil && resp.NextLink != "" {
				if u, perr := url.Parse(resp.NextLink); perr == nil {
					r.next = u.Query()
				}
			}
			ch <- r
		}()
		return ch
	}
	pending := fetch(q)
	for pending != nil {
		r := <-pending
		if r.err != nil {
			return r.err
		}
		pending = nil
		if r.next != nil {
			pending = fetch(r.next)
		}
		if err := fn(r.items); err != nil {
			if pending != nil {
				<-pending
			}
			return err
		}
	}
	return nil
}

func (c *Client) get(ctx context.Context, path string, q url.Values) (Page, *gogitlab.Response, error) {
	start := time.Now()
	req, err := c.API.NewRequest(http.MethodGet, path, nil, []gogitlab.RequestOptionFunc{
		gogitlab.WithContext(ctx),
		func(r *retryablehttp.Request) error { r.URL.RawQuery = q.Encode(); return nil },
	})
	if err != nil {
		return Page{}, nil, err
	}
	// The answer is taken whole and decoded in place: the transport has
	// read it into memory already, and a json.Decoder on top would hold a
	// second, growing copy of each page while decoding it (at eight pages
	// in flight per listing, more than the decoded pages themselves).
	var body bytes.Buffer
	resp, err := c.API.Do(req, &body)
	if err != nil {
		return Page{}, resp, c.wrap("GET /"+path, resp, err)
	}
	var items []map[string]any
	var dst any = &items
	if keep, ok := ctx.Value(fieldsKey{}).(map[string]bool); ok {
		dst = &projection{keep: keep, items: &items}
	}
	if err := json.Unmarshal(body.Bytes(), dst); err != nil {
		return Page{}, resp, c.wrap("GET /"+path, resp, fmt.Errorf("decoding the answer: %w", err))
	}
	return Page{Items: items, RequestedAt: start}, resp, nil
}

func withPage(q url.Values, page int64) url.Values {
	out := CloneValues(q)
	out.Set("page", strconv.FormatInt(page, 10))
	return out
}

// CloneValues copies query parameters: listings add their own (page,
// per_page, cursors) and must never write to a caller's shared map.
func CloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// PathEscape encodes a group or project full path for use as :id.
func PathEscape(fullPath string) string { return url.PathEscape(fullPath) }
