package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/resync"
	"github.com/glsync/terraform-provider-glsync/shared/stores/sqlitestore"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

// samples are raw objects per kind to try a mapping on: the examples the
// last resync kept in the catalog (real data) where there are some, else
// objects of a small simulated organisation, crawled as a resync crawls
// them (so they carry the fields glsync adds, such as __project).
func (a *app) samples(ctx context.Context, m *mapping.Config) (map[string][]map[string]any, string, error) {
	out := map[string][]map[string]any{}
	source := "the simulator's sample objects"
	switch store, err := a.openExisting(ctx); {
	case err != nil && !errors.Is(err, sqlitestore.ErrNoCatalog):
		// A catalog that cannot be read is not a reason to fail validate,
		// but the operator hears why its examples are not used.
		fmt.Fprintf(a.stdout, "  warning: %v: the last resync's raw examples are not used\n", err)
	case err == nil:
		for _, kind := range m.Kinds() {
			raw, _ := store.Examples(ctx, kind)
			var objs []map[string]any
			if raw != nil && json.Unmarshal(raw, &objs) == nil && len(objs) > 0 {
				out[kind] = objs
				source = "the raw examples of the last resync, and the simulator's for kinds without any"
			}
		}
		store.Close()
	}
	var missing []string
	for _, kind := range m.Kinds() {
		if len(out[kind]) == 0 {
			missing = append(missing, kind)
		}
	}
	if len(missing) == 0 {
		return out, "the raw examples of the last resync", nil
	}
	sim := gitlabtest.New(gitlabtest.Options{Seed: 7})
	org := sim.Generate(gitlabtest.OrgSpec{Roots: 1, Projects: 12, Depth: 2, Seed: 7, Activity: true})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", fmt.Errorf("simulator: %w", err)
	}
	url := "http://" + ln.Addr().String()
	sim.SetBaseURL(url)
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	dir, err := os.MkdirTemp("", "glsync-validate-")
	if err != nil {
		return nil, "", err
	}
	defer os.RemoveAll(dir)
	store, err := sqlitestore.Open(dir)
	if err != nil {
		return nil, "", err
	}
	defer store.Close()
	var mu sync.Mutex
	cfg := &config.Config{GitLabHost: url, TokenMapping: tokenmap.Mapping{{Token: org.RootTokens[0], Patterns: []string{"**"}}},
		MaxConcurrentRequests: 8, MaxRetries: 1}
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	sum, err := resync.Run(rctx, resync.Options{Config: cfg, Mapping: m, Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Examples: func(_ context.Context, kind string, objs []map[string]any) {
			mu.Lock()
			defer mu.Unlock()
			if slices.Contains(missing, kind) && len(out[kind]) < 20 {
				out[kind] = append(out[kind], objs...)
			}
		}})
	if err == nil && sum.Failed() && len(out) == 0 {
		err = sum.Err()
	}
	if err != nil {
		return nil, "", fmt.Errorf("crawling the simulator for sample objects: %w", err)
	}
	return out, source, nil
}

// trySamples maps every sample object with every resource and returns one
// problem per resource and field that failed (a selector.query that does
// not return a boolean, a jq error), with how many objects it failed on.
// Under tolerant mapping (no strictMapping) an expression that fails on
// some of the objects only is a warning: a resync maps that field to null
// there, as Ocean does. One that fails on every object, and any failure
// under strictMapping, is an error.
func trySamples(ctx context.Context, m *mapping.Config, samples map[string][]map[string]any) (problems, warnings []string) {
	type key struct {
		res  int
		what string
	}
	counts := map[key]int{}
	totals := map[int]int{}
	hard := map[key]bool{}
	for i, r := range m.Resources {
		for _, obj := range samples[r.Kind] {
			totals[i]++
			rec := &failureList{}
			_, _, err := r.MapAll(mapping.WithRecorder(ctx, rec), obj)
			// One count per field and object: a field's message can
			// differ between objects only in the values it quotes.
			seen := map[string]bool{}
			for _, f := range rec.list {
				what := fmt.Sprintf("resources[%d] (kind %s): %s: expression %q", f.Resource, f.Kind, f.Field, f.Expr)
				if !seen[what] {
					seen[what] = true
					counts[key{i, what}]++
				}
			}
			if err != nil {
				what := err.Error()
				var me *mapping.Error
				if errors.As(err, &me) {
					what = me.Error()
				}
				counts[key{i, what}]++
				hard[key{i, what}] = true
			}
		}
	}
	for k, n := range counts {
		line := fmt.Sprintf("%s (on %d of %d sample %s objects)", k.what, n, totals[k.res], m.Resources[k.res].Kind)
		if hard[k] || m.Strict || n == totals[k.res] {
			problems = append(problems, line)
		} else {
			warnings = append(warnings, line+"; a resync maps the field to null on such objects")
		}
	}
	sort.Strings(problems)
	sort.Strings(warnings)
	return problems, warnings
}

// failureList is a mapping.Recorder that keeps the failures of one
// object's mapping.
type failureList struct {
	mu   sync.Mutex
	list []mapping.Failure
}

func (l *failureList) MappingFailed(f mapping.Failure) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.list = append(l.list, f)
}

// kindsWithoutSamples lists the mapping's kinds no sample object was
// found for (their expressions could not be tried).
func kindsWithoutSamples(m *mapping.Config, samples map[string][]map[string]any) string {
	var none []string
	for _, k := range m.Kinds() {
		if len(samples[k]) == 0 {
			none = append(none, k)
		}
	}
	return strings.Join(none, ", ")
}
