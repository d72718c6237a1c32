package gitlab_test

import (
	"context"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
)

// Test408RetriedLike5xx: a 408 (a proxy or Workhorse giving up on a slow
// request) is retried like a 503, up to the retries, and a listing whose
// first attempt got 408 completes; a 400 is still sent once.
func Test408RetriedLike5xx(t *testing.T) {
	for _, tc := range []struct {
		status int
		want   int // requests sent under a permanent fault
	}{
		{408, 1 + gitlab.DefaultMaxRetries},
		{503, 1 + gitlab.DefaultMaxRetries},
		{400, 1},
	} {
		s, org, host := newSim(t, 10)
		s.SetFaults(gitlabtest.Faults{FailRoutes: map[string]int{"GET /projects": tc.status}})
		c, err := gitlab.New(host, org.AdminToken, fastOpts(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := listProjects(context.Background(), t, c); err == nil {
			t.Fatalf("%d: the listing succeeded under a permanent fault", tc.status)
		}
		if _, total := s.Requests(); total != tc.want {
			t.Errorf("%d: sent %d requests, want %d", tc.status, total, tc.want)
		}
	}

	t.Run("transient 408", func(t *testing.T) {
		s, org, host := newSim(t, 10)
		s.SetFaults(gitlabtest.Faults{FailRoutes: map[string]int{"GET /projects": 408}})
		go func() {
			for {
				if _, n := s.Requests(); n >= 1 {
					s.SetFaults(gitlabtest.Faults{})
					return
				}
				time.Sleep(time.Millisecond)
			}
		}()
		c, _ := gitlab.New(host, org.AdminToken, fastOpts(), nil)
		n, err := listProjects(context.Background(), t, c)
		if err != nil || n != 10 {
			t.Fatalf("listed %d: %v", n, err)
		}
		if r := c.Stats().Retries.Load(); r < 1 {
			t.Fatalf("no retry counted after a 408")
		}
	})
}
