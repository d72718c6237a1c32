package main

// Resyncs with the every-kind mapping (shared/mapping/all-kinds.yml) of a
// 2,000-project organisation with recent activity (500 with -quick), a
// group access token per root group, 20 ms per GitLab request: a full
// pass against the fewest requests any crawler needs (resync/minimum),
// then, after 2% of the projects were pushed to (a push and the pipeline
// it starts), an incremental pass against the fewest requests for what
// changed, and the full pass it spares.
// Every kind takes part, the file kind included: it completes the project
// kind's services, and writes merge (as Port merges Ocean's), so it is
// incremental like the others.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/resync"
	"github.com/glsync/terraform-provider-glsync/shared/resync/minimum"
	"github.com/glsync/terraform-provider-glsync/shared/stores/sqlitestore"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

func init() { register("resync", resyncRows) }

// resyncOverMinimum is how far above the minimum a resync may go.
const resyncOverMinimum = 1.05

func resyncRows(ctx context.Context, env Env) ([]Row, error) {
	projects := everyKindProjects(env)
	e, cleanup, err := newEveryKindResync(projects, "resync")
	if err != nil {
		return nil, err
	}
	defer cleanup()
	sim, org, all := e.sim, e.org, e.all
	var tm tokenmap.Mapping
	for _, tok := range org.RootTokens {
		tm = append(tm, tokenmap.Entry{Token: tok, Patterns: []string{"**"}})
	}
	cfg := e.config(tm)
	run := func(store *sqlitestore.Store, m *mapping.Config, incremental bool) (*resync.Summary, time.Duration, error) {
		return timedResync(ctx, resync.Options{Config: cfg, Mapping: m, Store: store, Logger: env.Log, Incremental: incremental})
	}
	minFor := func(m *mapping.Config, read func(int64) bool) int {
		per, shared := minimum.AllKinds(sim, org, read)
		for _, k := range m.Kinds() {
			shared += per[k]
		}
		return shared
	}

	// The every-kind full pass.
	full, err := e.store("full")
	if err != nil {
		return nil, err
	}
	defer full.Close()
	sum, wall, err := run(full, all, false)
	if err != nil {
		return nil, fmt.Errorf("every-kind resync: %w", err)
	}
	least := minFor(all, nil)
	ratio := float64(sum.Requests) / float64(least)
	rows := []Row{{
		Name:     fmt.Sprintf("every-kind full resync, %d projects", projects),
		Measured: fmt.Sprintf("%d requests = %.3f × minimum %d", sum.Requests, ratio, least),
		Limit:    fmt.Sprintf("≤ %.2f × minimum", resyncOverMinimum),
		OK:       ratio <= resyncOverMinimum,
		Note:     fmt.Sprintf("15 kinds, 3 tokens, 20 ms latency; wall %.1f s", wall.Seconds()),
	}}

	// Incremental: a full pass records what it read, 2% of the projects
	// see a push and its pipeline, an incremental pass follows.
	m, err := mapping.Load(repoFile("shared/mapping/all-kinds.yml"))
	if err != nil {
		return nil, err
	}
	store, err := e.store("incremental")
	if err != nil {
		return nil, err
	}
	defer store.Close()
	if _, _, err := run(store, m, true); err != nil {
		return nil, fmt.Errorf("first pass: %w", err)
	}
	rnd := rand.New(rand.NewPCG(42, 2))
	var candidates []int64
	for _, p := range sim.Projects() {
		if !p.EmptyRepo && !p.Archived {
			candidates = append(candidates, p.ID)
		}
	}
	rnd.Shuffle(len(candidates), func(i, j int) { candidates[i], candidates[j] = candidates[j], candidates[i] })
	active := map[int64]bool{}
	for _, id := range candidates[:max(1, projects*2/100)] {
		active[id] = true
		sim.Push(ctx, id)
		sim.AddPipeline(id, "running", "build", "test", "deploy")
	}
	inc, incWall, err := run(store, m, true)
	if err != nil {
		return nil, fmt.Errorf("incremental pass: %w", err)
	}
	fullAgain, fullWall, err := run(store, m, false)
	if err != nil {
		return nil, fmt.Errorf("full pass: %w", err)
	}
	least = minFor(m, func(id int64) bool { return active[id] })
	ratio = float64(inc.Requests) / float64(least)
	skipped, read := 0, 0
	for _, k := range inc.Kinds {
		skipped += k.SkippedProjects
		read += k.ReadProjects
	}
	rows = append(rows, Row{
		Name:     fmt.Sprintf("incremental resync, %d of %d projects active", len(active), projects),
		Measured: fmt.Sprintf("%d requests = %.3f × minimum %d for what changed", inc.Requests, ratio, least),
		Limit:    fmt.Sprintf("≤ %.2f × minimum", resyncOverMinimum),
		OK:       ratio <= resyncOverMinimum,
		Note: fmt.Sprintf("a full pass of the same: %d requests (%.1f× more), %.1f s vs %.1f s; per-project reads %d, skipped %d; every kind",
			fullAgain.Requests, float64(fullAgain.Requests)/float64(inc.Requests), fullWall.Seconds(), incWall.Seconds(), read, skipped),
	})
	return rows, nil
}
