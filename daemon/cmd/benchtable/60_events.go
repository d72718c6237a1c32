package main

// Event throughput: a backlog of 20,000 mixed webhook events (2,000 with
// -quick) in the durable queue, as GitLab delivers them for CI runs, merge
// requests and issues (the simulator's deliveries, built from GitLab's
// own payloads), worked off by the event workers against a GitLab
// answering in 20 ms and in 200 ms. Every event still fetches its object
// (or reuses an answer GitLab gave after it arrived); the row reports
// events applied per second and GitLab requests per event.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/glsync/terraform-provider-glsync/daemon/events"
	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/crawl"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/stores/sqlitestore"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

func init() { register("events", eventRows) }

// eventsTarget is the least events applied per second from the backlog
// at 200 ms GitLab latency.
const eventsTarget = 500

// eventsMapping maps the kinds the backlog's events update.
const eventsMapping = `
visibility:
  useMinAccessLevel: false
filterOwnedProjects: false
resources:
  - kind: project
    selector: {query: 'true'}
    port:
      entity:
        mappings:
          identifier: .path_with_namespace
          title: .name
          blueprint: '"service"'
          properties: {url: .web_url, defaultBranch: .default_branch}
  - kind: merge-request
    selector: {query: 'true'}
    port:
      entity:
        mappings:
          identifier: .id | tostring
          title: .title
          blueprint: '"gitlabMergeRequest"'
          properties: {status: .state, link: .web_url}
  - kind: issue
    selector: {query: 'true'}
    port:
      entity:
        mappings:
          identifier: .id | tostring
          title: .title
          blueprint: '"gitlabIssue"'
          properties: {status: .state, link: .web_url}
  - kind: pipeline
    selector: {query: 'true'}
    port:
      entity:
        mappings:
          identifier: .id | tostring
          title: '.__project.name + " #" + (.iid | tostring)'
          blueprint: '"gitlabPipeline"'
          properties: {status: .status, ref: .ref}
  - kind: job
    selector: {query: 'true'}
    port:
      entity:
        mappings:
          identifier: .id | tostring
          title: .name
          blueprint: '"gitlabJob"'
          properties: {status: .status, stage: .stage}
`

func eventRows(ctx context.Context, env Env) ([]Row, error) {
	n, projects := 20000, 1000
	if env.Quick {
		n, projects = 2000, 1000
	}
	sim, org, simURL, stop := simulate(gitlabtest.OrgSpec{Roots: 2, Projects: projects, Depth: 3, Seed: 60, Activity: true}, 0)
	defer stop()
	backlog, err := deliverBacklog(ctx, sim, org, n)
	if err != nil {
		return nil, err
	}
	m, err := mapping.Parse([]byte(eventsMapping))
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "benchtable-events")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var rows []Row
	for _, latency := range []time.Duration{20 * time.Millisecond, 200 * time.Millisecond} {
		r, err := drainBacklog(ctx, env, sim, simURL, org.AdminToken, m, backlog, dir+"/"+latency.String(), latency)
		if err != nil {
			return nil, fmt.Errorf("backlog at %v: %w", latency, err)
		}
		r.Name = fmt.Sprintf("events applied from a backlog of %d mixed events, %v GitLab latency", len(backlog), latency)
		if latency == 200*time.Millisecond {
			r.Limit = fmt.Sprintf("≥ %d/s", eventsTarget)
		} else {
			r.Limit = "(reported)"
			r.OK = true
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// deliverBacklog makes GitLab deliver n events to a hook on every root:
// CI runs (a pipeline's pending, each job's pending, running and final
// status, the pipeline's running and final), merge requests and issues
// updated twice, projects interleaved as they would be in time.
func deliverBacklog(ctx context.Context, sim *gitlabtest.Server, org gitlabtest.Org, n int) ([]gitlabtest.Delivery, error) {
	sink := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer sink.Close()
	for _, r := range org.Roots {
		sim.AddHook(gitlabtest.Hook{GroupID: r.ID, URL: sink.URL, Token: "bench-secret", Events: map[string]bool{
			"job_events": true, "pipeline_events": true, "merge_requests_events": true, "issues_events": true}})
	}
	byProject := map[int64][]func() int{}
	jobsOf := map[int64][]gitlabtest.Job{}
	var pipelines []int64
	for _, j := range sim.Jobs() {
		if jobsOf[j.PipelineID] == nil {
			pipelines = append(pipelines, j.PipelineID)
		}
		jobsOf[j.PipelineID] = append(jobsOf[j.PipelineID], j)
	}
	slices.Sort(pipelines)
	for _, pid := range pipelines {
		js := jobsOf[pid]
		slices.SortFunc(js, func(a, b gitlabtest.Job) int { return int(a.ID - b.ID) })
		byProject[js[0].ProjectID] = append(byProject[js[0].ProjectID], func() int {
			d := len(sim.PipelineEvent(ctx, pid))
			for _, j := range js {
				for _, st := range []string{"pending", "running", j.Status} {
					sim.SetJobStatus(j.ID, st)
					d += len(sim.JobEvent(ctx, j.ID))
				}
			}
			return d + len(sim.PipelineEvent(ctx, pid)) + len(sim.PipelineEvent(ctx, pid))
		})
	}
	for _, mr := range sim.MergeRequests() {
		byProject[mr.ProjectID] = append(byProject[mr.ProjectID], func() int {
			return len(sim.MergeRequestEvent(ctx, mr.ID, "update")) + len(sim.MergeRequestEvent(ctx, mr.ID, "update"))
		})
	}
	for _, is := range sim.Issues() {
		byProject[is.ProjectID] = append(byProject[is.ProjectID], func() int {
			return len(sim.IssueEvent(ctx, is.ID, "update")) + len(sim.IssueEvent(ctx, is.ID, "update"))
		})
	}
	var ids []int64
	for id := range byProject {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	// Projects side by side, their activities interleaved as in time (the
	// first of every project, then the second...), until n deliveries.
	var mu sync.Mutex
	sent := 0
	for round := 0; sent < n; round++ {
		var acts []func() int
		for _, id := range ids {
			if round < len(byProject[id]) {
				acts = append(acts, byProject[id][round])
			}
		}
		if len(acts) == 0 {
			break
		}
		next := make(chan func() int)
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Go(func() {
				for act := range next {
					d := act()
					mu.Lock()
					sent += d
					mu.Unlock()
				}
			})
		}
		for _, act := range acts {
			mu.Lock()
			done := sent >= n
			mu.Unlock()
			if done {
				break
			}
			next <- act
		}
		close(next)
		wg.Wait()
	}
	all := sim.Deliveries()
	if len(all) < n {
		return nil, fmt.Errorf("the organisation's activity made %d deliveries, %d wanted", len(all), n)
	}
	for _, d := range all {
		if d.Err != nil || d.Status != http.StatusOK {
			return nil, fmt.Errorf("delivery %s failed: %d %v", d.UUID, d.Status, d.Err)
		}
	}
	return all[:n], nil
}

// drainBacklog queues the deliveries in a fresh SQLite store and measures
// the workers applying all of them at the given GitLab latency.
func drainBacklog(ctx context.Context, env Env, sim *gitlabtest.Server, host, token string, m *mapping.Config, backlog []gitlabtest.Delivery, dir string, latency time.Duration) (Row, error) {
	var r Row
	store, err := sqlitestore.Open(dir)
	if err != nil {
		return r, err
	}
	defer store.Close()
	for _, d := range backlog {
		ev := &catalog.Event{Delivery: d.UUID, Source: "group", Type: d.Event, Object: events.ObjectKey(d.Event, d.Body), Body: d.Body, ReceivedAt: time.Now()}
		if _, err := store.Enqueue(ctx, ev); err != nil {
			return r, err
		}
	}
	cfg := &config.Config{MaxConcurrentRequests: 8, MaxRetries: 8}
	c, err := gitlab.New(host, token, cfg.ClientOptions(gitlab.Options{MaxConcurrent: 8, Logger: env.Log, Shared: gitlab.NewShared()}), nil)
	if err != nil {
		return r, err
	}
	p := &events.Processor{Sources: []*crawl.Source{crawl.NewSource(tokenmap.Entry{Token: token, Patterns: []string{"**"}}, c, m.Listing())}, Mapping: m, Entities: store}
	maxBody := int64(25 << 20)
	tq := &timedQueue{Queue: store}
	w := events.NewWorker(tq, p, events.WorkerOptions{Log: env.Log, Workers: 4, MaxBytes: config.DefaultInFlightBytes(maxBody) / 2, MaxEventBytes: maxBody,
		Concurrency: func() int { return 2 * p.InFlightLimit() }})
	sim.SetFaults(gitlabtest.Faults{Latency: latency})
	defer sim.SetFaults(gitlabtest.Faults{})
	sim.ResetRequests()
	run, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	start := time.Now()
	go func() { defer close(done); w.Run(run, time.Minute) }()
	for {
		left, err := store.Depth(ctx)
		if err != nil {
			stop()
			<-done
			return r, err
		}
		if left == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	took := time.Since(start)
	stop()
	<-done
	dead, err := store.DeadLetters(ctx)
	if err != nil {
		return r, err
	}
	_, requests := sim.Requests()
	rate := float64(len(backlog)) / took.Seconds()
	r.Measured = fmt.Sprintf("%.0f events/s", rate)
	r.OK = rate >= eventsTarget && dead == 0
	r.Note = fmt.Sprintf("%.1f s; %.2f requests/event (%d); %d fetches coalesced; in-flight bound %d; %d queue claims (%.1f s); %d dead letters",
		took.Seconds(), float64(requests)/float64(len(backlog)), requests, p.Coalesced.Load(), c.InFlightLimit(), tq.claims, tq.claimT.Seconds(), dead)
	return r, nil
}

// timedQueue counts the queue's claims and the time they take: one
// claim scans the queue for each object's oldest event, and the workers
// claim from one goroutine.
type timedQueue struct {
	catalog.Queue
	mu     sync.Mutex
	claims int
	claimT time.Duration
}

func (q *timedQueue) Claim(ctx context.Context, n int, maxBytes int64, lease time.Duration) ([]*catalog.Event, error) {
	t := time.Now()
	evs, err := q.Queue.Claim(ctx, n, maxBytes, lease)
	q.mu.Lock()
	q.claims++
	q.claimT += time.Since(t)
	q.mu.Unlock()
	return evs, err
}
