package metrics

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
)

// GitLab requests are counted per token under the token's masked form,
// by status (429s among them) as a real client counts them; two tokens
// that mask alike stay apart; no scrape carries a token.
func TestGitLabCountersPerMaskedToken(t *testing.T) {
	const (
		a = "glpat-QXbeg-Ev9xtu5_5FsaAQ"
		b = "glpat-QXother-token-0123456" // masks as a does
		c = "glpat-xF7Ae-vXu5ts5_QbEgAQ9"
	)
	var calls atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{}`))
	}))
	defer ts.Close()
	tokens := &GitLabTokens{}
	m := New(func() float64 { return 0 }, tokens)
	first := tokens.For(a)
	if again := tokens.For(a); again != first {
		t.Fatal("one token got two Stats")
	}
	// a: a 429 retried then a 200, then another 200; b: one 200; c: none.
	for _, tc := range []struct {
		tok string
		n   int
	}{{a, 2}, {b, 1}} {
		tok, n := tc.tok, tc.n
		cl, err := gitlab.New(ts.URL, tok, gitlab.Options{RetryBase: time.Millisecond}, gitlab.CountingInto(tokens.For(tok)))
		if err != nil {
			t.Fatal(err)
		}
		for range n {
			var out map[string]any
			if _, err := cl.Do(context.Background(), http.MethodGet, "version", nil, &out); err != nil {
				t.Fatal(err)
			}
		}
		if tok == a {
			calls.Store(1) // b gets no 429
		}
	}
	tokens.For(c)
	want := `
# HELP glsync_gitlab_requests_total GitLab API requests sent (attempts, retries included), by token (masked) and response status (0: no complete response; 429: rate limited).
# TYPE glsync_gitlab_requests_total counter
glsync_gitlab_requests_total{status="200",token="glpat-QX…"} 2
glsync_gitlab_requests_total{status="429",token="glpat-QX…"} 1
glsync_gitlab_requests_total{status="200",token="glpat-QX… #2"} 1
# HELP glsync_gitlab_retries_total GitLab API requests retried, by token (masked).
# TYPE glsync_gitlab_retries_total counter
glsync_gitlab_retries_total{token="glpat-QX…"} 1
glsync_gitlab_retries_total{token="glpat-QX… #2"} 0
glsync_gitlab_retries_total{token="glpat-xF…"} 0
`
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(want), "glsync_gitlab_requests_total", "glsync_gitlab_retries_total"); err != nil {
		t.Fatal(err)
	}
	var body strings.Builder
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		body.WriteString(mf.String())
	}
	for _, tok := range []string{a, b, c} {
		if strings.Contains(body.String(), tok[:9]) {
			t.Fatalf("a token appears in the metrics:\n%s", body.String())
		}
	}
}

// A cycle's hook states replace the previous cycle's (a fixed hook leaves
// no "disabled" series), duplicates are dropped rather than failing the
// scrape, and nil clears them (a replica that stopped leading).
func TestHookStatesFollowTheLastCycle(t *testing.T) {
	m := New(func() float64 { return 0 }, nil)
	m.SetHooks([]HookState{
		{Scope: "group:1", Path: "acme", State: HookDisabled},
		{Scope: "group:2", Path: "beta", State: HookMissing},
		{Scope: "group:2", Path: "beta", State: HookMissing},
	})
	want := `
# HELP glsync_hook_state Managed hooks as this replica's last hook reconciliation left them (the leader's; none on other replicas): 1 for the hook's state (enabled, disabled, missing, secret_unknown, failing).
# TYPE glsync_hook_state gauge
glsync_hook_state{path="acme",scope="group:1",state="disabled"} 1
glsync_hook_state{path="beta",scope="group:2",state="missing"} 1
`
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(want), "glsync_hook_state"); err != nil {
		t.Fatal(err)
	}
	m.SetHooks([]HookState{{Scope: "group:1", Path: "acme", State: HookEnabled}})
	want = `
# HELP glsync_hook_state Managed hooks as this replica's last hook reconciliation left them (the leader's; none on other replicas): 1 for the hook's state (enabled, disabled, missing, secret_unknown, failing).
# TYPE glsync_hook_state gauge
glsync_hook_state{path="acme",scope="group:1",state="enabled"} 1
`
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(want), "glsync_hook_state"); err != nil {
		t.Fatal(err)
	}
	m.SetHooks(nil)
	if n := testutil.CollectAndCount(m.Hooks); n != 0 {
		t.Fatalf("%d hook series after clearing", n)
	}
}
