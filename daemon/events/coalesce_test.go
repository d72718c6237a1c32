package events

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/crawl"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/selector"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

// jobSetup is a simulated GitLab with CI activity whose job events are
// captured (the simulator keeps each delivery's body), and a processor on
// a clock the test moves.
type jobSetup struct {
	sim   *gitlabtest.Server
	p     *Processor
	clock time.Time
	job   gitlabtest.Job
}

func newJobSetup(t *testing.T) *jobSetup {
	t.Helper()
	sim := gitlabtest.New(gitlabtest.Options{})
	org := sim.Generate(gitlabtest.OrgSpec{Roots: 1, Projects: 5, Seed: 3, Activity: true})
	ts := sim.Start(t)
	c, err := gitlab.New(ts.URL, org.AdminToken, gitlab.Options{RetryBase: time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mapping.Load("../../shared/mapping/all-kinds.yml")
	if err != nil {
		t.Fatal(err)
	}
	sink := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(sink.Close)
	sim.AddHook(gitlabtest.Hook{GroupID: org.Roots[0].ID, URL: sink.URL, Events: map[string]bool{"job_events": true}})
	s := &jobSetup{sim: sim, clock: time.Now()}
	s.p = &Processor{Sources: []*crawl.Source{{Entry: tokenmap.Entry{Token: org.AdminToken, Patterns: []string{"**"}}, Client: c}}, Mapping: m,
		Now: func() time.Time { return s.clock }}
	jobs := sim.Jobs()
	if len(jobs) == 0 {
		t.Fatal("no jobs generated")
	}
	s.job = jobs[0]
	// The token's groups are listed once, on the first event: not what
	// the tests count.
	if _, err := s.p.Sources[0].Covers(context.Background(), "any/path"); err != nil {
		t.Fatal(err)
	}
	return s
}

// event is the job's next Job Hook as GitLab sends it, received at t.
func (s *jobSetup) event(t *testing.T, at time.Time) *catalog.Event {
	t.Helper()
	ds := s.sim.JobEvent(context.Background(), s.job.ID)
	if len(ds) == 0 {
		t.Fatal("no delivery")
	}
	return &catalog.Event{Type: ds[0].Event, Body: ds[0].Body, ReceivedAt: at}
}

func (s *jobSetup) status(t *testing.T, res Result) any {
	t.Helper()
	if res.Outcome != Applied || len(res.Changes.Upserts[selector.KindJob]) != 1 {
		t.Fatalf("outcome %s (%s), upserts %v", res.Outcome, res.Detail, res.Changes.Upserts)
	}
	return res.Changes.Upserts[selector.KindJob][0].Properties["status"]
}

// Ten status events of one job received before its first fetch cost one
// fetch of the job (and one of its project): the nine others are applied
// from the same answers, with the same version. An event received after
// those requests were sent fetches again and sees GitLab's new state.
func TestTenJobEventsOneFetch(t *testing.T) {
	s := newJobSetup(t)
	ctx := context.Background()
	arrived := s.clock
	var evs []*catalog.Event
	for i := 0; i < 10; i++ {
		evs = append(evs, s.event(t, arrived))
	}
	s.sim.SetJobStatus(s.job.ID, "success")
	s.sim.ResetRequests()
	s.clock = arrived.Add(2 * DefaultCoalesceMargin) // the backlog is worked off later
	var version int64
	for i, ev := range evs {
		res, err := s.p.Handle(ctx, ev)
		if err != nil {
			t.Fatal(err)
		}
		if st := s.status(t, res); st != "success" {
			t.Fatalf("event %d: status %v, want GitLab's success", i, st)
		}
		v := res.Changes.Upserts[selector.KindJob][0].Version
		if i > 0 && v != version {
			t.Fatalf("event %d: version %d, want the first fetch's %d", i, v, version)
		}
		version = v
	}
	routes, total := s.sim.Requests()
	if total != 2 || routes["GET /projects/:id"] != 1 || routes["GET /projects/:id/jobs/:id"] != 1 {
		t.Fatalf("ten events made %d requests (%v), want one for the project and one for the job", total, routes)
	}
	if n := s.p.Coalesced.Load(); n != 18 {
		t.Fatalf("%d fetches coalesced, want 18", n)
	}

	// Received after those requests went: its change may not be in them.
	s.sim.SetJobStatus(s.job.ID, "failed")
	late := s.event(t, s.clock)
	s.clock = s.clock.Add(2 * DefaultCoalesceMargin)
	res, err := s.p.Handle(ctx, late)
	if err != nil {
		t.Fatal(err)
	}
	if st := s.status(t, res); st != "failed" {
		t.Fatalf("late event: status %v, want GitLab's failed", st)
	}
	if _, total := s.sim.Requests(); total != 4 {
		t.Fatalf("the late event made %d requests, want 2 of its own", total-2)
	}
	if res.Changes.Upserts[selector.KindJob][0].Version <= version {
		t.Fatal("the late event's version is not newer")
	}
}

// Within the margin an answer is not reused (clocks of replicas apart,
// GitLab's database replicas behind), and events without an arrival time
// always fetch.
func TestNoCoalescingWithinTheMargin(t *testing.T) {
	s := newJobSetup(t)
	ctx := context.Background()
	first := s.event(t, s.clock)
	s.clock = s.clock.Add(DefaultCoalesceMargin / 2)
	second := s.event(t, s.clock.Add(-DefaultCoalesceMargin/4)) // arrived before the first was processed
	s.sim.ResetRequests()
	for _, ev := range []*catalog.Event{first, second, {Type: second.Type, Body: second.Body}} {
		if _, err := s.p.Handle(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if _, total := s.sim.Requests(); total != 6 {
		t.Fatalf("%d requests, want 2 per event", total)
	}
}
