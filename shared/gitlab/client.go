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
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gogitlab "gitlab.com/gitlab-org/api/client-go"

	"github.com/glsync/terraform-provider-glsync/shared/origin"
	"github.com/glsync/terraform-provider-glsync/shared/redact"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
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

// redactHost is host as errors may show it: without user info.
func redactHost(host string) string { return redact.URL(strings.TrimRight(host, "/")) }

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

// IsGitLabCom reports whether the client talks to GitLab.com, where
// instance settings only self-managed GitLab offers (such as the external
// authorization service) are never on.
func (c *Client) IsGitLabCom() bool {
	return strings.EqualFold(c.API.BaseURL().Hostname(), "gitlab.com")
}

// PathEscape encodes a group or project full path for use as :id.
func PathEscape(fullPath string) string { return url.PathEscape(fullPath) }
