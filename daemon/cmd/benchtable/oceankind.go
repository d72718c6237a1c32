package main

// The jobs and releases rows: a per-project kind read as Ocean v2 reads
// it and as glsync does, on the every-kind organisation.

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/crawl"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

// oceanKind is a jobs or releases row: one per-project kind read as Ocean
// v2 reads it, from the every-kind organisation with the admin token (each
// project is read once, and group listings are exact). glsync's reading's
// requests are held against the fewest that read that set, its objects
// against those of the reading that makes Ocean's requests.
type oceanKind struct {
	// kind is the selector kind read.
	kind string
	// name is the row's name, a format taking the number of projects.
	name string
	// noun names the objects in the note ("jobs").
	noun string
	// ocean reads the kind as Ocean's requests do; options as glsync does.
	ocean, options crawl.Options
	// oceanName names Ocean's reading where objects are compared
	// ("per-pipeline"), oceanNote where its requests are ("per pipeline
	// (Ocean's requests)").
	oceanName, oceanNote string
	// own picks the kind's own requests out of the simulator's counts:
	// the project listing is shared by every per-project kind.
	own func(counts map[string]int) int
	// minimum is the fewest requests that read the set, and those
	// Ocean's code makes (resync/minimum).
	minimum func(*gitlabtest.Server, func(gitlabtest.ProjectInfo) bool) (least, ocean int)
}

// kindReading is what one reading of a kind saw.
type kindReading struct {
	// objects counts each object read, by its JSON.
	objects  map[string]int
	requests int
	wall     time.Duration
}

func (k oceanKind) rows(ctx context.Context, env Env) ([]Row, error) {
	projects := everyKindProjects(env)
	sim, org, simURL, stop := everyKindOrg(projects)
	defer stop()
	read := func(o crawl.Options) (kindReading, error) {
		c, err := gitlab.New(simURL, org.AdminToken, gitlab.Options{MaxConcurrent: 8, MaxRetries: 8}, nil)
		if err != nil {
			return kindReading{}, fmt.Errorf("client: %w", err)
		}
		s := &crawl.Source{Entry: tokenmap.Entry{Token: org.AdminToken, Patterns: []string{"**"}}, Client: c}
		r := kindReading{objects: map[string]int{}}
		sim.ResetRequests()
		start := time.Now()
		_, err = s.ProjectChildren(ctx, k.kind, o, func(p gitlab.Page) error {
			for _, item := range p.Items {
				b, err := json.Marshal(item)
				if err != nil {
					return err
				}
				r.objects[string(b)]++
			}
			return nil
		})
		r.wall = time.Since(start)
		if err != nil {
			return kindReading{}, fmt.Errorf("reading %s: %w", k.noun, err)
		}
		counts, _ := sim.Requests()
		r.requests = k.own(counts)
		return r, nil
	}
	ocean, err := read(k.ocean)
	if err != nil {
		return nil, err
	}
	got, err := read(k.options)
	if err != nil {
		return nil, err
	}
	least, oceanCode := k.minimum(sim, func(p gitlabtest.ProjectInfo) bool { return !p.EmptyRepo })
	equal := maps.Equal(got.objects, ocean.objects)
	objects := 0
	for _, n := range got.objects {
		objects += n
	}
	ratio := float64(got.requests) / float64(least)
	same := "the same objects as the " + k.oceanName + " reading"
	if !equal {
		same = fmt.Sprintf("**objects differ from the %s reading** (%d distinct vs %d)", k.oceanName, len(got.objects), len(ocean.objects))
	}
	return []Row{{
		Name:     fmt.Sprintf(k.name, projects),
		Measured: fmt.Sprintf("%d requests = %.3f × minimum %d", got.requests, ratio, least),
		Limit:    fmt.Sprintf("≤ %.2f × minimum, objects equal", resyncOverMinimum),
		OK:       ratio <= resyncOverMinimum && equal,
		Note: fmt.Sprintf("%d %s, %s; %s %d requests (Ocean's code: %d), %.1f s vs %.1f s",
			objects, k.noun, same, k.oceanNote, ocean.requests, oceanCode, got.wall.Seconds(), ocean.wall.Seconds()),
	}}, nil
}
