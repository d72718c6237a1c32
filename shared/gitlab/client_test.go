package gitlab_test

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
)

func newSim(t *testing.T, projects int) (*gitlabtest.Server, gitlabtest.Org, string) {
	t.Helper()
	s := gitlabtest.New(gitlabtest.Options{Seed: 7})
	org := s.Generate(gitlabtest.OrgSpec{Roots: 2, Projects: projects, Depth: 3, Seed: 7})
	ts := s.Start(t)
	return s, org, ts.URL
}

func fastOpts() gitlab.Options {
	return gitlab.Options{RetryBase: time.Millisecond, RetryMax: 5 * time.Millisecond}
}

func count(t *testing.T, c *gitlab.Client, keyset bool, path string, q url.Values) int {
	t.Helper()
	n := 0
	list := c.ListOffset
	if keyset {
		list = c.ListKeyset
	}
	if err := list(context.Background(), path, q, func(p gitlab.Page) error { n += len(p.Items); return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestListBothPaginations(t *testing.T) {
	s, org, host := newSim(t, 330)
	c, err := gitlab.New(host, org.AdminToken, fastOpts(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, c, true, "projects", nil); n != 330 {
		t.Fatalf("keyset listed %d, want 330", n)
	}
	if n := count(t, c, false, "projects", nil); n != 330 {
		t.Fatalf("offset listed %d, want 330", n)
	}
	counts, total := s.Requests()
	// 4 keyset pages + 4 offset pages, nothing more.
	if counts["GET /projects"] != 8 || total != 8 {
		t.Fatalf("requests %v total %d, want 8", counts, total)
	}
	if c.Stats().Requests.Load() != 8 {
		t.Fatalf("client counted %d", c.Stats().Requests.Load())
	}
}

func TestRetriesServerErrorsAndResets(t *testing.T) {
	s, org, host := newSim(t, 250)
	s.SetFaults(gitlabtest.Faults{ErrorRate: 0.3, ResetRate: 0.1})
	c, _ := gitlab.New(host, org.AdminToken, func() gitlab.Options { o := fastOpts(); o.MaxRetries = 30; return o }(), nil)
	if n := count(t, c, true, "projects", nil); n != 250 {
		t.Fatalf("listed %d", n)
	}
	if c.Stats().Retries.Load() == 0 {
		t.Fatal("expected retries under faults")
	}
}

func TestPersistentErrorFailsWithStatus(t *testing.T) {
	s, org, host := newSim(t, 10)
	s.SetFaults(gitlabtest.Faults{FailRoutes: map[string]int{"GET /projects": 500}})
	o := fastOpts()
	o.MaxRetries = 2
	c, _ := gitlab.New(host, org.AdminToken, o, nil)
	err := c.ListKeyset(context.Background(), "projects", nil, func(gitlab.Page) error { return nil })
	var ae *gitlab.APIError
	if !errors.As(err, &ae) || ae.Status != 500 {
		t.Fatalf("want APIError 500, got %v", err)
	}
	if strings.Contains(err.Error(), org.AdminToken) || !strings.Contains(err.Error(), "token glpat-") {
		t.Fatalf("error must name the masked token only: %v", err)
	}
	if counts, _ := s.Requests(); counts["GET /projects"] != 3 {
		t.Fatalf("want 1 try + 2 retries, got %v", counts)
	}
}

func TestNotFoundIsNotRetried(t *testing.T) {
	s, org, host := newSim(t, 10)
	c, _ := gitlab.New(host, org.RootTokens[0], fastOpts(), nil)
	err := c.ListOffset(context.Background(), "groups/"+gitlab.PathEscape(org.Roots[1].FullPath)+"/projects", nil, func(gitlab.Page) error { return nil })
	var ae *gitlab.APIError
	if !errors.As(err, &ae) || ae.Status != 404 {
		t.Fatalf("want 404, got %v (status %d)", err, ae.Status)
	}
	if _, total := s.Requests(); total != 1 {
		t.Fatalf("404 retried: %d requests", total)
	}
}

func TestHonoursRateLimit(t *testing.T) {
	s, org, host := newSim(t, 600)
	s.SetRateLimit(3, time.Second)
	c, _ := gitlab.New(host, org.AdminToken, fastOpts(), nil)
	start := time.Now()
	if n := count(t, c, true, "projects", nil); n != 600 {
		t.Fatalf("listed %d", n)
	}
	// 6 pages at 3 per second need at least one full window of waiting.
	if time.Since(start) < time.Second {
		t.Fatalf("finished in %v: the limit was not honoured", time.Since(start))
	}
	if c.Stats().RateLimited.Load() > 1 {
		t.Fatalf("got %d 429s; RateLimit-Remaining should have paused us first", c.Stats().RateLimited.Load())
	}
}

func TestCancel(t *testing.T) {
	s, org, host := newSim(t, 500)
	s.SetFaults(gitlabtest.Faults{Latency: 50 * time.Millisecond})
	c, _ := gitlab.New(host, org.AdminToken, fastOpts(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Millisecond)
	defer cancel()
	err := c.ListKeyset(ctx, "projects", nil, func(gitlab.Page) error { return nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want deadline exceeded, got %v", err)
	}
}

func TestCurrentUser(t *testing.T) {
	_, org, host := newSim(t, 1)
	c, _ := gitlab.New(host, org.AdminToken, fastOpts(), nil)
	u, err := c.CurrentUser(context.Background())
	if err != nil || !u.IsAdmin {
		t.Fatalf("admin: %+v %v", u, err)
	}
	c2, _ := gitlab.New(host, org.RootTokens[0], fastOpts(), nil)
	u, err = c2.CurrentUser(context.Background())
	if err != nil || u.IsAdmin || !u.Bot {
		t.Fatalf("group bot: %+v %v", u, err)
	}
	c3, _ := gitlab.New(host, "glpat-notarealtoken", fastOpts(), nil)
	_, err = c3.CurrentUser(context.Background())
	var ae *gitlab.APIError
	if !errors.As(err, &ae) || ae.Status != 401 {
		t.Fatalf("unknown token: %v", err)
	}
}

// TestOAuthTokenFile: an OAuth access token is sent as "Authorization:
// Bearer" (GitLab refuses it in PRIVATE-TOKEN), and when GitLab answers
// 401 the token file is read again, so a token refreshed by another
// process is used without a restart.
func TestOAuthTokenFile(t *testing.T) {
	s, org, url := newSim(t, 20)
	old, refreshed := "oauth-access-token-one", "oauth-access-token-two"
	s.AddToken(gitlabtest.Token{Value: old, Kind: gitlabtest.GroupAccessToken, GroupID: org.Roots[0].ID, OAuth: true})
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(old+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	private, _ := gitlab.New(url, old, fastOpts(), nil)
	if _, err := private.CurrentUser(ctx); err == nil {
		t.Fatal("an OAuth token was accepted in PRIVATE-TOKEN")
	}
	o := fastOpts()
	o.OAuth, o.TokenFile = true, file
	c, err := gitlab.New(url, old, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CurrentUser(ctx); err != nil {
		t.Fatalf("bearer: %v", err)
	}
	s.ReplaceToken(old, refreshed)
	if _, err := c.CurrentUser(ctx); err == nil {
		t.Fatal("a revoked token still works")
	}
	if err := os.WriteFile(file, []byte(refreshed+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CurrentUser(ctx); err != nil {
		t.Fatalf("the refreshed token in the file was not picked up: %v", err)
	}
}

// TestIsGitLabCom checks that only GitLab.com's host is taken for
// GitLab.com, whatever its case or path: the release reading trusts group
// listings there that it would not trust on a self-managed instance.
func TestIsGitLabCom(t *testing.T) {
	for host, want := range map[string]bool{
		"https://gitlab.com": true, "https://GitLab.com/": true, "https://gitlab.com/api/v4": true,
		"https://gitlab.example.com": false, "https://gitlab.com.example.org": false, "http://127.0.0.1:8080": false,
	} {
		c, err := gitlab.New(host, "glpat-x", gitlab.Options{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.IsGitLabCom(); got != want {
			t.Errorf("%s: IsGitLabCom %v, want %v", host, got, want)
		}
	}
}

// TestWalkOffsetAsGitLabOrders checks that WalkOffset sends no order of
// its own (a project's releases refuse order_by=id), reads every page in
// GitLab's order, tells the announced page count, and reports a listing
// that changed between its pages.
func TestWalkOffsetAsGitLabOrders(t *testing.T) {
	s, org, url := newSim(t, 3)
	p := s.Projects()[0]
	for i := range 130 {
		s.AddRelease(p.ID, "v1."+strconv.Itoa(i))
	}
	c, err := gitlab.New(url, org.AdminToken, gitlab.Options{RetryBase: time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, shifted := gitlab.WithShiftWatch(context.Background())
	var tags []string
	var totals []int64
	err = c.WalkOffset(ctx, "projects/"+strconv.FormatInt(p.ID, 10)+"/releases", nil, func(pg gitlab.Page, total int64) (bool, error) {
		totals = append(totals, total)
		for _, r := range pg.Items {
			tags = append(tags, r["tag_name"].(string))
		}
		if len(totals) == 1 {
			s.AddRelease(p.ID, "v2.0") // newest: shifts the second page by one
		}
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(tags) != 131 || tags[0] != "v1.129" || tags[100] != "v1.30" || tags[130] != "v1.0" {
		t.Errorf("%d releases, first %s, 101st %s, last %s: want 131 (one read twice), v1.129, v1.30 (again), v1.0", len(tags), tags[0], tags[100], tags[130])
	}
	if !slices.Equal(totals, []int64{2, 2}) || !shifted.Load() {
		t.Errorf("announced pages %v, shift reported %v: want [2 2] and true", totals, shifted.Load())
	}
}

// TestListOffsetAddsNoOrder checks that ListOffset sends only the order
// its caller asks for: the listings below refuse order_by=id or sort=asc
// (the simulator answers 400 as GitLab's declared values do), and the
// pager once added both to every listing without an order.
func TestListOffsetAddsNoOrder(t *testing.T) {
	s, org, url := newSim(t, 6)
	c, err := gitlab.New(url, org.AdminToken, gitlab.Options{RetryBase: time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var pid string
	for _, p := range s.Projects() {
		if !p.EmptyRepo {
			pid = strconv.FormatInt(p.ID, 10)
			break
		}
	}
	for _, path := range []string{"projects/" + pid + "/repository/tags", "projects/" + pid + "/repository/branches",
		"projects/" + pid + "/issues", "projects/" + pid + "/merge_requests", "issues", "merge_requests"} {
		if err := c.ListOffset(context.Background(), path, nil, func(gitlab.Page) error { return nil }); err != nil {
			t.Errorf("%s: %v", path, err)
		}
	}
}
