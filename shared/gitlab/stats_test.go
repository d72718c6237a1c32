package gitlab_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
)

// TestStatsCountIntoTheirParentsLive: a client's Stats made with
// CountingInto add every attempt, retry, status and 429 to each parent as
// it happens (the daemon's per-token metrics during a resync), and a
// parent shared by two children adds both.
func TestStatsCountIntoTheirParentsLive(t *testing.T) {
	var calls atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id": 1}`))
	}))
	defer ts.Close()
	run, token := &gitlab.Stats{}, &gitlab.Stats{}
	own := gitlab.CountingInto(run, token, nil)
	c, err := gitlab.New(ts.URL, "glpat-0123456789abcdefghij", fastOpts(), own)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if _, err := c.Do(gitlab.WithKind(context.Background(), "project"), http.MethodGet, "projects/1", nil, &out); err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]*gitlab.Stats{"own": own, "run": run, "token": token} {
		if s.Requests.Load() != 2 || s.Retries.Load() != 1 || s.RateLimited.Load() != 1 {
			t.Errorf("%s: requests %d retries %d 429s %d, want 2, 1, 1", name, s.Requests.Load(), s.Retries.Load(), s.RateLimited.Load())
		}
		if st := s.ByStatus(); st[429] != 1 || st[200] != 1 {
			t.Errorf("%s: by status %v, want one 429 and one 200", name, st)
		}
		if k := s.ByKind(); k["project"] != 2 {
			t.Errorf("%s: by kind %v, want 2 for project", name, k)
		}
	}
	// A second child of the same token: the token's counts add up.
	other := gitlab.CountingInto(token)
	c2, err := gitlab.New(ts.URL, "glpat-0123456789abcdefghij", fastOpts(), other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Do(context.Background(), http.MethodGet, "projects/1", nil, &out); err != nil {
		t.Fatal(err)
	}
	if token.Requests.Load() != 3 || run.Requests.Load() != 2 || other.Requests.Load() != 1 {
		t.Fatalf("token %d run %d other %d requests, want 3, 2, 1", token.Requests.Load(), run.Requests.Load(), other.Requests.Load())
	}
}
