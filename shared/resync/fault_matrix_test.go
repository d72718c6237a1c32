package resync_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/resync"
	"github.com/glsync/terraform-provider-glsync/shared/stores/sqlitestore"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

// The fault matrix runs real resyncs (the default mapping, two group
// tokens for two roots, an embedded catalog) against the simulator with
// one kind of fault per cell. Every cell:
//
//  1. resyncs cleanly into the catalog under test, then removes a few
//     projects from GitLab (so a kind that wrongly counts as complete
//     would delete, and a failed kind must keep them);
//  2. resyncs under the fault, within the cell's time bound, and checks
//     the cell's own expectations;
//  3. checks that the faulty run deleted nothing that GitLab still has,
//     and nothing at all of a kind that failed;
//  4. clears the fault, resyncs again, and checks that the catalog equals
//     a clean resync's into a fresh store.

// fmBlueprints maps the default mapping's kinds to their blueprints.
var fmBlueprints = map[string]string{
	"group":         "gitlabGroup",
	"project":       "service",
	"merge-request": "gitlabMergeRequest",
	"issue":         "gitlabIssue",
}

// fmWorld is one cell's GitLab, configuration and catalog.
type fmWorld struct {
	sim    *gitlabtest.Server
	org    gitlabtest.Org
	addr   string // host:port GitLab is served on, kept across restarts
	url    string
	ts     *httptest.Server
	cfg    *config.Config
	m      *mapping.Config
	store  *sqlitestore.Store
	client gitlab.Options
	logs   *syncBuffer
	// blackhole, while set, closes a listener that accepts and never
	// answers.
	blackhole func()
}

func newFMWorld(t *testing.T) *fmWorld {
	t.Helper()
	sim := gitlabtest.New(gitlabtest.Options{Seed: 11})
	org := sim.Generate(gitlabtest.OrgSpec{Roots: 2, Projects: 80, Depth: 3, Seed: 11, Activity: true})
	m, err := mapping.Load("")
	if err != nil {
		t.Fatal(err)
	}
	w := &fmWorld{sim: sim, org: org, m: m, store: fmStore(t), logs: &syncBuffer{},
		client: gitlab.Options{RetryBase: time.Millisecond, RetryMax: 20 * time.Millisecond}}
	w.serve(t)
	w.cfg = &config.Config{
		TokenMapping: tokenmap.Mapping{
			{Token: org.RootTokens[0], Patterns: []string{"**"}},
			{Token: org.RootTokens[1], Patterns: []string{"**"}},
		},
		GitLabHost:            w.url,
		MaxConcurrentRequests: 8,
		MaxRetries:            8,
	}
	t.Cleanup(func() {
		w.stop()
		if w.blackhole != nil {
			w.blackhole()
		}
		for _, tok := range append([]string{org.AdminToken}, org.RootTokens...) {
			if strings.Contains(w.logs.String(), tok) {
				t.Error("a token appears in the logs")
			}
		}
		if t.Failed() {
			t.Logf("resync logs:\n%s", w.logs.String())
		}
	})
	return w
}

func fmStore(t *testing.T) *sqlitestore.Store {
	t.Helper()
	st, err := sqlitestore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// serve starts GitLab, on the same address as before after a stop, so
// URLs in the catalog do not change.
func (w *fmWorld) serve(t *testing.T) {
	t.Helper()
	addr := w.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var l net.Listener
	var err error
	for i := 0; i < 50; i++ { // the port can take a moment to be free again
		if l, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(w.sim)
	ts.Listener.Close()
	ts.Listener = l
	ts.Start()
	w.ts, w.addr, w.url = ts, l.Addr().String(), ts.URL
	w.sim.SetBaseURL(ts.URL)
}

// stop takes GitLab off the network: connections are refused.
func (w *fmWorld) stop() {
	if w.ts != nil {
		w.ts.CloseClientConnections()
		w.ts.Close()
		w.ts = nil
	}
}

// run resyncs into store under ctx and returns the summary and how long
// it took.
func (w *fmWorld) run(t *testing.T, ctx context.Context, store catalog.Store) (*resync.Summary, time.Duration) {
	t.Helper()
	sum, took, err := w.try(ctx, store)
	if err != nil {
		t.Fatalf("resync: %v", err)
	}
	return sum, took
}

// try is run that returns the error of a run that could not start.
func (w *fmWorld) try(ctx context.Context, store catalog.Store) (*resync.Summary, time.Duration, error) {
	start := time.Now()
	sum, err := resync.Run(ctx, resync.Options{Config: w.cfg, Mapping: w.m, Store: store,
		Logger: slog.New(slog.NewTextHandler(w.logs, nil)), Client: w.client})
	return sum, time.Since(start), err
}

// mustRun resyncs into store and fails the test unless every kind
// completed.
func (w *fmWorld) mustRun(t *testing.T, store catalog.Store) *resync.Summary {
	t.Helper()
	sum, _ := w.run(t, context.Background(), store)
	if sum.Failed() {
		t.Fatalf("resync failed: %v", sum.Err())
	}
	return sum
}

// fmEntities lists a catalog as key → the entity's JSON (blueprint,
// identifier, title, properties, relations; not the write version).
func fmEntities(t *testing.T, store catalog.Store) map[catalog.Key]string {
	t.Helper()
	ents, err := store.List(context.Background(), catalog.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[catalog.Key]string, len(ents))
	for _, e := range ents {
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		out[e.Key()] = string(b)
	}
	return out
}

// fmSameCatalog fails unless got and want hold the same entities.
func fmSameCatalog(t *testing.T, what string, got, want map[catalog.Key]string) {
	t.Helper()
	var diffs []string
	for k, v := range want {
		switch g, ok := got[k]; {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("missing %v", k))
		case g != v:
			diffs = append(diffs, fmt.Sprintf("differs %v:\n  got  %s\n  want %s", k, g, v))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("extra %v", k))
		}
	}
	if len(diffs) > 0 {
		if len(diffs) > 10 {
			diffs = append(diffs[:10], fmt.Sprintf("… %d more", len(diffs)-10))
		}
		t.Fatalf("%s: %d entities, want %d:\n%s", what, len(got), len(want), strings.Join(diffs, "\n"))
	}
}

// fmCell is one fault of the matrix.
type fmCell struct {
	name string
	// proves says in one line what the cell shows.
	proves string
	// setup prepares the world (client options, token mapping) before the
	// first, clean resync.
	setup func(t *testing.T, w *fmWorld)
	// fault turns the fault on before the faulty run; clear turns it off
	// (default: no faults).
	fault, clear func(t *testing.T, w *fmWorld)
	// deadline, when set, is the faulty run's context deadline.
	deadline time.Duration
	// within bounds the faulty run's duration.
	within time.Duration
	// check asserts the cell's own expectations on the faulty run.
	check func(t *testing.T, w *fmWorld, sum *resync.Summary)
	// runErr, when set, is what the faulty run's error must say: the run
	// stops before any kind starts (nothing is written or deleted).
	runErr []string
}

// fmMustSucceed: the client absorbed the fault; every kind completed.
func fmMustSucceed(t *testing.T, _ *fmWorld, sum *resync.Summary) {
	t.Helper()
	if sum.Failed() {
		t.Fatalf("the resync failed under a fault retries should absorb: %v", sum.Err())
	}
	if sum.Retries == 0 {
		t.Fatal("no retries: the fault did not happen")
	}
}

// fmEveryKindFails asserts that every kind failed and that every error
// contains each of parts.
func fmEveryKindFails(t *testing.T, sum *resync.Summary, parts ...string) {
	t.Helper()
	for _, k := range sum.Kinds {
		if !k.Failed() {
			t.Errorf("kind %s completed", k.Kind)
		}
		for _, e := range k.Errors {
			for _, p := range parts {
				if !strings.Contains(e.Error(), p) {
					t.Errorf("kind %s: error does not say %q: %v", k.Kind, p, e)
				}
			}
		}
	}
}

// fmStormCheck: the stormed token's kinds fail with a rate-limit error
// naming it (masked), the other token names in no error, and everything
// the other token alone syncs is in the catalog, as it syncs it.
func fmStormCheck(t *testing.T, w *fmWorld, sum *resync.Summary) {
	t.Helper()
	stormed, other := w.cfg.TokenMapping[0], w.cfg.TokenMapping[1]
	fmEveryKindFails(t, sum, "token "+stormed.Masked(), "rate limited")
	if err := sum.Err(); strings.Contains(err.Error(), other.Masked()) || strings.Contains(err.Error(), stormed.Token) {
		t.Fatalf("errors name the healthy token, or the stormed one unmasked: %v", err)
	}
	// What the healthy token syncs on its own, into a fresh catalog.
	alone := *w.cfg
	alone.TokenMapping = tokenmap.Mapping{other}
	ref := fmStore(t)
	sum2, err := resync.Run(context.Background(), resync.Options{Config: &alone, Mapping: w.m, Store: ref,
		Logger: slog.New(slog.NewTextHandler(w.logs, nil)), Client: w.client})
	if err != nil || sum2.Failed() {
		t.Fatalf("%v %v", err, sum2.Err())
	}
	got := fmEntities(t, w.store)
	want := fmEntities(t, ref)
	if len(want) == 0 {
		t.Fatal("the healthy token syncs nothing")
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("the healthy token's %v was not synced:\n got  %s\n want %s", k, got[k], v)
		}
	}
}

// fmDownCheck: every kind fails, with an error naming GitLab's URL.
func fmDownCheck(t *testing.T, w *fmWorld, sum *resync.Summary) {
	t.Helper()
	fmEveryKindFails(t, sum, w.addr)
}

func TestFaultMatrix(t *testing.T) {
	cells := []fmCell{
		{
			name:   "429 storm on one token, Retry-After 1200s",
			proves: "a 1,200 s Retry-After on one token fails that token's kinds at once (beyond the client's wait), names it masked, and the other token still syncs",
			fault: func(t *testing.T, w *fmWorld) {
				w.sim.SetFaults(gitlabtest.Faults{TokenStorms: map[string]gitlabtest.Storm{
					w.org.RootTokens[0]: {Rate: 1, RetryAfter: 1200 * time.Second}}})
			},
			within: 10 * time.Second,
			check:  fmStormCheck,
		},
		{
			name:   "429 storm on one token, Retry-After 60s past a 20s deadline",
			proves: "a Retry-After within the client's wait but past the resync's deadline fails the token at once instead of sleeping into the deadline",
			fault: func(t *testing.T, w *fmWorld) {
				w.sim.SetFaults(gitlabtest.Faults{TokenStorms: map[string]gitlabtest.Storm{
					w.org.RootTokens[0]: {Rate: 1, RetryAfter: 60 * time.Second}}})
			},
			deadline: 20 * time.Second,
			within:   10 * time.Second,
			check:    fmStormCheck,
		},
		{
			name:   "5xx on 30% of requests",
			proves: "500/502/503 on 30% of requests throughout are absorbed by retries: the run completes",
			fault: func(t *testing.T, w *fmWorld) {
				w.sim.SetFaults(gitlabtest.Faults{ErrorRate: 0.3})
			},
			within: 10 * time.Second,
			check:  fmMustSucceed,
		},
		{
			name:   "5xx burst on the first 8 requests",
			proves: "a 5xx burst shorter than one request's retries is absorbed with exactly one retry per failure",
			fault: func(t *testing.T, w *fmWorld) {
				w.sim.SetFaults(gitlabtest.Faults{ErrorRate: 1, ErrorBurst: 8})
			},
			within: 10 * time.Second,
			check: func(t *testing.T, w *fmWorld, sum *resync.Summary) {
				fmMustSucceed(t, w, sum)
				if sum.Retries != 8 {
					t.Fatalf("%d retries, want 8", sum.Retries)
				}
			},
		},
		{
			name:   "5xx burst on half of the first 60 requests",
			proves: "a heavier 5xx burst ends in a complete run or in failed kinds that delete nothing",
			fault: func(t *testing.T, w *fmWorld) {
				w.sim.SetFaults(gitlabtest.Faults{ErrorRate: 0.5, ErrorBurst: 60})
			},
			within: 10 * time.Second,
			check: func(t *testing.T, w *fmWorld, sum *resync.Summary) {
				if sum.Retries == 0 {
					t.Fatal("no retries: the burst did not happen")
				}
			},
		},
		{
			name:   "answers slower than the request timeout",
			proves: "answers stalling mid-body beyond the request timeout are cut off and retried, not waited for",
			fault: func(t *testing.T, w *fmWorld) {
				w.client.RequestTimeout = 500 * time.Millisecond
				w.sim.SetFaults(gitlabtest.Faults{SlowRate: 0.2, SlowDelay: 5 * time.Second})
			},
			clear: func(t *testing.T, w *fmWorld) {
				w.client.RequestTimeout = 0 // the default
				w.sim.SetFaults(gitlabtest.Faults{})
			},
			within: 15 * time.Second,
			check:  fmMustSucceed,
		},
		{
			name:   "truncated JSON bodies",
			proves: "JSON bodies cut short under a 200 are retried, never read as short or empty pages",
			fault: func(t *testing.T, w *fmWorld) {
				w.sim.SetFaults(gitlabtest.Faults{TruncateRate: 0.3})
			},
			within: 10 * time.Second,
			check:  fmMustSucceed,
		},
		{
			name:   "every JSON body truncated",
			proves: "when every body is cut, every kind fails with an error saying so and deletes nothing",
			setup: func(t *testing.T, w *fmWorld) {
				w.cfg.MaxRetries = 2
			},
			fault: func(t *testing.T, w *fmWorld) {
				w.sim.SetFaults(gitlabtest.Faults{TruncateRate: 1})
			},
			within: 10 * time.Second,
			check: func(t *testing.T, w *fmWorld, sum *resync.Summary) {
				fmEveryKindFails(t, sum, "reading the 200 answer", "unexpected EOF")
			},
		},
		{
			name:   "connection resets mid-page",
			proves: "resets before and during an answer are retried: the run completes",
			fault: func(t *testing.T, w *fmWorld) {
				w.sim.SetFaults(gitlabtest.Faults{ResetRate: 0.1, BodyResetRate: 0.2})
			},
			within: 10 * time.Second,
			check:  fmMustSucceed,
		},
		{
			name:   "token revoked mid-resync",
			proves: "a token revoked mid-run fails its unfinished kinds with a 401 naming it masked; they delete nothing",
			fault: func(t *testing.T, w *fmWorld) {
				w.sim.SetFaults(gitlabtest.Faults{RevokeAfter: map[string]int{w.org.RootTokens[0]: 4}})
			},
			clear: func(t *testing.T, w *fmWorld) {
				w.sim.SetFaults(gitlabtest.Faults{})
				fresh := "glpat-fm-replacement-token-0001"
				w.sim.AddToken(gitlabtest.Token{Value: fresh, Kind: gitlabtest.GroupAccessToken, GroupID: w.org.Roots[0].ID})
				w.cfg.TokenMapping[0].Token = fresh
			},
			within: 10 * time.Second,
			check: func(t *testing.T, w *fmWorld, sum *resync.Summary) {
				revoked := w.cfg.TokenMapping[0].Masked()
				failed := 0
				for _, k := range sum.Kinds {
					if !k.Failed() {
						continue
					}
					failed++
					for _, e := range k.Errors {
						if !strings.Contains(e.Error(), "token "+revoked) || !strings.Contains(e.Error(), "401") {
							t.Errorf("kind %s: want a 401 naming token %s, got %v", k.Kind, revoked, e)
						}
					}
				}
				if failed == 0 {
					t.Fatal("no kind failed after the revocation")
				}
			},
		},
		{
			name:   "GitLab down: connection refused",
			proves: "nothing listening: the run fails within seconds naming the URL, and succeeds once GitLab is back",
			fault: func(t *testing.T, w *fmWorld) {
				w.stop()
			},
			clear: func(t *testing.T, w *fmWorld) {
				w.serve(t)
			},
			within: 10 * time.Second,
			// The start-up check dials GitLab before any request.
			runErr: []string{"cannot be reached", "connection refused"},
		},
		{
			name:   "GitLab down: listener never answers",
			proves: "a listener that never answers: each attempt ends at the request timeout, the run fails within seconds naming the URL",
			fault: func(t *testing.T, w *fmWorld) {
				w.client.RequestTimeout = 100 * time.Millisecond
				w.stop()
				var l net.Listener
				var err error
				for i := 0; i < 50; i++ {
					if l, err = net.Listen("tcp", w.addr); err == nil {
						break
					}
					time.Sleep(20 * time.Millisecond)
				}
				if err != nil {
					t.Fatal(err)
				}
				// Accept and hold connections without a word.
				var held []net.Conn
				var mu sync.Mutex
				go func() {
					for {
						c, err := l.Accept()
						if err != nil {
							return
						}
						mu.Lock()
						held = append(held, c)
						mu.Unlock()
					}
				}()
				w.blackhole = func() {
					l.Close()
					mu.Lock()
					for _, c := range held {
						c.Close()
					}
					mu.Unlock()
				}
			},
			clear: func(t *testing.T, w *fmWorld) {
				w.client.RequestTimeout = 0 // the default
				w.blackhole()
				w.blackhole = nil
				w.serve(t)
			},
			within: 10 * time.Second,
			check: func(t *testing.T, w *fmWorld, sum *resync.Summary) {
				fmDownCheck(t, w, sum)
				fmEveryKindFails(t, sum, "request timeout")
			},
		},
		{
			name:   "GitLab down: every request 503",
			proves: "every request 503: the run fails within seconds, every error naming the URL; then GitLab is back",
			fault: func(t *testing.T, w *fmWorld) {
				w.sim.SetFaults(gitlabtest.Faults{Down: true})
			},
			within: 10 * time.Second,
			check: func(t *testing.T, w *fmWorld, sum *resync.Summary) {
				fmDownCheck(t, w, sum)
				fmEveryKindFails(t, sum, "503")
			},
		},
	}

	type result struct {
		name, proves     string
		faulty, total    time.Duration
		failed, requests int64
	}
	var results []result
	for _, c := range cells {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			w := newFMWorld(t)
			if c.setup != nil {
				c.setup(t, w)
			}
			w.mustRun(t, w.store)
			before := fmEntities(t, w.store)
			for i, p := range w.sim.Projects() {
				if i%20 == 0 {
					w.sim.RemoveProject(p.ID)
				}
			}

			c.fault(t, w)
			ctx := context.Background()
			if c.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, c.deadline)
				defer cancel()
			}
			sum, took, err := w.try(ctx, w.store)
			if took > c.within {
				t.Errorf("the faulty resync took %v, want at most %v", took, c.within)
			}
			switch {
			case c.runErr != nil:
				for _, want := range append(c.runErr, w.addr) {
					if err == nil || !strings.Contains(err.Error(), want) {
						t.Fatalf("the faulty run's error %v does not say %q", err, want)
					}
				}
			case err != nil:
				t.Fatalf("resync: %v", err)
			default:
				c.check(t, w, sum)
			}
			if sum == nil {
				sum = &resync.Summary{} // the run did not start: nothing may have changed
			}
			afterFault := fmEntities(t, w.store)

			if c.clear != nil {
				c.clear(t, w)
			} else {
				w.sim.SetFaults(gitlabtest.Faults{})
			}
			// What GitLab has now, resynced cleanly into a fresh catalog.
			clean := fmStore(t)
			w.mustRun(t, clean)
			want := fmEntities(t, clean)

			gone := 0
			for k := range before {
				if _, ok := want[k]; !ok {
					gone++
				}
			}
			if gone == 0 {
				t.Fatal("removing projects changed nothing: the cell could not tell a failed kind from a complete one")
			}

			// Nothing GitLab still has was deleted by the faulty run, and a
			// kind that failed deleted nothing at all.
			failedBP := map[string]bool{}
			for _, k := range sum.Kinds {
				if k.Failed() {
					failedBP[fmBlueprints[k.Kind]] = true
					if k.Deleted != 0 {
						t.Errorf("kind %s failed and deleted %d", k.Kind, k.Deleted)
					}
				}
			}
			for k := range before {
				if _, ok := afterFault[k]; ok {
					continue
				}
				if _, exists := want[k]; exists {
					t.Errorf("%v exists in GitLab and was deleted by the faulty resync", k)
				} else if failedBP[k.Blueprint] {
					t.Errorf("%v was deleted by a kind that failed", k)
				}
			}

			// Once the fault is gone, the catalog converges to a clean one.
			w.mustRun(t, w.store)
			fmSameCatalog(t, "catalog after the fault cleared vs a clean resync", fmEntities(t, w.store), want)

			var failed int64
			for _, k := range sum.Kinds {
				if k.Failed() {
					failed++
				}
			}
			results = append(results, result{c.name, c.proves, took, time.Since(start), failed, sum.Requests})
		})
	}
	for _, r := range results {
		t.Logf("%-58s faulty run %6v (%d kinds failed, %d requests), cell %v\n    proves: %s", r.name,
			r.faulty.Round(time.Millisecond), r.failed, r.requests, r.total.Round(time.Millisecond), r.proves)
	}
}
