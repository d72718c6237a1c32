// Package adminapi is the contract of glsyncd's admin API for token
// mappings, hook secrets and requested resyncs: the request and response
// shapes, their validation (the spec's rules, shared with the daemon's
// config), and a client the Terraform provider and glsyncd resync
// --remote use. Tokens go in, never out: responses carry a masked token
// and its SHA-256.
package adminapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/hookspec"
	"github.com/glsync/terraform-provider-glsync/shared/origin"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

// TokenMappingInput is the body of PUT /admin/token-mappings/{name}.
type TokenMappingInput struct {
	Token    string   `json:"token"`
	Patterns []string `json:"patterns"`
	// GroupHooksOverride maps a group full path to its hook's events
	// ([] for all), the spec's tokenGroupHooksOverrideMapping for this token.
	GroupHooksOverride map[string][]string `json:"group_hooks_override,omitempty"`
}

// TokenMapping is what the API returns for a mapping.
type TokenMapping struct {
	Name               string              `json:"name"`
	TokenMasked        string              `json:"token_masked"`
	TokenSHA256        string              `json:"token_sha256"`
	Patterns           []string            `json:"patterns"`
	GroupHooksOverride map[string][]string `json:"group_hooks_override,omitempty"`
	// ResyncID, in the answer to a PUT or DELETE, is the resync that
	// brings the catalog in line with the change (follow it with
	// Client.Resync or WaitResync); empty when none could be asked for.
	ResyncID string `json:"resync_id,omitempty"`
}

// TokenHash is the SHA-256 (hex) the API reports instead of a token.
func TokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// ValidationError is one broken rule, with the field it concerns.
type ValidationError struct {
	Field string `json:"field"`
	Rule  string `json:"rule"`
}

func (v ValidationError) Error() string { return v.Field + ": " + v.Rule }

// Validate checks a mapping with the rules the daemon's config uses: a
// name, a token, at least one valid glob, and an override whose events
// are supported and whose groups are neither duplicated nor nested. It
// returns every broken rule.
func (in TokenMappingInput) Validate(name string) []ValidationError {
	var out []ValidationError
	if strings.TrimSpace(name) == "" || strings.ContainsAny(name, "/ ") {
		out = append(out, ValidationError{"name", "must be non-empty, without spaces or slashes"})
	}
	if strings.TrimSpace(in.Token) == "" {
		out = append(out, ValidationError{"token", "must not be empty"})
	}
	if len(in.Patterns) == 0 {
		out = append(out, ValidationError{"patterns", "the pattern list is empty; give at least one glob, for example \"**\""})
	}
	for i, p := range in.Patterns {
		if err := (tokenmap.Mapping{{Token: "x", Patterns: []string{p}}}).Validate("patterns"); err != nil {
			var te *tokenmap.Error
			if errors.As(err, &te) {
				out = append(out, ValidationError{fmt.Sprintf("patterns[%d]", i), fmt.Sprintf("%q: %s", p, te.Rule)})
			}
		}
	}
	out = append(out, ValidateOverride(in.GroupHooksOverride)...)
	return out
}

// ValidateOverride checks group_hooks_override: supported events, no group
// twice, no group inside another.
func ValidateOverride(groups map[string][]string) []ValidationError {
	var out []ValidationError
	paths := make([]string, 0, len(groups))
	for p := range groups {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	seen := map[string]string{}
	for _, p := range paths {
		for _, ev := range groups[p] {
			if !hookspec.IsGroupEvent(ev) {
				out = append(out, ValidationError{"group_hooks_override[" + p + "]",
					hookspec.UnknownEventError(ev, false)})
			}
		}
		clean := strings.Trim(p, "/")
		if clean == "" {
			out = append(out, ValidationError{"group_hooks_override", "a group full path must not be empty"})
			continue
		}
		if other, dup := seen[clean]; dup {
			out = append(out, ValidationError{"group_hooks_override[" + p + "]", fmt.Sprintf("group is listed twice (also as %q)", other)})
		}
		seen[clean] = p
	}
	cleaned := make([]string, 0, len(seen))
	for c := range seen {
		cleaned = append(cleaned, c)
	}
	sort.Strings(cleaned)
	for i := range cleaned {
		for j := i + 1; j < len(cleaned); j++ {
			if strings.HasPrefix(cleaned[j], cleaned[i]+"/") {
				out = append(out, ValidationError{"group_hooks_override[" + seen[cleaned[j]] + "]",
					fmt.Sprintf("groups %q and %q are hierarchical (one contains the other); list only non-nested groups", cleaned[i], cleaned[j])})
			}
		}
	}
	return out
}

// Entry turns the input into a tokenMapping entry and its override.
func (in TokenMappingInput) Entry() (tokenmap.Entry, hookspec.TokenGroupHooks) {
	th := hookspec.TokenGroupHooks{Token: in.Token}
	paths := make([]string, 0, len(in.GroupHooksOverride))
	for p := range in.GroupHooksOverride {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		th.Groups = append(th.Groups, hookspec.GroupHook{FullPath: p, Events: in.GroupHooksOverride[p]})
	}
	return tokenmap.Entry{Token: in.Token, Patterns: in.Patterns}, th
}

// Describe returns the API view of a stored mapping.
func Describe(name string, in TokenMappingInput) TokenMapping {
	return TokenMapping{Name: name, TokenMasked: tokenmap.Mask(in.Token), TokenSHA256: TokenHash(in.Token),
		Patterns: in.Patterns, GroupHooksOverride: in.GroupHooksOverride}
}

// HookSecretInput is the body of PUT /admin/hook-secrets/{scope}.
type HookSecretInput struct {
	HookID int64  `json:"hook_id"`
	URL    string `json:"url"`
	Secret string `json:"secret"`
}

// HookSecretInfo is what GET /admin/hook-secrets/{scope} returns: whether
// a secret is held, never the secret.
type HookSecretInfo struct {
	Scope  string `json:"scope"`
	HookID int64  `json:"hook_id"`
	URL    string `json:"url"`
}

// Client calls a daemon's admin API.
type Client struct {
	BaseURL string
	Token   string
	HTTP    *http.Client
}

// NewClient returns a client for the admin API at baseURL. The admin
// token is only sent to baseURL's origin: net/http would keep
// Authorization on a redirect to another port or scheme of the same host
// (https to http, in clear text) or to a subdomain, so such a redirect
// is refused with an error naming both URLs and daemon_url.
func NewClient(baseURL, token string) *Client {
	return NewClientFor(baseURL, token, "daemon_url")
}

// NewClientFor is NewClient for a base URL given by setting (named in
// errors, e.g. --remote).
func NewClientFor(baseURL, token, setting string) *Client {
	baseURL = strings.TrimRight(baseURL, "/")
	hc := &http.Client{Timeout: 30 * time.Second}
	if base, err := url.Parse(baseURL); err == nil {
		// An unparsable URL fails at the first request, naming it.
		hc = origin.Bind(hc, base, "glsyncd's admin API", setting)
	}
	return &Client{BaseURL: baseURL, Token: token, HTTP: hc}
}

// Error is a non-success answer of the admin API.
type Error struct {
	Status int
	Msg    string
	Fields []ValidationError
}

func (e *Error) Error() string {
	if len(e.Fields) > 0 {
		var parts []string
		for _, f := range e.Fields {
			parts = append(parts, f.Error())
		}
		return fmt.Sprintf("glsyncd admin API: %d: %s", e.Status, strings.Join(parts, "; "))
	}
	return fmt.Sprintf("glsyncd admin API: %d: %s", e.Status, e.Msg)
}

// ErrNotFound is returned for a 404.
var ErrNotFound = errors.New("not found")

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return fmt.Errorf("glsyncd admin API: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("glsyncd admin API: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return ErrNotFound
	case resp.StatusCode >= 300:
		var e struct {
			Error  string            `json:"error"`
			Fields []ValidationError `json:"fields"`
		}
		_ = json.Unmarshal(b, &e)
		return &Error{Status: resp.StatusCode, Msg: e.Error, Fields: e.Fields}
	}
	if out != nil && len(b) > 0 {
		return json.Unmarshal(b, out)
	}
	return nil
}

// PutTokenMapping creates or replaces a mapping.
func (c *Client) PutTokenMapping(ctx context.Context, name string, in TokenMappingInput) (TokenMapping, error) {
	var out TokenMapping
	err := c.do(ctx, http.MethodPut, "/admin/token-mappings/"+url.PathEscape(name), in, &out)
	return out, err
}

// GetTokenMapping reads a mapping; ErrNotFound when there is none.
func (c *Client) GetTokenMapping(ctx context.Context, name string) (TokenMapping, error) {
	var out TokenMapping
	err := c.do(ctx, http.MethodGet, "/admin/token-mappings/"+url.PathEscape(name), nil, &out)
	return out, err
}

// DeleteTokenMapping removes a mapping; a missing one is not an error
// (the answer is then empty). The answer's ResyncID is the resync that
// removes what only this mapping's token selected.
func (c *Client) DeleteTokenMapping(ctx context.Context, name string) (TokenMapping, error) {
	var out TokenMapping
	err := c.do(ctx, http.MethodDelete, "/admin/token-mappings/"+url.PathEscape(name), nil, &out)
	if errors.Is(err, ErrNotFound) {
		return TokenMapping{}, nil
	}
	return out, err
}

// Secrets is a catalog.Secrets kept in a remote daemon, so hooks the
// provider creates have secrets the daemon can check deliveries against.
type Secrets struct{ C *Client }

var _ catalog.Secrets = Secrets{}

// PutHookSecret stores a hook's secret in the daemon.
func (s Secrets) PutHookSecret(ctx context.Context, h catalog.HookSecret) error {
	return s.C.do(ctx, http.MethodPut, "/admin/hook-secrets/"+url.PathEscape(h.Scope), HookSecretInput{HookID: h.HookID, URL: h.URL, Secret: h.Secret}, nil)
}

// HookSecret reports whether the daemon holds a secret for scope (the
// secret itself never leaves the daemon).
func (s Secrets) HookSecret(ctx context.Context, scope string) (catalog.HookSecret, bool, error) {
	var info HookSecretInfo
	err := s.C.do(ctx, http.MethodGet, "/admin/hook-secrets/"+url.PathEscape(scope), nil, &info)
	if errors.Is(err, ErrNotFound) {
		return catalog.HookSecret{Scope: scope}, false, nil
	}
	if err != nil {
		return catalog.HookSecret{}, false, err
	}
	return catalog.HookSecret{Scope: scope, HookID: info.HookID, URL: info.URL}, true, nil
}

// DeleteHookSecret forgets a secret in the daemon.
func (s Secrets) DeleteHookSecret(ctx context.Context, scope string) error {
	err := s.C.do(ctx, http.MethodDelete, "/admin/hook-secrets/"+url.PathEscape(scope), nil, nil)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// The states of a requested resync (ResyncRequest.State).
const (
	// ResyncQueued: accepted, waiting for the leader (or running on a
	// replica other than the one asked).
	ResyncQueued = "queued"
	// ResyncRunning: the replica asked is running it.
	ResyncRunning = "running"
	// ResyncDone: finished; Result says how.
	ResyncDone = "done"
)

// ResyncRequest is what POST /resync (202) and GET /resync/{id} return:
// the request's id, where it stands, and once done its result.
type ResyncRequest struct {
	ID     string `json:"id"`
	State  string `json:"state"`
	Status string `json:"status,omitempty"`
	// Leader is the replica that runs resyncs.
	Leader string        `json:"leader,omitempty"`
	Result *ResyncResult `json:"result,omitempty"`
}

// ResyncResult is how a requested resync ended (the daemon's resync
// record, as GET /status shows the last one).
type ResyncResult struct {
	Run int64 `json:"run"`
	// OK is true when every kind completed (files skipped for file errors
	// allowed); Outcome is "ok", "completed with file errors" or "failed".
	OK              bool                      `json:"ok"`
	Outcome         string                    `json:"outcome"`
	Replica         string                    `json:"replica"`
	Error           string                    `json:"error,omitempty"`
	FailedKinds     []string                  `json:"failed_kinds,omitempty"`
	Kinds           map[string]map[string]int `json:"kinds"`
	FileErrorsTotal int                       `json:"file_errors_total,omitempty"`
	DurationSeconds float64                   `json:"duration_seconds"`
	Requests        int64                     `json:"requests"`
	FinishedAt      time.Time                 `json:"finished_at"`
}

// StartResync asks the daemon for a resync (full: every project read,
// even with incremental resyncs on) and returns its request. A resync
// already running or queued is an *Error with status 409.
func (c *Client) StartResync(ctx context.Context, full bool) (ResyncRequest, error) {
	path := "/resync"
	if full {
		path += "?full=true"
	}
	var out ResyncRequest
	err := c.do(ctx, http.MethodPost, path, nil, &out)
	if err == nil && out.ID == "" {
		return out, errors.New("glsyncd admin API: POST /resync returned no request id: the daemon is older than this client and cannot report on the resync")
	}
	return out, err
}

// Resync reads where the resync requested as id stands; ErrNotFound
// when the daemon does not know the id.
func (c *Client) Resync(ctx context.Context, id string) (ResyncRequest, error) {
	var out ResyncRequest
	err := c.do(ctx, http.MethodGet, "/resync/"+url.PathEscape(id), nil, &out)
	return out, err
}

// WaitResync polls the resync requested as id every interval until it is
// done (or ctx ends) and returns it.
func (c *Client) WaitResync(ctx context.Context, id string, every time.Duration) (ResyncRequest, error) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		r, err := c.Resync(ctx, id)
		if err != nil || r.State == ResyncDone {
			return r, err
		}
		select {
		case <-ctx.Done():
			return r, fmt.Errorf("waiting for resync %s (%s): %w", id, r.State, ctx.Err())
		case <-t.C:
		}
	}
}
