package main

// Project listing: one token's projects read as concurrent id ranges
// (gitlab.ListKeysetParallel) from a simulated GitLab answering each
// request after 20 ms, at 1k, 10k and 100k projects (1k, 3k, 10k with
// -quick). Requests against the minimum, ceil(projects / 100); wall time
// against ceil(pages / concurrency) × the time one page takes, plus the
// two pages every listing reads first, one after the other (the first
// page upwards, which ends a listing of up to 100, and the first
// downwards, which finds the top and ends one of up to 200). The
// concurrency is the token's in-flight bound, or two reads per id range
// where the request budget (4% of the pages) allows fewer ranges: below
// 10,000 projects the listing keeps to the minimum requests rather than
// the shortest wall time. The
// simulator runs in this process on the same 2 cores, with its pages
// rendered beforehand; decoding them is glsync's cost and counts.

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"slices"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
)

func init() { register("listing", listingRows) }

// listingLatency is the simulated GitLab's latency per request.
const listingLatency = 20 * time.Millisecond

// listingConcurrency is the token's in-flight bound at the start
// (maxConcurrentRequests' default).
const listingConcurrency = 8

// listingWallSlack is how much slower than the ideal a listing may be:
// ranges end unevenly, and the pages where two reads meet are partial.
const listingWallSlack = 1.3

func listingRows(ctx context.Context, env Env) ([]Row, error) {
	sizes := []int{1_000, 10_000, 100_000}
	if env.Quick {
		sizes = []int{1_000, 3_000, 10_000}
	}
	var rows []Row
	for _, n := range sizes {
		r, err := listingRow(ctx, n)
		if err != nil {
			return nil, fmt.Errorf("%d projects: %w", n, err)
		}
		rows = append(rows, r...)
	}
	return rows, nil
}

func listingRow(ctx context.Context, n int) ([]Row, error) {
	sim, org, simURL, stop := simulate(gitlabtest.OrgSpec{Roots: 3, Projects: n, Depth: 3, Seed: 10}, listingLatency)
	defer stop()
	projects := len(sim.Projects())
	// GitLab's rendering is GitLab's CPU, not glsync's: rendered before
	// timing, the simulator only copies bytes.
	sim.Prerender()
	pages := (projects + 99) / 100

	// The time one page takes, latency and rendering included: the
	// median of a few pages read one after another.
	probe, err := gitlab.New(simURL, org.AdminToken, gitlab.Options{MaxConcurrent: 1}, nil)
	if err != nil {
		return nil, err
	}
	var times []time.Duration
	q := url.Values{"pagination": {"keyset"}, "order_by": {"id"}, "sort": {"asc"}, "per_page": {"100"}}
	for range 7 {
		start := time.Now()
		if _, err := probe.FirstItemsQuery(ctx, "projects", q, 100); err != nil {
			return nil, err
		}
		times = append(times, time.Since(start))
	}
	pageTime := median(times)

	c, err := gitlab.New(simURL, org.AdminToken, gitlab.Options{MaxConcurrent: listingConcurrency}, nil)
	if err != nil {
		return nil, err
	}
	lctx, st := gitlab.WithListStats(ctx)
	seen := make(map[int64]bool, projects)
	dup := 0
	start := time.Now()
	err = c.ListKeysetParallel(lctx, "projects", nil, func(p gitlab.Page) error {
		for _, o := range p.Items {
			id := int64(o["id"].(float64))
			if seen[id] {
				dup++
			}
			seen[id] = true
		}
		return nil
	})
	wall := time.Since(start)
	if err != nil {
		return nil, err
	}
	if len(seen) != projects || dup > 0 {
		return nil, fmt.Errorf("listed %d distinct projects (%d twice) of %d", len(seen), dup, projects)
	}
	requests := int(c.Stats().Requests.Load())
	size := fmt.Sprintf("%dk", n/1000)
	reqLimit := 1.05
	reqNote := "within 5% of the minimum from 10,000 projects"
	if projects < 10_000 {
		reqLimit = 1.10
		reqNote = "below 10,000 projects ranges are split less (wall time gives way to requests)"
	}
	ratio := float64(requests) / float64(pages)
	// The concurrency a listing can use: the in-flight bound, or two
	// reads per id range when the request budget allows fewer ranges (a
	// listing below 10,000 projects gives wall time up for requests).
	conc := min(max(listingConcurrency, st.PeakInFlight), 2*max(1, st.Ranges))
	ideal := time.Duration(float64(int(math.Ceil(float64(max(0, pages-2))/float64(conc)))+min(2, pages)) * float64(pageTime))
	wallRatio := wall.Seconds() / ideal.Seconds()
	return []Row{
		{
			Name:     fmt.Sprintf("project listing %s: requests", size),
			Measured: fmt.Sprintf("%d = %.3f × minimum %d", requests, ratio, pages),
			Limit:    fmt.Sprintf("≤ %.2f × minimum", reqLimit),
			OK:       ratio <= reqLimit,
			Note:     fmt.Sprintf("%d projects, every one once; %d id ranges; %s", projects, st.Ranges, reqNote),
		},
		{
			Name:     fmt.Sprintf("project listing %s: wall", size),
			Measured: fmt.Sprintf("%.2f s = %.2f × ideal %.2f s", wall.Seconds(), wallRatio, ideal.Seconds()),
			Limit:    fmt.Sprintf("≤ %.2f × (2 + ceil((pages − 2) / concurrency)) × page time", listingWallSlack),
			OK:       wallRatio <= listingWallSlack,
			Note: fmt.Sprintf("page time %.1f ms (20 ms latency); concurrency %d = min(in-flight bound %d, 2 × %d ranges); one chain would take %.2f s",
				float64(pageTime)/float64(time.Millisecond), conc, max(listingConcurrency, st.PeakInFlight), st.Ranges, float64(pages)*pageTime.Seconds()),
		},
	}, nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
