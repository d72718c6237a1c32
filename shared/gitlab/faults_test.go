package gitlab_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
)

// listProjects lists every project with keyset pagination, failing the
// test if a page comes back empty: GitLab never sends an empty page
// before the last one, so an empty page would be a fault read as data.
func listProjects(ctx context.Context, t *testing.T, c *gitlab.Client) (int, error) {
	t.Helper()
	n := 0
	err := c.ListKeyset(ctx, "projects", nil, func(p gitlab.Page) error {
		if len(p.Items) == 0 {
			t.Error("an empty page was handed over")
		}
		n += len(p.Items)
		return nil
	})
	return n, err
}

// TestNoRetries: MaxRetries NoRetries sends a request once whatever the
// failure (503, 429, a reset), while MaxRetries left at zero still means
// the default of 8 retries.
func TestNoRetries(t *testing.T) {
	cases := []struct {
		name   string
		faults func(org gitlabtest.Org) gitlabtest.Faults
	}{
		{"503", func(gitlabtest.Org) gitlabtest.Faults {
			return gitlabtest.Faults{FailRoutes: map[string]int{"GET /projects": 503}}
		}},
		{"429", func(org gitlabtest.Org) gitlabtest.Faults {
			return gitlabtest.Faults{TokenStorms: map[string]gitlabtest.Storm{org.AdminToken: {Rate: 1, RetryAfter: time.Second}}}
		}},
		{"reset", func(gitlabtest.Org) gitlabtest.Faults { return gitlabtest.Faults{ResetRate: 1} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, org, host := newSim(t, 10)
			s.SetFaults(tc.faults(org))
			o := fastOpts()
			o.MaxRetries = gitlab.NoRetries
			c, err := gitlab.New(host, org.AdminToken, o, nil)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			if _, err := listProjects(context.Background(), t, c); err == nil {
				t.Fatal("the listing succeeded under a permanent fault")
			}
			if _, total := s.Requests(); total != 1 {
				t.Fatalf("NoRetries sent %d requests, want exactly 1", total)
			}
			if r := c.Stats().Retries.Load(); r != 0 {
				t.Fatalf("NoRetries counted %d retries", r)
			}
			if d := time.Since(start); d > 500*time.Millisecond {
				t.Fatalf("one request took %v: something waited", d)
			}
		})
	}

	t.Run("default retries 503", func(t *testing.T) {
		s, org, host := newSim(t, 10)
		s.SetFaults(gitlabtest.Faults{FailRoutes: map[string]int{"GET /projects": 503}})
		c, _ := gitlab.New(host, org.AdminToken, fastOpts(), nil) // MaxRetries not set
		if _, err := listProjects(context.Background(), t, c); err == nil {
			t.Fatal("the listing succeeded under a permanent 503")
		}
		if _, total := s.Requests(); total != 1+gitlab.DefaultMaxRetries {
			t.Fatalf("default sent %d requests, want %d", total, 1+gitlab.DefaultMaxRetries)
		}
		if r := c.Stats().Retries.Load(); r != gitlab.DefaultMaxRetries {
			t.Fatalf("counted %d retries, want %d (only the retries that happened)", r, gitlab.DefaultMaxRetries)
		}
	})
	// The first request fails (a 429 with a one-second Retry-After, or a
	// reset), then GitLab answers: the default client gets through.
	for name, f := range map[string]func(org gitlabtest.Org) gitlabtest.Faults{
		"default retries 429": func(org gitlabtest.Org) gitlabtest.Faults {
			return gitlabtest.Faults{TokenStorms: map[string]gitlabtest.Storm{org.AdminToken: {Rate: 1, RetryAfter: time.Second}}}
		},
		"default retries reset": func(gitlabtest.Org) gitlabtest.Faults { return gitlabtest.Faults{ResetRate: 1} },
	} {
		t.Run(name, func(t *testing.T) {
			s, org, host := newSim(t, 10)
			s.SetFaults(f(org))
			go func() {
				for {
					if _, n := s.Requests(); n >= 1 {
						s.SetFaults(gitlabtest.Faults{})
						return
					}
					time.Sleep(time.Millisecond)
				}
			}()
			c, _ := gitlab.New(host, org.AdminToken, fastOpts(), nil) // MaxRetries not set
			n, err := listProjects(context.Background(), t, c)
			if err != nil || n != 10 {
				t.Fatalf("listed %d: %v", n, err)
			}
			// Every attempt after the first is a retry. (Clearing the
			// fault races the 1ms backoff, so there may be more than one.)
			st := c.Stats()
			if st.Retries.Load() < 1 || st.Requests.Load() != st.Retries.Load()+1 {
				t.Fatalf("attempts %d, retries %d; want a retry", st.Requests.Load(), st.Retries.Load())
			}
		})
	}
}

// TestLongRetryAfterFailsFast: a Retry-After longer than the client waits
// (20 minutes against the default 5) fails the token's requests at once
// with a RateLimitError naming the masked token; so does a wait past the
// context's deadline. Nothing sleeps.
func TestLongRetryAfterFailsFast(t *testing.T) {
	s, org, host := newSim(t, 10)
	s.SetFaults(gitlabtest.Faults{TokenStorms: map[string]gitlabtest.Storm{org.AdminToken: {Rate: 1, RetryAfter: 1200 * time.Second}}})
	c, _ := gitlab.New(host, org.AdminToken, fastOpts(), nil)
	other, _ := gitlab.New(host, org.RootTokens[0], fastOpts(), nil)
	start := time.Now()
	_, err := listProjects(context.Background(), t, c)
	var rl *gitlab.RateLimitError
	if !errors.As(err, &rl) || rl.Wait < 1190*time.Second || rl.Limit != gitlab.DefaultMaxWait {
		t.Fatalf("want a RateLimitError for a 20m wait, got %v", err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Fatalf("took %v to give up", d)
	}
	if strings.Contains(err.Error(), org.AdminToken) || !strings.Contains(err.Error(), "token "+c.Masked) || !strings.Contains(err.Error(), "20m0s") {
		t.Fatalf("error must name the masked token and the wait: %v", err)
	}
	if _, total := s.Requests(); total != 1 {
		t.Fatalf("%d requests, want 1", total)
	}
	// The token stays paused: its next request fails without reaching GitLab.
	if _, err := c.CurrentUser(context.Background()); !errors.As(err, &rl) {
		t.Fatalf("want the pause to hold, got %v", err)
	}
	if _, total := s.Requests(); total != 1 {
		t.Fatalf("a paused token reached GitLab: %d requests", total)
	}
	// Another token is not held.
	if n, err := listProjects(context.Background(), t, other); err != nil || n == 0 {
		t.Fatalf("the other token: %d, %v", n, err)
	}

	t.Run("past the deadline", func(t *testing.T) {
		s, org, host := newSim(t, 10)
		s.SetFaults(gitlabtest.Faults{TokenStorms: map[string]gitlabtest.Storm{org.AdminToken: {Rate: 1, RetryAfter: 30 * time.Second}}})
		c, _ := gitlab.New(host, org.AdminToken, fastOpts(), nil)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		start := time.Now()
		_, err := listProjects(ctx, t, c)
		var rl *gitlab.RateLimitError
		if !errors.As(err, &rl) || !rl.Deadline {
			t.Fatalf("want a RateLimitError past the deadline, got %v", err)
		}
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Fatalf("took %v to give up", d)
		}
	})
	t.Run("within the wait", func(t *testing.T) {
		s, org, host := newSim(t, 10)
		s.SetFaults(gitlabtest.Faults{TokenStorms: map[string]gitlabtest.Storm{org.AdminToken: {Rate: 1, RetryAfter: time.Second}}})
		go func() {
			for {
				if _, n := s.Requests(); n >= 1 {
					s.SetFaults(gitlabtest.Faults{})
					return
				}
				time.Sleep(time.Millisecond)
			}
		}()
		o := fastOpts()
		o.MaxWait = 2 * time.Second
		c, _ := gitlab.New(host, org.AdminToken, o, nil)
		start := time.Now()
		if n, err := listProjects(context.Background(), t, c); err != nil || n != 10 {
			t.Fatalf("listed %d: %v", n, err)
		}
		if d := time.Since(start); d < 900*time.Millisecond {
			t.Fatalf("finished in %v: Retry-After was not honoured", d)
		}
	})
}

// TestRequestTimeout: an answer that stalls mid-body longer than the
// request timeout fails that attempt and is retried; when every answer
// stalls, the listing fails within the retries' timeouts with an error
// naming the URL, instead of hanging.
func TestRequestTimeout(t *testing.T) {
	s, org, host := newSim(t, 330)
	o := fastOpts()
	o.RequestTimeout = 250 * time.Millisecond
	o.MaxRetries = 30
	s.SetFaults(gitlabtest.Faults{SlowRate: 0.3, SlowDelay: 2 * time.Second})
	c, _ := gitlab.New(host, org.AdminToken, o, nil)
	start := time.Now()
	if n, err := listProjects(context.Background(), t, c); err != nil || n != 330 {
		t.Fatalf("listed %d: %v", n, err)
	}
	if c.Stats().ByStatus()[0] == 0 || c.Stats().Retries.Load() == 0 {
		t.Fatalf("no attempt timed out: %v", c.Stats().ByStatus())
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %v", d)
	}

	s.SetFaults(gitlabtest.Faults{SlowRate: 1, SlowDelay: 5 * time.Second})
	o.MaxRetries = 2
	c, _ = gitlab.New(host, org.AdminToken, o, nil)
	start = time.Now()
	_, err := listProjects(context.Background(), t, c)
	if err == nil || !strings.Contains(err.Error(), "request timeout") || !strings.Contains(err.Error(), host) {
		t.Fatalf("want a timeout naming %s, got %v", host, err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("3 attempts of 250ms took %v", d)
	}

	// Latency before the headers is bounded the same way.
	s.SetFaults(gitlabtest.Faults{Latency: 5 * time.Second})
	c, _ = gitlab.New(host, org.AdminToken, o, nil)
	start = time.Now()
	if _, err := c.CurrentUser(context.Background()); err == nil || !strings.Contains(err.Error(), "request timeout") {
		t.Fatalf("want a timeout, got %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("took %v", d)
	}
}

// TestCutBodiesAreRetried: answers cut short (closed or reset mid-body,
// with a 200 and a Content-Length) are failed attempts that are retried,
// never short or empty pages; when every answer is cut, the listing fails.
func TestCutBodiesAreRetried(t *testing.T) {
	s, org, host := newSim(t, 330)
	s.SetFaults(gitlabtest.Faults{TruncateRate: 0.3, BodyResetRate: 0.2})
	o := fastOpts()
	o.MaxRetries = 30
	c, _ := gitlab.New(host, org.AdminToken, o, nil)
	if n, err := listProjects(context.Background(), t, c); err != nil || n != 330 {
		t.Fatalf("listed %d: %v", n, err)
	}
	if n := count(t, c, false, "projects", nil); n != 330 {
		t.Fatalf("offset listed %d", n)
	}
	if c.Stats().Retries.Load() == 0 {
		t.Fatal("no body was cut")
	}

	for _, f := range []gitlabtest.Faults{{TruncateRate: 1}, {BodyResetRate: 1}} {
		s.SetFaults(f)
		o.MaxRetries = 2
		c, _ := gitlab.New(host, org.AdminToken, o, nil)
		s.ResetRequests()
		n, err := listProjects(context.Background(), t, c)
		if err == nil || n != 0 {
			t.Fatalf("%+v: listed %d, err %v; want an error and nothing listed", f, n, err)
		}
		if _, total := s.Requests(); total != 3 {
			t.Fatalf("%+v: %d requests, want 1 + 2 retries", f, total)
		}
		if !strings.Contains(err.Error(), "reading the 200 answer") {
			t.Fatalf("%+v: unclear error %v", f, err)
		}
	}
}

// TestErrorNamesHost: an error answer names the instance it came from.
func TestErrorNamesHost(t *testing.T) {
	s, org, host := newSim(t, 1)
	s.SetFaults(gitlabtest.Faults{Down: true})
	o := fastOpts()
	o.MaxRetries = 1
	c, _ := gitlab.New(host, org.AdminToken, o, nil)
	_, err := c.CurrentUser(context.Background())
	var ae *gitlab.APIError
	if !errors.As(err, &ae) || ae.Status != 503 || !strings.Contains(err.Error(), host) {
		t.Fatalf("want a 503 naming %s, got %v", host, err)
	}
}

// TestUnusableSuccessSaysWhy: a 200 whose body is not the JSON asked for
// (a proxy's HTML page) is an error that says why, not "200 OK" alone,
// and never an empty page.
func TestUnusableSuccessSaysWhy(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html><body>Please sign in to the proxy</body></html>\n"))
	}))
	defer ts.Close()
	c, _ := gitlab.New(ts.URL, "glpat-aaaaaaaaaaaaaaaaaaaa", fastOpts(), nil)
	_, err := listProjects(context.Background(), t, c)
	var ae *gitlab.APIError
	if !errors.As(err, &ae) || ae.Status != 200 || !strings.Contains(err.Error(), "invalid character '<'") || !strings.Contains(err.Error(), ts.URL) {
		t.Fatalf("want a 200 error saying why and from where, got %v", err)
	}
}

// Retries show at INFO, at most one line per client in 10 s, counting
// them, with the request and the host; never the token.
func TestRetriesAreSummarisedAtInfo(t *testing.T) {
	sim := gitlabtest.New(gitlabtest.Options{Seed: 4})
	org := sim.Generate(gitlabtest.OrgSpec{Roots: 1, Projects: 5, Seed: 4})
	ts := sim.Start(t)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	c, err := gitlab.New(ts.URL, org.RootTokens[0], gitlab.Options{RetryBase: time.Millisecond, RetryMax: time.Millisecond, MaxRetries: 3, Logger: log}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sim.SetFaults(gitlabtest.Faults{FailRoutes: map[string]int{"GET /user": 503}})
	for i := 0; i < 3; i++ {
		_, _ = c.CurrentUser(context.Background())
	}
	out := logs.String()
	if n := strings.Count(out, "gitlab: retrying failed requests"); n != 1 {
		t.Fatalf("%d INFO lines about retries:\n%s", n, out)
	}
	if !strings.Contains(out, "last_request=\"GET /api/v4/user\"") || !strings.Contains(out, ts.URL) || strings.Contains(out, org.RootTokens[0]) {
		t.Fatalf("retry line:\n%s", out)
	}
}
