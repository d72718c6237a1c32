package gitlab_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
)

// Under GitLab's announced limit, two clients of one token sharing their
// limits (as glsyncd's event workers and a resync do) send 16 requests at
// a time and never get a 429: the window's budget is spread to its reset.
//
// The windows last a whole second, as GitLab's do (a minute on
// GitLab.com): RateLimit-Reset is in Unix seconds, so it can only name
// the end of a window that ends on a second. With half-second windows
// every other reset is unknowable, the pacer falls back to the steady
// rate, which is the limit itself with no margin, and a busy machine's
// scheduling delays push one window's last request into the next: a 429
// from the test's own clock, not from the pacer.
func TestPacedClientsMakeNo429(t *testing.T) {
	s, org, host := newSim(t, 20)
	s.SetRateLimit(30, time.Second) // 30/s
	shared := gitlab.NewShared()
	o := fastOpts()
	o.Shared = shared
	a, _ := gitlab.New(host, org.AdminToken, o, nil)
	b, _ := gitlab.New(host, org.AdminToken, o, nil)
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		c := a
		if i%2 == 1 {
			c = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 4; k++ {
				if _, err := c.Do(context.Background(), http.MethodGet, "user", nil, nil); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := a.Stats().RateLimited.Load() + b.Stats().RateLimited.Load(); n != 0 {
		t.Fatalf("%d answers were 429: the pace should have kept within GitLab's budget", n)
	}
	if r := a.Pace(); r <= 0 {
		t.Fatalf("pace %v: GitLab's limit was not learned", r)
	}
}

// A user's limit paces a client alone when GitLab announces none.
func TestUserRateLimitPaces(t *testing.T) {
	_, org, host := newSim(t, 5)
	o := fastOpts()
	o.RateLimit = 6000
	c, _ := gitlab.New(host, org.AdminToken, o, nil)
	if r := c.Pace(); r != 100 {
		t.Fatalf("pace %v/s, want 100/s from 6000 a minute", r)
	}
	if _, err := c.Do(context.Background(), http.MethodGet, "user", nil, nil); err != nil {
		t.Fatal(err)
	}
	if c.InFlightLimit() != 8 {
		t.Fatalf("in-flight bound %d before any queueing, want the configured 8", c.InFlightLimit())
	}
}
