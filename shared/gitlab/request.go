// Single requests: JSON calls, raw reads with a size limit, the token's user,
// and the error every failed request is wrapped in.

package gitlab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	gogitlab "gitlab.com/gitlab-org/api/client-go"

	"github.com/glsync/terraform-provider-glsync/shared/origin"
	retryablehttp "github.com/hashicorp/go-retryablehttp"
)

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
