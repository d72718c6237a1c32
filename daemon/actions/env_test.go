package actions

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/daemon/events"
	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/crawl"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/port"
	"github.com/glsync/terraform-provider-glsync/shared/port/porttest"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

const installation = "my-gitlab"

// env is a simulated GitLab and Port, and what a processor needs of
// them. Token mapping: the admin token first, selecting only the second
// root group; the first root's owner token second, selecting its group.
// A project of the first root is therefore owned by the second entry,
// though the admin token (first) can reach it.
type env struct {
	gl       *gitlabtest.Server
	org      gitlabtest.Org
	port     *porttest.Server
	pc       *port.Client
	projects *events.Processor
	// project is a project of the first root; outside one of the third
	// root (no glob selects it).
	project, outside string
	projectID        int64
}

func newEnv(t *testing.T) *env {
	t.Helper()
	gl := gitlabtest.New(gitlabtest.Options{})
	org := gl.Generate(gitlabtest.OrgSpec{Roots: 3, Projects: 6, Depth: 2, Seed: 7})
	ts := gl.Start(t)
	e := &env{gl: gl, org: org, port: porttest.New("cid", "csecret")}
	pts := e.port.Start(t)
	var err error
	if e.pc, err = port.New(port.Options{BaseURL: pts.URL, ClientID: "cid", ClientSecret: "csecret", Integration: installation,
		MaxRetries: 1, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	mapping := tokenmap.Mapping{
		{Token: org.AdminToken, Patterns: []string{org.Roots[1].FullPath + "/**"}},
		{Token: org.RootTokens[0], Patterns: []string{org.Roots[0].FullPath + "/**"}},
	}
	var sources []*crawl.Source
	for _, m := range mapping {
		c, err := gitlab.New(ts.URL, m.Token, gitlab.Options{MaxRetries: 1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		sources = append(sources, &crawl.Source{Entry: m, Client: c})
	}
	e.projects = &events.Processor{Sources: sources}
	in := gl.AddProject(org.Roots[0], "Deployer")
	out := gl.AddProject(org.Roots[2], "Elsewhere")
	e.project, e.projectID = org.Roots[0].FullPath+"/"+in.Path, in.ID
	e.outside = org.Roots[2].FullPath + "/" + out.Path
	// A hook on every root, so a pipeline's end is delivered (and its
	// real payload returned by FinishPipeline).
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(sink.Close)
	for _, g := range org.Roots {
		gl.AddHook(gitlabtest.Hook{GroupID: g.ID, URL: sink.URL + "/integration/hook", Token: "s", Events: map[string]bool{"pipeline_events": true}})
	}
	return e
}

// processor is a processor on env with short intervals.
func (e *env) processor(t *testing.T) *Processor {
	return NewProcessor(e.pc, e.projects, ProcessorOptions{Log: testLog(t),
		Settings: Settings{PollInterval: 20 * time.Millisecond, VisibilityTimeout: time.Second, Workers: 2}})
}

func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// start runs p until the test ends or the returned cancel is called,
// which waits for it to stop.
func start(t *testing.T, p *Processor) func() {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); p.Run(ctx) }()
	stop := sync.OnceFunc(func() { cancel(); wg.Wait() })
	t.Cleanup(stop)
	return stop
}

func (e *env) newRun(props map[string]any) string {
	return e.port.CreateRun(porttest.NewRun{Action: "trigger_gitlab_pipeline", InstallationID: installation, Type: "trigger_pipeline", Properties: props})
}

func (e *env) run(t *testing.T, id string) porttest.ActionRun {
	t.Helper()
	r, ok := e.port.Run(id)
	if !ok {
		t.Fatalf("run %s is not in Port", id)
	}
	return r
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("%s: not within %v", what, d)
}

// finish ends pipeline id with status and hands the Pipeline Hook GitLab
// delivered to observe, as the event queue does.
func (e *env) finish(t *testing.T, id int64, status string, observe func(context.Context, *catalog.Event) error) {
	t.Helper()
	ds, err := e.gl.FinishPipeline(context.Background(), id, status)
	if err != nil || len(ds) == 0 {
		t.Fatalf("finishing pipeline %d: %v (%d deliveries)", id, err, len(ds))
	}
	if observe == nil {
		return
	}
	if err := observe(context.Background(), &catalog.Event{Type: ds[0].Event, Body: ds[0].Body, Delivery: ds[0].UUID}); err != nil {
		t.Fatal(err)
	}
}

func portRun(typ string) porttest.NewRun {
	return porttest.NewRun{Action: "some_action", InstallationID: installation, Type: typ, Properties: map[string]any{}}
}
