package main

// Console reads: 100,000 entities (10,000 with -quick) in the embedded
// SQLite catalog, in four blueprints shaped like the default mapping's
// (services, groups, merge requests, issues, with their properties), and
// the reads the console makes of them (catalog.Browser): the counts per
// blueprint, a page of a search on the first screen and ten pages on, and
// a search that matches nothing (the worst case: the substring test runs
// on every row). Each is the median of 9 reads of a warm catalog. A page
// must come within 50 ms, so the console answers a keystroke's search
// while the daemon writes. A search matching fewer than a page's worth
// tests every key and title (no index serves a substring), linear in the
// catalog: within 100 ms at 100,000, below the pause a console leaves
// after a keystroke before it searches. The counts count every row once
// per screen: within 100 ms too.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/stores/sqlitestore"
)

func init() { register("browse", browseRows) }

// browsePageLimit is the most a page of the console may take; a page is
// catalog.DefaultPageLimit entities.
const browsePageLimit = 50 * time.Millisecond

// browseScanLimit is the most a search that tests every row may take.
const browseScanLimit = 100 * time.Millisecond

// browseCountsLimit is the most the counts per blueprint may take.
const browseCountsLimit = 100 * time.Millisecond

// browseWords make titles; a search for one of them matches about one
// entity in 25 (titles have three words of 75), as a team or product name
// does in a large catalog.
var browseWords = strings.Fields(`payments billing checkout ledger invoices refunds wallet pricing tax fraud
	search catalog inventory orders cart shipping returns reviews ratings recommend
	auth login session tokens identity profile accounts teams roles audit
	gateway proxy router edge cdn cache queue events stream kafka
	metrics logging tracing alerts dashboards oncall runbook deploy release rollout
	mobile ios android web frontend backend api graphql grpc rest
	docs portal wiki handbook design tokens theme icons fonts assets
	data warehouse etl pipeline notebook`)

func browseRows(ctx context.Context, env Env) ([]Row, error) {
	n := 100_000
	if env.Quick {
		n = 10_000
	}
	dir, err := os.MkdirTemp("", "glsync-bench-browse-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	s, err := sqlitestore.Open(dir)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	start := time.Now()
	if err := fillBrowse(ctx, s, n); err != nil {
		return nil, err
	}
	filled := time.Since(start)
	size := fmt.Sprintf("%dk entities", n/1000)
	note := fmt.Sprintf("embedded SQLite, %d entities in 4 blueprints written in %.1f s; median of 9", n, filled.Seconds())

	var rows []Row
	pageRow := func(name string, q catalog.PageQuery, limit time.Duration, want func(catalog.EntityPage) error) error {
		var p catalog.EntityPage
		d, err := medianOf(9, func() error {
			var err error
			p, err = s.Page(ctx, q)
			return err
		})
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := want(p); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		rows = append(rows, Row{
			Name:     fmt.Sprintf("console %s, %s", name, size),
			Measured: fmtMS(d),
			Limit:    "≤ " + fmtMS(limit),
			OK:       d <= limit,
			Note:     fmt.Sprintf("%d entities on the page; %s", len(p.Entities), note),
		})
		return nil
	}
	full := func(p catalog.EntityPage) error {
		if len(p.Entities) != catalog.DefaultPageLimit || p.Next == nil {
			return fmt.Errorf("%d entities, next %v: want a full page and more", len(p.Entities), p.Next)
		}
		return nil
	}
	if err := pageRow("page, no search", catalog.PageQuery{}, browsePageLimit, full); err != nil {
		return nil, err
	}
	search := catalog.PageQuery{Search: "Payments"}
	if err := pageRow(`search "Payments", first page`, search, browsePageLimit, full); err != nil {
		return nil, err
	}
	// Ten pages on: the keyset starts where the ninth ended.
	later := search
	for range 9 {
		p, err := s.Page(ctx, later)
		if err != nil {
			return nil, err
		}
		if p.Next == nil {
			return nil, fmt.Errorf("search %q: fewer than 10 pages", search.Search)
		}
		later.After = *p.Next
	}
	if err := pageRow(`search "Payments", 10th page`, later, browsePageLimit, full); err != nil {
		return nil, err
	}
	if err := pageRow("search matching nothing (scans every row)", catalog.PageQuery{Search: "no such entity"}, browseScanLimit, func(p catalog.EntityPage) error {
		if len(p.Entities) != 0 || p.Next != nil {
			return fmt.Errorf("%d entities found", len(p.Entities))
		}
		return nil
	}); err != nil {
		return nil, err
	}
	var counts map[string]int
	d, err := medianOf(9, func() error {
		var err error
		counts, err = s.BlueprintCounts(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	total := 0
	for _, c := range counts {
		total += c
	}
	if total != n || len(counts) != 4 {
		return nil, fmt.Errorf("counts %v: want %d entities in 4 blueprints", counts, n)
	}
	rows = append(rows, Row{
		Name:     fmt.Sprintf("console counts per blueprint, %s", size),
		Measured: fmtMS(d),
		Limit:    "≤ " + fmtMS(browseCountsLimit),
		OK:       d <= browseCountsLimit,
		Note:     note,
	})
	return rows, nil
}

// fillBrowse writes n entities as a resync would, 1,000 per transaction.
func fillBrowse(ctx context.Context, s *sqlitestore.Store, n int) error {
	r := rand.New(rand.NewPCG(60, 25))
	run, err := s.BeginRun(ctx)
	if err != nil {
		return err
	}
	title := func() string {
		return strings.Join([]string{browseWords[r.IntN(len(browseWords))], browseWords[r.IntN(len(browseWords))], browseWords[r.IntN(len(browseWords))]}, " ")
	}
	batch := make([]*catalog.Entity, 0, 1000)
	for i := range n {
		var e *catalog.Entity
		switch group := i / 50; {
		case i%20 < 4: // 20% services
			path := fmt.Sprintf("org/group-%d/%s-%d", group, strings.ReplaceAll(title(), " ", "-"), i)
			e = &catalog.Entity{Blueprint: "service", Identifier: path, Title: title(),
				Properties: map[string]any{"url": "https://gitlab.example.com/" + path, "description": "The " + title() + " service", "language": "Go", "defaultBranch": "main"},
				Relations:  map[string]any{"group": fmt.Sprint(group)}}
		case i%20 == 4: // 5% groups
			e = &catalog.Entity{Blueprint: "gitlabGroup", Identifier: fmt.Sprint(group*1000 + i), Title: title(),
				Properties: map[string]any{"url": fmt.Sprintf("https://gitlab.example.com/org/group-%d", group), "visibility": "private"}}
		case i%20 < 13: // 40% merge requests
			e = &catalog.Entity{Blueprint: "gitlabMergeRequest", Identifier: fmt.Sprint(1_000_000 + i), Title: "Fix " + title(),
				Properties: map[string]any{"status": "opened", "creator": "dev", "createdAt": "2026-11-01T10:00:00Z", "link": fmt.Sprintf("https://gitlab.example.com/mr/%d", i), "reviewers": []any{"a", "b"}},
				Relations:  map[string]any{"service": fmt.Sprintf("org/group-%d/x", group)}}
		default: // 35% issues
			e = &catalog.Entity{Blueprint: "gitlabIssue", Identifier: fmt.Sprint(2_000_000 + i), Title: "Bug in " + title(),
				Properties: map[string]any{"status": "opened", "labels": []any{"bug", "p2"}, "link": fmt.Sprintf("https://gitlab.example.com/issues/%d", i)},
				Relations:  map[string]any{"service": fmt.Sprintf("org/group-%d/x", group)}}
		}
		batch = append(batch, e)
		if len(batch) == cap(batch) || i == n-1 {
			if _, err := s.Upsert(ctx, run, "project", batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	return nil
}

// medianOf runs fn once to warm the catalog, then k times, and returns the
// median duration.
func medianOf(k int, fn func() error) (time.Duration, error) {
	if err := fn(); err != nil {
		return 0, err
	}
	ds := make([]time.Duration, 0, k)
	for range k {
		start := time.Now()
		if err := fn(); err != nil {
			return 0, err
		}
		ds = append(ds, time.Since(start))
	}
	return median(ds), nil
}

func fmtMS(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}
