// Package port is a client for Port's REST API, the catalog the
// integration glsync replaces writes to: client-credentials auth with a
// cached token refreshed before expiry (and once on a 401), entity upserts
// one by one or in bulk (at most 20 entities and 1 MiB per request, 207
// with per-entity results), deletes, search by datasource, blueprints,
// the integration record and raw data examples. Requests are retried with
// backoff on 429 and 5xx, honouring Retry-After. Neither the client secret
// nor the access token ever appears in an error.
package port

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	retryablehttp "github.com/hashicorp/go-retryablehttp"

	"github.com/glsync/terraform-provider-glsync/shared/origin"
	"github.com/glsync/terraform-provider-glsync/shared/redact"
)

// DefaultBaseURL is Port's API (EU region).
const DefaultBaseURL = "https://api.getport.io"

// MaxBulkEntities and MaxBulkBytes are Port's limits for the bulk route.
const (
	MaxBulkEntities = 20
	MaxBulkBytes    = 1 << 20
)

// Options configure a Client.
type Options struct {
	BaseURL      string
	ClientID     string
	ClientSecret string
	// Integration identifies this integration; with Type it forms the
	// User-Agent from which Port sets each entity's $datasource, which is
	// how a later resync finds the entities it owns.
	Integration, Type string
	// Version is reported to Port.
	Version string
	// ActionsProcessing is the integration's actionsProcessingEnabled in
	// Port, which Ocean sets from its actions processor setting: whether
	// this installation processes action runs.
	ActionsProcessing bool
	// MaxRetries bounds retries of one request (default 6).
	MaxRetries int
	// Concurrency bounds parallel bulk requests (default 8).
	Concurrency int
	// RetryWaitMin/Max bound the backoff (defaults 250ms and 10s).
	RetryWaitMin, RetryWaitMax time.Duration
	HTTPClient                 *http.Client
}

// Stats counts requests by route, for the benchmark and the summary.
type Stats struct {
	Requests atomic.Int64
	Retries  atomic.Int64
	mu       sync.Mutex
	byRoute  map[string]int64
}

// ByRoute returns the number of requests per route name.
func (s *Stats) ByRoute() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int64{}
	for k, v := range s.byRoute {
		out[k] = v
	}
	return out
}

func (s *Stats) count(route string) {
	s.mu.Lock()
	if s.byRoute == nil {
		s.byRoute = map[string]int64{}
	}
	s.byRoute[route]++
	s.mu.Unlock()
}

// Client talks to Port.
type Client struct {
	opts  Options
	http  *retryablehttp.Client
	Stats Stats

	mu      sync.Mutex
	token   string
	expires time.Time
}

// New returns a client. It does not contact Port until the first call.
//
// The client secret and the access token are only ever sent to BaseURL's
// origin (scheme, host and port): a redirect elsewhere is refused, not
// retried, with an *origin.RedirectError naming both URLs and
// portBaseUrl; one within the origin is followed.
func New(o Options) (*Client, error) {
	if o.BaseURL == "" {
		o.BaseURL = DefaultBaseURL
	}
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	if o.ClientID == "" || o.ClientSecret == "" {
		return nil, errors.New("port: a client id and a client secret are required")
	}
	if o.Type == "" {
		o.Type = "gitlab"
	}
	if o.Integration == "" {
		o.Integration = "gitlab"
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = 6
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	if o.RetryWaitMin == 0 {
		o.RetryWaitMin = 250 * time.Millisecond
	}
	if o.RetryWaitMax == 0 {
		o.RetryWaitMax = 10 * time.Second
	}
	base, err := url.Parse(o.BaseURL)
	if err != nil || base.Host == "" {
		return nil, fmt.Errorf("port: the base URL %s is not a URL like %s", redact.Value(o.BaseURL), DefaultBaseURL)
	}
	c := &Client{opts: o}
	rc := retryablehttp.NewClient()
	rc.Logger = nil
	rc.RetryMax = o.MaxRetries
	rc.RetryWaitMin, rc.RetryWaitMax = o.RetryWaitMin, o.RetryWaitMax
	if o.HTTPClient != nil {
		rc.HTTPClient = o.HTTPClient
	}
	// The access token (and, in the auth request's body, the client
	// secret) must only reach Port's origin: net/http keeps Authorization
	// on a redirect to another port or scheme of the same host or to a
	// subdomain, and re-sends a 307/308's body anywhere.
	rc.HTTPClient = origin.Bind(rc.HTTPClient, base, "Port", "portBaseUrl")
	// DefaultBackoff honours Retry-After on 429 and 503.
	rc.Backoff = retryablehttp.DefaultBackoff
	rc.CheckRetry = func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		if re := (*origin.RedirectError)(nil); errors.As(err, &re) {
			return false, nil // the same redirect again: a setting to fix, not a blip
		}
		if sendOnce(ctx) {
			return false, ctx.Err() // an action run's call: sent once, as Ocean does
		}
		retry, cerr := retryablehttp.DefaultRetryPolicy(ctx, resp, err)
		if cerr == nil && resp != nil && resp.StatusCode == http.StatusRequestTimeout {
			// Port's data ingestion answers 408 when it timed out; Ocean
			// retries it since core 0.48.4 (RetryConfig, #3720).
			retry = true
		}
		if retry {
			c.Stats.Retries.Add(1)
		}
		return retry, cerr
	}
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	c.http = rc
	return c, nil
}

// UserAgent is what Port derives the entities' $datasource from, in
// Ocean's form "port-ocean/<type>/<version>/<identifier>/exporter"
// (port_ocean/clients/port/authentication.py, user_agent).
func (c *Client) UserAgent() string {
	v := c.opts.Version
	if v == "" {
		v = "0.0.0"
	}
	return "port-ocean/" + c.opts.Type + "/" + v + "/" + c.opts.Integration + "/exporter"
}

// BaseURL returns Port's API address the client talks to.
func (c *Client) BaseURL() string { return c.opts.BaseURL }

// Integration returns the integration identifier.
func (c *Client) Integration() string { return c.opts.Integration }

// APIError is an answer Port gave that is not a success.
type APIError struct {
	Op      string
	Status  int
	Message string
}

func (e *APIError) Error() string {
	if e.Message != "" {
		return fmt.Sprintf("port: %s: %d %s", e.Op, e.Status, e.Message)
	}
	return fmt.Sprintf("port: %s: %d %s", e.Op, e.Status, http.StatusText(e.Status))
}

// scrub keeps URLs' paths but drops anything that could carry a secret.
func scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

func message(b []byte) string {
	var m struct {
		Message string `json:"message"`
		Error   string `json:"error"`
	}
	_ = json.Unmarshal(b, &m)
	if m.Message != "" {
		return m.Message
	}
	return m.Error
}

// do sends one request with the bearer token, retrying once with a fresh
// token on 401. route names the request in stats and errors.
func (c *Client) do(ctx context.Context, method, route, path string, q url.Values, in, out any) (int, error) {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return 0, err
		}
	}
	for attempt := 0; ; attempt++ {
		tok, err := c.accessToken(ctx, attempt > 0)
		if err != nil {
			return 0, err
		}
		u := c.opts.BaseURL + path
		if len(q) > 0 {
			u += "?" + q.Encode()
		}
		var rb any
		if body != nil {
			rb = body
		}
		req, err := retryablehttp.NewRequestWithContext(ctx, method, u, rb)
		if err != nil {
			return 0, fmt.Errorf("port: %s: %w", route, err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("User-Agent", c.UserAgent())
		for k, v := range extraHeaders(ctx) {
			req.Header.Set(k, v)
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		c.Stats.Requests.Add(1)
		c.Stats.count(route)
		resp, err := c.http.Do(req)
		if err != nil {
			return 0, fmt.Errorf("port: %s: %w", route, scrub(err))
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
		resp.Body.Close()
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 {
			continue // the token may have been revoked or expired early
		}
		if resp.StatusCode >= 300 && resp.StatusCode != http.StatusMultiStatus {
			return resp.StatusCode, &APIError{Op: route, Status: resp.StatusCode, Message: message(b)}
		}
		if out != nil && len(b) > 0 {
			if err := json.Unmarshal(b, out); err != nil {
				return resp.StatusCode, fmt.Errorf("port: %s: decoding the answer: %w", route, err)
			}
		}
		return resp.StatusCode, nil
	}
}
