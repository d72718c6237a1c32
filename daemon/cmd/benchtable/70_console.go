package main

// The console's catalog pages on the embedded catalog at 100,000
// entities (10,000 with -quick), over HTTP as a browser asks for them:
// the first page of the list, a page deep into it (keyset paging: the
// 500th page, the 100th with -quick, costs what the first does), a search that matches many and
// one that matches a single entity (which reads the catalog in key order
// until it has filled its page, so it is the slowest), and an entity's
// page. Each is the median of several requests; every list page also
// counts the entities per blueprint.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/glsync/terraform-provider-glsync/daemon/console"
	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/stores/sqlitestore"
)

func init() { register("console", consoleRows) }

// consoleLimit is the slowest a catalog page may answer: a page an
// operator waits for, on the 2-core machine the table runs on.
const consoleLimit = 100 * time.Millisecond

// consoleSearchLimit is the limit for a search matching one entity,
// which has to read every entity's identifier and title.
const consoleSearchLimit = 300 * time.Millisecond

func consoleRows(ctx context.Context, env Env) ([]Row, error) {
	n := 100_000
	if env.Quick {
		n = 10_000
	}
	dir, err := os.MkdirTemp("", "glsync-bench-console-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	store, err := sqlitestore.Open(dir)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	br, ok := any(store).(catalog.Browser)
	if !ok {
		return nil, fmt.Errorf("the embedded store is no catalog.Browser")
	}
	if err := fillCatalog(ctx, store, n); err != nil {
		return nil, err
	}
	c, err := console.New(console.Options{Loopback: true, Catalog: br, Log: env.Log})
	if err != nil {
		return nil, err
	}
	srv := httptest.NewServer(c)
	defer srv.Close()

	// The key of a page deep in the list (the 500th, or the middle one of
	// a smaller catalog), found as a reader clicking "Next" would.
	nth := min(500, n/50/2)
	var deep *catalog.Key
	for range nth - 1 {
		q := catalog.PageQuery{Limit: 50} // the console's page size
		if deep != nil {
			q.After = *deep
		}
		p, err := br.Page(ctx, q)
		if err != nil {
			return nil, err
		}
		if p.Next == nil {
			return nil, fmt.Errorf("the catalog ended before page %d", nth)
		}
		deep = p.Next
	}
	label := fmt.Sprintf("%dk", n/1000)
	cases := []struct {
		name, path string
		limit      time.Duration
	}{
		{"first page", "/ui/catalog", consoleLimit},
		{strconv.Itoa(nth) + "th page", "/ui/catalog?" + url.Values{"after_blueprint": {deep.Blueprint}, "after": {deep.Identifier}}.Encode(), consoleLimit},
		{"search matching many", "/ui/catalog?q=payment", consoleLimit},
		{"search matching one", "/ui/catalog?q=" + url.QueryEscape(entityID(n-7)), consoleSearchLimit},
		{"entity page", "/ui/catalog/entity?" + url.Values{"blueprint": {"service"}, "id": {entityID(n / 2)}}.Encode(), consoleLimit},
	}
	var rows []Row
	for _, cs := range cases {
		var times []time.Duration
		for range 9 {
			start := time.Now()
			resp, err := http.Get(srv.URL + cs.path)
			if err != nil {
				return nil, err
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "service") {
				return nil, fmt.Errorf("%s: %d", cs.path, resp.StatusCode)
			}
			times = append(times, time.Since(start))
		}
		slices.Sort(times)
		med := times[len(times)/2]
		rows = append(rows, Row{Name: "console catalog over HTTP, " + label + " entities: " + cs.name, Measured: med.Round(100 * time.Microsecond).String(),
			Limit: "≤ " + cs.limit.String(), OK: med <= cs.limit, Note: "median of 9 requests"})
	}
	return rows, nil
}

// entityID is the identifier of the i-th bench entity.
func entityID(i int) string {
	return "group-" + strconv.Itoa(i%100) + "/" + serviceName(i) + "-" + strconv.Itoa(i)
}

func serviceName(i int) string {
	names := []string{"payment", "auth", "billing", "search", "catalog", "inventory", "gateway", "ledger"}
	return names[i%len(names)]
}

// fillCatalog writes n service entities, as a resync of that many
// projects would.
func fillCatalog(ctx context.Context, s *sqlitestore.Store, n int) error {
	run, err := s.BeginRun(ctx)
	if err != nil {
		return err
	}
	batch := make([]*catalog.Entity, 0, 1000)
	for i := range n {
		id := entityID(i)
		batch = append(batch, &catalog.Entity{Blueprint: "service", Identifier: id, Title: strings.ToUpper(serviceName(i)[:1]) + serviceName(i)[1:] + " " + strconv.Itoa(i),
			Properties: map[string]any{"url": "https://gitlab.example.com/" + id, "description": "the " + serviceName(i) + " service", "visibility": "private"},
			Relations:  map[string]any{"group": strconv.Itoa(i % 100)}, Project: int64(i + 1)})
		if len(batch) == cap(batch) || i == n-1 {
			if _, err := s.Upsert(ctx, run, "project", batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	return s.FinishRun(ctx, run, true, time.Now())
}
