package main

// The every-kind organisation, which the resync, jobs, releases and
// rate-limit rows read: 3 root groups, projects 3 deep with recent
// activity, seed 42, 20 ms per request. It is set up here once so that
// those rows measure the same organisation, the same way.

import (
	"context"
	"os"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/resync"
	"github.com/glsync/terraform-provider-glsync/shared/stores/sqlitestore"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

// everyKindProjects is the organisation's size for the resync, jobs and
// releases rows: 2,000 projects, 500 with -quick.
func everyKindProjects(env Env) int {
	if env.Quick {
		return 500
	}
	return 2000
}

// everyKindOrg serves the every-kind organisation of projects projects;
// stop shuts it down.
func everyKindOrg(projects int) (sim *gitlabtest.Server, org gitlabtest.Org, url string, stop func()) {
	return simulate(gitlabtest.OrgSpec{Roots: 3, Projects: projects, Depth: 3, Seed: 42, Activity: true}, 20*time.Millisecond)
}

// everyKindResync is the every-kind mapping (shared/mapping/all-kinds.yml)
// over the every-kind organisation, resynced into SQLite stores in a
// temporary directory: the resync and rate-limit rows.
type everyKindResync struct {
	sim *gitlabtest.Server
	org gitlabtest.Org
	url string
	// all is the every-kind mapping.
	all *mapping.Config
	dir string
}

// newEveryKindResync serves the organisation of projects projects and
// makes a temporary directory named after the row group; cleanup removes
// it and stops the organisation (after the stores in it are closed: defer
// cleanup first).
func newEveryKindResync(projects int, group string) (e *everyKindResync, cleanup func(), err error) {
	e = &everyKindResync{}
	var stop func()
	e.sim, e.org, e.url, stop = everyKindOrg(projects)
	if e.all, err = mapping.Load(repoFile("shared/mapping/all-kinds.yml")); err != nil {
		stop()
		return nil, nil, err
	}
	if e.dir, err = os.MkdirTemp("", "benchtable-"+group); err != nil {
		stop()
		return nil, nil, err
	}
	return e, func() { os.RemoveAll(e.dir); stop() }, nil
}

// config is the daemon's configuration reading the organisation with tm.
func (e *everyKindResync) config(tm tokenmap.Mapping) *config.Config {
	return &config.Config{TokenMapping: tm, GitLabHost: e.url, MaxConcurrentRequests: 8, MaxRetries: 8}
}

// store opens the store named name in the temporary directory.
func (e *everyKindResync) store(name string) (*sqlitestore.Store, error) {
	return sqlitestore.Open(e.dir + "/" + name)
}

// timedResync runs one resync and how long it took: a kind that failed
// fails the row, as a resync that did not run does.
func timedResync(ctx context.Context, o resync.Options) (*resync.Summary, time.Duration, error) {
	start := time.Now()
	sum, err := resync.Run(ctx, o)
	if err == nil && sum.Failed() {
		err = sum.Err()
	}
	return sum, time.Since(start), err
}
