package gitlab_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
)

// TestRateLimitWindow: before GitLab announced a limit there is no
// window; after one answer with RateLimit-* headers the window shows
// what is left of it and when it resets.
func TestRateLimitWindow(t *testing.T) {
	s := gitlabtest.New(gitlabtest.Options{RateLimit: 100, RateWindow: time.Minute})
	org := s.Generate(gitlabtest.OrgSpec{Roots: 1, Projects: 2, Depth: 1, Seed: 1})
	ts := s.Start(t)
	c, err := gitlab.New(ts.URL, org.RootTokens[0], gitlab.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := c.RateLimitWindow(time.Now()); ok {
		t.Fatal("a window before any answer")
	}
	if _, err := c.Do(context.Background(), http.MethodGet, "user", nil, nil); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	rem, reset, ok := c.RateLimitWindow(now)
	if !ok || rem != 99 || !reset.After(now) || reset.After(now.Add(time.Minute+time.Second)) {
		t.Fatalf("window: %d left, reset %v, ok %v", rem, reset, ok)
	}
	if _, _, ok := c.RateLimitWindow(reset.Add(time.Second)); ok {
		t.Fatal("a window after its reset")
	}
}
