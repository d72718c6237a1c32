package resync_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/resync"
	"github.com/glsync/terraform-provider-glsync/shared/resync/minimum"
	"github.com/glsync/terraform-provider-glsync/shared/stores/sqlitestore"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

// minimumRequests is the fewest requests any crawler needs to learn every
// group and project the tokens can see: GitLab serves at most 100 objects
// per page, so listing n objects takes ceil(n/100) requests (one when n is
// 0), for the groups and for the projects of each token, and for the
// merge requests and issues of each root group a token sees; plus one GET /user
// per token, because whether a token is an admin (sees the instance) or a
// member (sees its memberships) decides which listing is complete, and
// GitLab tells that only there.
func minimumRequests(sim *gitlabtest.Server, org gitlabtest.Org) int {
	gs := sim.Groups()
	sc := newRootScope(sim)
	under := sc.under
	pages := func(n int) int {
		if n == 0 {
			return 1
		}
		return (n + 99) / 100
	}
	total := 0
	for _, root := range org.Roots {
		groups, projects := 0, 0
		for _, g := range gs {
			if under(g.ID, root.ID) {
				groups++
			}
		}
		for _, p := range sim.Projects() {
			if sc.sees(p, root.ID) {
				projects++
			}
		}
		// One merge request and one issue listing per root group; the
		// generated ones are older than the default 90 days, so each is one
		// page.
		total += 1 + pages(groups) + pages(projects) + 1 + 1
	}
	return total
}

// heapSampler records the peak live heap (as measured by the last GC)
// while it runs. Live heap, not allocated heap: garbage waiting for the
// collector says nothing about what the resync keeps, and the GC lets it
// grow in proportion to the simulator's (large) data set.
type heapSampler struct {
	stop chan struct{}
	wg   sync.WaitGroup
	peak uint64
}

func heapObjects() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func startHeapSampler() *heapSampler {
	h := &heapSampler{stop: make(chan struct{})}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			if v := heapObjects(); v > h.peak {
				h.peak = v
			}
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	}()
	return h
}

func (h *heapSampler) Stop() uint64 {
	close(h.stop)
	h.wg.Wait()
	return h.peak
}

// BenchmarkResync resyncs a generated organisation (3 root groups, one
// group access token each with "**") from the simulator with 20 ms of
// latency per request, and reports GitLab requests against the minimum,
// wall time per resync and the peak heap above the baseline (the
// simulator's own data is in the baseline).
func BenchmarkResync(b *testing.B) {
	for _, n := range []int{1000, 5000, 20000} {
		b.Run(fmt.Sprintf("projects=%d", n), func(b *testing.B) {
			sim, org, cfg := benchOrg(b, gitlabtest.OrgSpec{Roots: 3, Projects: n, Depth: 3, Seed: 42})
			m, err := mapping.Load("")
			if err != nil {
				b.Fatal(err)
			}
			minimum := minimumRequests(sim, org)
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			once := func(measureHeap bool) (requests int, peak uint64, entities int) {
				store, err := sqlitestore.Open(b.TempDir())
				if err != nil {
					b.Fatal(err)
				}
				defer store.Close()
				sim.ResetRequests()
				var hs *heapSampler
				var base uint64
				if measureHeap {
					// Collect often so live-heap samples are fresh; this run is
					// not timed.
					defer debug.SetGCPercent(debug.SetGCPercent(10))
					runtime.GC()
					base = heapObjects()
					hs = startHeapSampler()
				}
				b.StartTimer()
				sum, err := resync.Run(context.Background(), resync.Options{Config: cfg, Mapping: m, Store: store, Logger: log})
				b.StopTimer()
				if hs != nil {
					if p := hs.Stop(); p > base {
						peak = p - base
					}
				}
				if err != nil || sum.Failed() {
					b.Fatalf("resync failed: %v %v", err, sum.Err())
				}
				var routes map[string]int
				routes, requests = sim.Requests()
				if measureHeap {
					b.Logf("%d projects: requests by route %v; minimum %d", n, routes, minimum)
				}
				for _, k := range sum.Kinds {
					entities += k.Created
				}
				return requests, peak, entities
			}
			b.ResetTimer()
			b.StopTimer()
			var requests, entities int
			for i := 0; i < b.N; i++ {
				requests, _, entities = once(false)
			}
			_, peak, _ := once(true)
			b.StopTimer()
			if float64(requests) > 1.05*float64(minimum) {
				b.Fatalf("%d GitLab requests, more than 5%% above the minimum %d", requests, minimum)
			}
			b.ReportMetric(float64(requests), "requests/op")
			b.ReportMetric(float64(minimum), "min-requests")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
			b.ReportMetric(float64(entities), "entities")
		})
	}
}

// benchOrg serves the organisation spec with 20 ms of latency on every
// request and configures one token per root group with "**".
func benchOrg(b *testing.B, spec gitlabtest.OrgSpec) (*gitlabtest.Server, gitlabtest.Org, *config.Config) {
	sim := gitlabtest.New(gitlabtest.Options{Seed: 42})
	org := sim.Generate(spec)
	ts := sim.Start(b)
	sim.SetFaults(gitlabtest.Faults{Latency: 20 * time.Millisecond})
	var tm tokenmap.Mapping
	for _, tok := range org.RootTokens {
		tm = append(tm, tokenmap.Entry{Token: tok, Patterns: []string{"**"}})
	}
	return sim, org, &config.Config{TokenMapping: tm, GitLabHost: ts.URL, MaxConcurrentRequests: 8, MaxRetries: 8}
}

// BenchmarkResyncAllKinds resyncs every kind (shared/mapping/all-kinds.yml)
// of a 2,000-project organisation with 20 ms latency, and reports GitLab
// requests per kind next to the minimum for each (see minimum.AllKinds).
func BenchmarkResyncAllKinds(b *testing.B) {
	sim, org, cfg := benchOrg(b, gitlabtest.OrgSpec{Roots: 3, Projects: 2000, Depth: 3, Seed: 42, Activity: true})
	m, err := mapping.Load("../mapping/all-kinds.yml")
	if err != nil {
		b.Fatal(err)
	}
	perKind, shared := minimum.AllKinds(sim, org, nil)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var sum *resync.Summary
	var total int
	var peak uint64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		store, err := sqlitestore.Open(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		sim.ResetRequests()
		runtime.GC()
		base := heapObjects()
		hs := startHeapSampler()
		b.StartTimer()
		sum, err = resync.Run(context.Background(), resync.Options{Config: cfg, Mapping: m, Store: store, Logger: log})
		b.StopTimer()
		if p := hs.Stop(); p > base && p-base > peak {
			peak = p - base
		}
		if err != nil || sum.Failed() {
			b.Fatalf("resync failed: %v %v", err, sum.Err())
		}
		_, total = sim.Requests()
		store.Close()
		b.StartTimer()
	}
	b.StopTimer()
	minTotal := shared
	for _, k := range sum.Kinds {
		minTotal += perKind[k.Kind]
		fmt.Printf("%-20s %6d requests, minimum %6d beyond the shared listings (%d entities)\n", k.Kind, k.Requests, perKind[k.Kind], k.Created)
	}
	fmt.Printf("shared listings (GET /user, /groups, /projects per token): minimum %d\n", shared)
	fmt.Printf("total %d requests, minimum %d (%.1f%% above), wall %v\n", total, minTotal, 100*float64(total-minTotal)/float64(minTotal), sum.Duration.Round(time.Millisecond))
	if float64(total) > 1.05*float64(minTotal) {
		b.Fatalf("%d requests, more than 5%% above the minimum %d", total, minTotal)
	}
	b.ReportMetric(float64(total), "requests/op")
	b.ReportMetric(float64(minTotal), "min-requests")
	b.ReportMetric(float64(peak)/(1<<20), "peak-live-heap-MB")
}

// BenchmarkResyncDefaults resyncs every kind with no selector option, so
// each takes the defaults of Ocean v1 and of v2, on the same 2,000-project
// organisation with 20 ms latency, and prints the GitLab requests per
// kind: what the defaults cost.
func BenchmarkResyncDefaults(b *testing.B) {
	sim, _, cfg := benchOrg(b, gitlabtest.OrgSpec{Roots: 3, Projects: 2000, Depth: 3, Seed: 42, Activity: true})
	doc := "resources:\n"
	for _, k := range mapping.SupportedKinds {
		sel := "{query: 'true'}"
		switch k {
		case "file":
			sel = "{query: 'true', files: {path: catalog-info.json}}"
		case "folder":
			sel = "{query: 'true', folders: [{path: internal}]}"
		}
		doc += "  - kind: " + k + "\n    selector: " + sel + "\n    port: {entity: {mappings: {identifier: '\"x\" + (.id // .path_with_namespace // .name // .file.path // .folder.path // \"\" | tostring)', blueprint: '\"" + k + "\"'}}}\n"
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for i := 0; i < b.N; i++ {
		for _, gen := range []mapping.Generation{mapping.OceanV1, mapping.OceanV2} {
			m, err := mapping.ParseWith([]byte(doc), mapping.ParseOptions{Generation: gen})
			if err != nil {
				b.Fatal(err)
			}
			store, err := sqlitestore.Open(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			sim.ResetRequests()
			sum, err := resync.Run(context.Background(), resync.Options{Config: cfg, Mapping: m, Store: store, Logger: log})
			if err != nil || sum.Failed() {
				b.Fatalf("%s: %v %v", gen, err, sum.Err())
			}
			_, total := sim.Requests()
			fmt.Printf("Ocean %s defaults:\n", gen)
			for _, k := range sum.Kinds {
				fmt.Printf("  %-20s %6d requests %6d objects\n", k.Kind, k.Requests, k.Fetched)
			}
			fmt.Printf("  total %d requests, wall %v\n", total, sum.Duration.Round(time.Millisecond))
			store.Close()
		}
	}
}
