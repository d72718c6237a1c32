package gitlab_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/origin"
)

const redirectToken = "glpat-QXbeg-Ev9xtu5_5FsaAQ"

// recorder is a server on another origin that a redirect points to: it
// keeps everything it is sent (headers, URL, body) and answers like
// GitLab would, so a client that follows the redirect succeeds.
type recorder struct {
	mu   sync.Mutex
	seen []string // one dump per request
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", req.Method, req.URL)
	_ = req.Header.Write(&b)
	b.Write(body)
	r.mu.Lock()
	r.seen = append(r.seen, b.String())
	r.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"id":1,"username":"attacker"}`)
}

func (r *recorder) reset() {
	r.mu.Lock()
	r.seen = nil
	r.mu.Unlock()
}

func (r *recorder) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

// redirecting is a GitLab whose API answers every request with a
// redirect (code) to target plus the same path, after checking that the
// request carries the token, and counts the requests it gets.
func redirecting(t *testing.T, code int, target string) (*httptest.Server, *int) {
	t.Helper()
	var mu sync.Mutex
	n := 0
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		mu.Unlock()
		if !hasToken(r) {
			http.Error(w, `{"message":"401 Unauthorized"}`, http.StatusUnauthorized)
			return
		}
		http.Redirect(w, r, target+r.URL.Path, code)
	}))
	t.Cleanup(ts.Close)
	return ts, &n
}

func hasToken(r *http.Request) bool {
	return r.Header.Get("PRIVATE-TOKEN") == redirectToken || r.Header.Get("Authorization") == "Bearer "+redirectToken
}

// TestRedirectToAnotherHostNeverCarriesTheToken is a GitLab URL that
// redirects the API (301, 302, 307, 308; GET and a POST with a body) to
// another origin: another port of the same address (net/http keeps even
// Authorization for it) and another host name. The other origin must
// never be contacted, so it never sees PRIVATE-TOKEN, the OAuth bearer or
// the token anywhere; the client fails at once (no retry) with an error
// that names both URLs and gitlabHost, and neither the error nor the
// client's logs show the token.
func TestRedirectToAnotherHostNeverCarriesTheToken(t *testing.T) {
	evil := &recorder{}
	other := httptest.NewServer(evil)
	defer other.Close()
	port := other.URL[strings.LastIndex(other.URL, ":")+1:]
	targets := map[string]string{
		"another port":      other.URL,                  // http://127.0.0.1:<port>
		"another host name": "http://localhost:" + port, // the same listener, by name
	}
	for name, target := range targets {
		for _, oauth := range []bool{false, true} {
			for _, code := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
				for _, method := range []string{http.MethodGet, http.MethodPost} {
					t.Run(fmt.Sprintf("%s/oauth=%v/%d/%s", name, oauth, code, method), func(t *testing.T) {
						evil.reset()
						ts, hits := redirecting(t, code, target)
						var logs bytes.Buffer
						o := fastOpts()
						o.OAuth = oauth
						o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
						c, err := gitlab.New(ts.URL, redirectToken, o, nil)
						if err != nil {
							t.Fatal(err)
						}
						if method == http.MethodGet {
							_, err = c.CurrentUser(context.Background())
						} else {
							_, err = c.Do(context.Background(), http.MethodPost, "projects/1/hooks", map[string]string{"url": "https://glsync.example.com/hook"}, nil)
						}
						for _, r := range evil.requests() {
							if strings.Contains(r, redirectToken) {
								t.Fatalf("the other origin got the token:\n%s", r)
							}
						}
						if seen := evil.requests(); len(seen) != 0 {
							t.Fatalf("the other origin was sent %d request(s), the first:\n%s", len(seen), seen[0])
						}
						if err == nil {
							t.Fatal("the redirect to another origin was followed")
						}
						var re *origin.RedirectError
						if !errors.As(err, &re) {
							t.Fatalf("error %v is not an *origin.RedirectError", err)
						}
						msg := err.Error()
						path := "/api/v4/user"
						if method == http.MethodPost {
							path = "/api/v4/projects/1/hooks"
						}
						for _, want := range []string{ts.URL + path, target + path, "gitlabHost"} {
							if !strings.Contains(msg, want) {
								t.Errorf("error does not name %q: %s", want, msg)
							}
						}
						if strings.Contains(msg, redirectToken) || strings.Contains(logs.String(), redirectToken) {
							t.Fatalf("the token is shown:\nerror: %s\nlogs: %s", msg, logs.String())
						}
						if *hits != 1 {
							t.Fatalf("GitLab got %d requests, want 1 (a refused redirect is not retried)", *hits)
						}
					})
				}
			}
		}
	}
}

// TestRedirectWithinTheOriginIsFollowed is a GitLab that moves a route
// to another path of the same origin: the redirect is followed, with the
// token, in both authentication modes.
func TestRedirectWithinTheOriginIsFollowed(t *testing.T) {
	for _, oauth := range []bool{false, true} {
		for _, code := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
			t.Run(fmt.Sprintf("oauth=%v/%d", oauth, code), func(t *testing.T) {
				ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if !hasToken(r) {
						http.Error(w, `{"message":"401 Unauthorized"}`, http.StatusUnauthorized)
						return
					}
					switch r.URL.Path {
					case "/api/v4/user":
						http.Redirect(w, r, "/api/v4/users/current", code)
					case "/api/v4/users/current":
						w.Header().Set("Content-Type", "application/json")
						_, _ = io.WriteString(w, `{"id":7,"username":"glsync-bot"}`)
					default:
						http.NotFound(w, r)
					}
				}))
				defer ts.Close()
				o := fastOpts()
				o.OAuth = oauth
				c, err := gitlab.New(ts.URL, redirectToken, o, nil)
				if err != nil {
					t.Fatal(err)
				}
				u, err := c.CurrentUser(context.Background())
				if err != nil || u.Username != "glsync-bot" {
					t.Fatalf("user %+v, error %v", u, err)
				}
			})
		}
	}
}

// TestRedirectErrorNamesTheSettingGiven: a caller whose host comes from
// another setting (the provider's gitlab_host) gets that one named.
func TestRedirectErrorNamesTheSettingGiven(t *testing.T) {
	other := httptest.NewServer(&recorder{})
	defer other.Close()
	ts, _ := redirecting(t, http.StatusFound, other.URL)
	o := fastOpts()
	o.HostSetting = "gitlab_host"
	c, err := gitlab.New(ts.URL, redirectToken, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CurrentUser(context.Background()); err == nil || !strings.Contains(err.Error(), "set gitlab_host to") {
		t.Fatalf("error %v does not say to fix gitlab_host", err)
	}
}
