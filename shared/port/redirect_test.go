package port_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/origin"
	"github.com/glsync/terraform-provider-glsync/shared/port"
	"github.com/glsync/terraform-provider-glsync/shared/port/porttest"
)

// sink is a server on another origin that a redirect points to: it keeps
// everything it is sent and answers like Port, so a client that follows
// the redirect succeeds.
type sink struct {
	mu   sync.Mutex
	seen []string
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", r.Method, r.URL)
	_ = r.Header.Write(&b)
	b.Write(body)
	s.mu.Lock()
	s.seen = append(s.seen, b.String())
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"ok":true,"accessToken":"attacker-token","expiresIn":3600,"entity":{}}`)
}

func (s *sink) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen...)
}

// front serves Port (porttest) but answers the paths starting with
// prefix with a redirect (code) to target plus the same path and query.
func front(t *testing.T, p *porttest.Server, prefix string, code int, target string) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, prefix) {
			http.Redirect(w, r, target+r.URL.RequestURI(), code)
			return
		}
		p.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	return ts
}

// TestRedirectToAnotherHostNeverCarriesThePortToken is a Port URL that
// redirects (301, 302, 307, 308) to another origin, another port of the
// same address (net/http keeps Authorization for it) or another host
// name: first the token request, whose body holds the client secret,
// then the entity writes, which carry the access token. The other origin
// is never contacted; the write fails at once with an error naming both
// URLs and portBaseUrl, and showing neither secret.
func TestRedirectToAnotherHostNeverCarriesThePortToken(t *testing.T) {
	evil := &sink{}
	other := httptest.NewServer(evil)
	defer other.Close()
	portNum := other.URL[strings.LastIndex(other.URL, ":")+1:]
	targets := map[string]string{"another port": other.URL, "another host name": "http://localhost:" + portNum}
	routes := map[string]string{"token request": "/v1/auth/", "entity write": "/v1/blueprints/"}
	for tname, target := range targets {
		for rname, prefix := range routes {
			for _, code := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
				t.Run(fmt.Sprintf("%s/%s/%d", tname, rname, code), func(t *testing.T) {
					p := porttest.New(id, secret)
					p.AddBlueprint("service")
					ts := front(t, p, prefix, code, target)
					c, err := port.New(port.Options{BaseURL: ts.URL, ClientID: id, ClientSecret: secret,
						RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond})
					if err != nil {
						t.Fatal(err)
					}
					before := len(evil.requests())
					err = c.Upsert(context.Background(), "service", port.Entity{Identifier: "svc", Properties: map[string]any{}, Relations: map[string]any{}}, port.UpsertOptions{})
					seen := evil.requests()[before:]
					for _, r := range seen {
						if strings.Contains(r, secret) || strings.Contains(strings.ToLower(r), "authorization:") {
							t.Fatalf("the other origin got a credential:\n%s", r)
						}
					}
					if len(seen) != 0 {
						t.Fatalf("the other origin was sent %d request(s), the first:\n%s", len(seen), seen[0])
					}
					var re *origin.RedirectError
					if !errors.As(err, &re) {
						t.Fatalf("error %v is not an *origin.RedirectError", err)
					}
					msg := err.Error()
					path := "/v1/auth/access_token"
					if prefix == "/v1/blueprints/" {
						path = "/v1/blueprints/service/entities"
					}
					for _, want := range []string{ts.URL + path, target + path, "portBaseUrl"} {
						if !strings.Contains(msg, want) {
							t.Errorf("error does not name %q: %s", want, msg)
						}
					}
					if strings.Contains(msg, secret) || strings.Contains(msg, "Bearer") {
						t.Fatalf("the error shows a secret: %s", msg)
					}
					if c.Stats.Retries.Load() != 0 {
						t.Fatalf("%d retries of a refused redirect", c.Stats.Retries.Load())
					}
				})
			}
		}
	}
}

// TestPortRedirectWithinTheOriginIsFollowed: Port moving a route to
// another path of its own origin (307/308 keep the method and body) is
// followed, with the access token.
func TestPortRedirectWithinTheOriginIsFollowed(t *testing.T) {
	for _, code := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			p := porttest.New(id, secret)
			p.AddBlueprint("service")
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch {
				case strings.HasPrefix(r.URL.Path, "/v1/blueprints/"):
					http.Redirect(w, r, "/moved"+r.URL.RequestURI(), code)
				case strings.HasPrefix(r.URL.Path, "/moved/"):
					r.URL.Path = strings.TrimPrefix(r.URL.Path, "/moved")
					p.ServeHTTP(w, r)
				default:
					p.ServeHTTP(w, r)
				}
			}))
			defer ts.Close()
			c, err := port.New(port.Options{BaseURL: ts.URL, ClientID: id, ClientSecret: secret})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Upsert(context.Background(), "service", port.Entity{Identifier: "svc", Properties: map[string]any{}, Relations: map[string]any{}}, port.UpsertOptions{}); err != nil {
				t.Fatal(err)
			}
			if n := len(p.Entities()); n != 1 {
				t.Fatalf("%d entities stored, want 1", n)
			}
		})
	}
}
