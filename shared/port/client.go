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
	"slices"
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

// accessToken returns a cached token, refreshed a minute before expiry.
func (c *Client) accessToken(ctx context.Context, force bool) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !force && c.token != "" && time.Now().Before(c.expires.Add(-time.Minute)) {
		return c.token, nil
	}
	body, _ := json.Marshal(map[string]string{"clientId": c.opts.ClientID, "clientSecret": c.opts.ClientSecret})
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, c.opts.BaseURL+"/v1/auth/access_token", body)
	if err != nil {
		return "", fmt.Errorf("port: auth: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	c.Stats.Requests.Add(1)
	c.Stats.count("POST /v1/auth/access_token")
	resp, err := c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("port: auth: %w", scrub(err))
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return "", &APIError{Op: "auth (check portClientId and portClientSecret)", Status: resp.StatusCode, Message: message(b)}
	}
	var tok struct {
		AccessToken string `json:"accessToken"`
		ExpiresIn   int    `json:"expiresIn"`
		TokenType   string `json:"tokenType"`
	}
	if err := json.Unmarshal(b, &tok); err != nil || tok.AccessToken == "" {
		return "", errors.New("port: auth: the answer has no access token")
	}
	c.token = tok.AccessToken
	c.expires = time.Now().Add(time.Duration(tok.ExpiresIn) * time.Second)
	return c.token, nil
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

// Entity is an entity as Port's API takes it.
type Entity struct {
	Identifier string         `json:"identifier"`
	Title      string         `json:"title,omitempty"`
	Icon       string         `json:"icon,omitempty"`
	Team       any            `json:"team,omitempty"`
	Properties map[string]any `json:"properties"`
	Relations  map[string]any `json:"relations"`
	Blueprint  string         `json:"blueprint,omitempty"`
}

// UpsertOptions are the query options of entity writes.
type UpsertOptions struct {
	CreateMissingRelatedEntities bool
	// Replace writes the entity whole instead of merging it into the one
	// in Port (the mapping's enableMergeEntity: false).
	Replace bool
}

func (o UpsertOptions) query() url.Values {
	q := url.Values{}
	q.Set("upsert", "true")
	q.Set("merge", fmt.Sprint(!o.Replace))
	q.Set("create_missing_related_entities", fmt.Sprint(o.CreateMissingRelatedEntities))
	return q
}

// Upsert writes one entity.
func (c *Client) Upsert(ctx context.Context, blueprint string, e Entity, o UpsertOptions) error {
	_, err := c.do(ctx, http.MethodPost, "POST /v1/blueprints/:b/entities", "/v1/blueprints/"+url.PathEscape(blueprint)+"/entities", o.query(), e, nil)
	return err
}

// UpsertSearch writes one entity whose identifier is a search query
// (Port's "map by property"): Port runs the query on blueprint, updates
// the one entity it finds and answers with it; it creates nothing and
// refuses the write when the query finds none or several. It returns the
// identifier of the entity Port updated.
func (c *Client) UpsertSearch(ctx context.Context, blueprint string, e Entity, query map[string]any, o UpsertOptions) (string, error) {
	body := map[string]any{"identifier": query, "properties": e.Properties, "relations": e.Relations}
	if e.Title != "" {
		body["title"] = e.Title
	}
	if e.Icon != "" {
		body["icon"] = e.Icon
	}
	if e.Team != nil {
		body["team"] = e.Team
	}
	var out struct {
		Entity struct {
			Identifier string `json:"identifier"`
		} `json:"entity"`
	}
	if _, err := c.do(ctx, http.MethodPost, "POST /v1/blueprints/:b/entities", "/v1/blueprints/"+url.PathEscape(blueprint)+"/entities", o.query(), body, &out); err != nil {
		return "", err
	}
	return out.Entity.Identifier, nil
}

// EntityError is one entity a bulk write refused.
type EntityError struct {
	Identifier string
	Status     int
	Message    string
}

func (e EntityError) Error() string {
	return fmt.Sprintf("entity %s: %d %s", e.Identifier, e.Status, e.Message)
}

// BulkUpsert writes entities of one blueprint in as few requests as Port
// allows (20 entities, 1 MiB each), up to Concurrency requests at a time.
// Entities Port refuses (the 207's per-entity errors) are returned, not
// failed: the rest is written.
func (c *Client) BulkUpsert(ctx context.Context, blueprint string, ents []Entity, o UpsertOptions) ([]EntityError, error) {
	var batches [][]Entity
	for len(ents) > 0 {
		n, size := 0, 20
		for n < len(ents) && n < MaxBulkEntities {
			b, _ := json.Marshal(ents[n])
			if size+len(b)+1 > MaxBulkBytes && n > 0 {
				break
			}
			size += len(b) + 1
			n++
		}
		batches = append(batches, ents[:n])
		ents = ents[n:]
	}
	var mu sync.Mutex
	var refused []EntityError
	var errs []error
	sem := make(chan struct{}, c.opts.Concurrency)
	var wg sync.WaitGroup
	for _, batch := range batches {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			var out struct {
				Errors []struct {
					Identifier string `json:"identifier"`
					StatusCode int    `json:"statusCode"`
					Message    string `json:"message"`
				} `json:"errors"`
			}
			_, err := c.do(ctx, http.MethodPost, "POST /v1/blueprints/:b/entities/bulk", "/v1/blueprints/"+url.PathEscape(blueprint)+"/entities/bulk",
				o.query(), map[string]any{"entities": batch}, &out)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			for _, e := range out.Errors {
				refused = append(refused, EntityError{Identifier: e.Identifier, Status: e.StatusCode, Message: e.Message})
			}
		}()
	}
	wg.Wait()
	return refused, errors.Join(errs...)
}

// Delete removes one entity; one already gone is not an error.
func (c *Client) Delete(ctx context.Context, blueprint, identifier string, deleteDependents bool) error {
	q := url.Values{}
	q.Set("delete_dependents", fmt.Sprint(deleteDependents))
	status, err := c.do(ctx, http.MethodDelete, "DELETE /v1/blueprints/:b/entities/:id",
		"/v1/blueprints/"+url.PathEscape(blueprint)+"/entities/"+url.PathEscape(identifier), q, nil, nil)
	if status == http.StatusNotFound {
		return nil
	}
	return err
}

// BulkDeleteMax is the most identifiers one bulk delete takes (Ocean's
// ENTITIES_BULK_DELETE_MAX_BATCH_SIZE).
const BulkDeleteMax = 100

// BulkDelete deletes entities of one blueprint as Ocean does since 0.45
// (port_ocean/clients/port/mixins/entities.py, bulk_delete_entities):
// POST /v1/blueprints/:b/bulk/entities/delete, BulkDeleteMax identifiers
// a request. It returns the identifiers Port reports deleted; one already
// gone is not reported and not an error.
func (c *Client) BulkDelete(ctx context.Context, blueprint string, ids []string, deleteDependents bool) ([]string, error) {
	q := url.Values{}
	q.Set("delete_dependents", fmt.Sprint(deleteDependents))
	var deleted []string
	for start := 0; start < len(ids); start += BulkDeleteMax {
		batch := ids[start:min(start+BulkDeleteMax, len(ids))]
		var out struct {
			Deleted []string `json:"deletedEntities"`
		}
		if _, err := c.do(ctx, http.MethodPost, "POST /v1/blueprints/:b/bulk/entities/delete",
			"/v1/blueprints/"+url.PathEscape(blueprint)+"/bulk/entities/delete", q, map[string]any{"entities": batch}, &out); err != nil {
			return deleted, err
		}
		deleted = append(deleted, out.Deleted...)
	}
	return deleted, nil
}

// OceanTypes are the integration types Ocean's GitLab integrations
// write under: v1's and v2's. Entities either wrote for this integration
// identifier count as this integration's.
var OceanTypes = []string{"gitlab", "gitlab-v2"}

// Owned returns the blueprint and identifier of every entity this
// integration identifier owns (see EachOwned), all at once: for an
// organisation of any size, use EachOwned.
func (c *Client) Owned(ctx context.Context, before time.Time) ([]Entity, error) {
	seen := map[string]bool{}
	var all []Entity
	err := c.EachOwned(ctx, before, func(page []Entity) error {
		for _, e := range page {
			if k := e.Blueprint + "\x00" + e.Identifier; !seen[k] {
				seen[k] = true
				all = append(all, e)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return all, nil
}

// EachOwned calls fn with each page (up to 5,000) of the entities this
// integration identifier owns, whichever Ocean GitLab integration (any
// version) or glsync wrote them, last written before "before" (zero: any
// time); only their blueprint and identifier are set. As Ocean does
// (port_ocean/clients/port/mixins/entities.py, search_entities), it lists
// POST /v1/blueprints/entities/datasource-entities by $datasource prefix
// "port-ocean/<type>/" and suffix "/<identifier>/exporter", which span
// versions. One page is held at a time, so reconciling 100,000 entities
// takes no more memory than 5,000. It stops at fn's first error.
func (c *Client) EachOwned(ctx context.Context, before time.Time, fn func(page []Entity) error) error {
	types := append([]string(nil), OceanTypes...)
	if !slices.Contains(types, c.opts.Type) {
		types = append(types, c.opts.Type)
	}
	for _, typ := range types {
		var from any
		for {
			body := map[string]any{"datasource_prefix": "port-ocean/" + typ + "/", "datasource_suffix": "/" + c.opts.Integration + "/exporter", "limit": 5000}
			if !before.IsZero() {
				body["before"] = before.UTC().Format(time.RFC3339Nano)
			}
			if from != nil {
				body["from"] = from
			}
			var out struct {
				Entities []Entity `json:"entities"`
				Next     any      `json:"next"`
			}
			if _, err := c.do(ctx, http.MethodPost, "POST /v1/blueprints/entities/datasource-entities", "/v1/blueprints/entities/datasource-entities", nil, body, &out); err != nil {
				return err
			}
			if len(out.Entities) > 0 {
				if err := fn(out.Entities); err != nil {
					return err
				}
			}
			if out.Next == nil || out.Next == "" || len(out.Entities) == 0 {
				break
			}
			from = out.Next
		}
	}
	return nil
}

// EnsureBlueprint creates a blueprint unless it exists; an existing one is
// never overwritten. created reports whether it was made.
func (c *Client) EnsureBlueprint(ctx context.Context, bp map[string]any) (created bool, err error) {
	id, _ := bp["identifier"].(string)
	status, err := c.do(ctx, http.MethodGet, "GET /v1/blueprints/:b", "/v1/blueprints/"+url.PathEscape(id), nil, nil, nil)
	if err == nil {
		return false, nil
	}
	if status != http.StatusNotFound {
		return false, err
	}
	if _, err := c.do(ctx, http.MethodPost, "POST /v1/blueprints", "/v1/blueprints", nil, bp, nil); err != nil {
		return false, err
	}
	return true, nil
}

// Integration is the integration record in Port.
type Integration struct {
	Identifier string         `json:"identifier"`
	Config     map[string]any `json:"config"`
}

// GetIntegration reads the integration record; found is false on 404.
func (c *Client) GetIntegration(ctx context.Context) (Integration, bool, error) {
	var out struct {
		Integration Integration `json:"integration"`
	}
	status, err := c.do(ctx, http.MethodGet, "GET /v1/integration/:id", "/v1/integration/"+url.PathEscape(c.opts.Integration), nil, nil, &out)
	if status == http.StatusNotFound {
		return Integration{}, false, nil
	}
	return out.Integration, err == nil, err
}

// RegisterIntegration creates the integration record, or updates its
// version, mapping (config) and actionsProcessingEnabled when it exists.
func (c *Client) RegisterIntegration(ctx context.Context, appConfig map[string]any) error {
	_, found, err := c.GetIntegration(ctx)
	if err != nil {
		return err
	}
	if !found {
		body := map[string]any{"installationId": c.opts.Integration, "installationAppType": c.opts.Type,
			"version": c.opts.Version, "config": appConfig, "changelogDestination": map[string]any{}, "actionsProcessingEnabled": c.opts.ActionsProcessing}
		_, err := c.do(ctx, http.MethodPost, "POST /v1/integration", "/v1/integration", nil, body, nil)
		return err
	}
	body := map[string]any{"installationAppType": c.opts.Type, "version": c.opts.Version, "actionsProcessingEnabled": c.opts.ActionsProcessing}
	if appConfig != nil {
		body["config"] = appConfig
	}
	_, err = c.do(ctx, http.MethodPatch, "PATCH /v1/integration/:id", "/v1/integration/"+url.PathEscape(c.opts.Integration), nil, body, nil)
	return err
}

// SendExamples sends raw objects of a kind for Port's mapping test UI.
func (c *Client) SendExamples(ctx context.Context, kind string, examples []map[string]any) error {
	_, err := c.do(ctx, http.MethodPost, "POST /v1/integration/:id/kinds/:kind/examples",
		"/v1/integration/"+url.PathEscape(c.opts.Integration)+"/kinds/"+url.PathEscape(kind)+"/examples", nil,
		map[string]any{"examples": examples}, nil)
	return err
}
