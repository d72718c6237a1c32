package main

// Live heap by organisation size: a resync into the embedded catalog,
// one into Port through the sink, and `glsyncd catalog list --output
// json`, each at 1k, 10k and 100k projects (1k, 3k, 10k with -quick).
// Memory must stay flat: each size's peak within 1.5 × the smallest's.
//
// GitLab and Port are simulated in a child process (this binary run
// again with heapSimEnv set), not in this one: the simulators hold the
// whole organisation and allocate per request in proportion to it, and
// in the same process that would be counted as glsync's. Here the live
// heap is glsync's alone.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"sync"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/port"
	"github.com/glsync/terraform-provider-glsync/shared/port/porttest"
	"github.com/glsync/terraform-provider-glsync/shared/portsink"
	"github.com/glsync/terraform-provider-glsync/shared/resync"
	"github.com/glsync/terraform-provider-glsync/shared/stores/sqlitestore"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

// heapSimEnv, set to a number of projects, makes this binary the
// simulators' process instead of the table (see serveHeapSim).
const heapSimEnv = "GLSYNC_BENCHTABLE_HEAP_SIM"

// heapGrowthLimit is how much more live heap the largest organisation
// may take than the smallest.
const heapGrowthLimit = 1.5

// heapMapping is the default mapping's four kinds (groups, projects, and
// the merge requests and issues listed per root group) plus two kinds
// listed per project: deployments (two per service) and releases. Not
// pipelines: the simulator scans every pipeline of the instance for each
// project's listing, which at 100,000 projects takes it most of an hour.
const heapMapping = `
deleteDependentEntities: true
createMissingRelatedEntities: true
resources:
  - kind: group
    selector: {query: 'true'}
    port:
      entity:
        mappings:
          identifier: .id | tostring
          title: .full_name
          blueprint: '"gitlabGroup"'
          properties: {fullPath: .full_path, url: .web_url, description: .description}
          relations:
            parentGroup: if .parent_id then (.parent_id | tostring) else null end
  - kind: project
    selector: {query: 'true'}
    port:
      entity:
        mappings:
          identifier: .path_with_namespace | gsub(" "; "")
          title: .name
          blueprint: '"service"'
          properties:
            url: .web_url
            description: .description
            defaultBranch: .default_branch
            visibility: .visibility
            archived: .archived
            topics: .topics
            lastActivityAt: .last_activity_at
          relations:
            group: .namespace.id | tostring
  - kind: merge-request
    selector: {query: 'true', states: [opened], updatedAfter: 90}
    port:
      entity:
        mappings:
          identifier: .id | tostring
          title: .title
          blueprint: '"gitlabMergeRequest"'
          properties: {status: .state, link: .web_url, author: .author.username}
          relations:
            service: .references.full | sub("!.+$"; "")
  - kind: issue
    selector: {query: 'true', state: opened, updatedAfter: 90}
    port:
      entity:
        mappings:
          identifier: .id | tostring
          title: .title
          blueprint: '"gitlabIssue"'
          properties: {status: .state, link: .web_url, labels: .labels}
          relations:
            service: .references.full | sub("#.+$"; "")
  - kind: deployment
    selector: {query: 'true', apiQueryParams: {status: success}}
    port:
      entity:
        mappings:
          identifier: .id | tostring
          title: (.environment.name + " " + .sha[0:8])
          blueprint: '"gitlabDeployment"'
          properties: {environment: .environment.name, status: .status}
          relations:
            service: .__project.path_with_namespace
  - kind: release
    selector: {query: 'true', limitPerProject: 5}
    port:
      entity:
        mappings:
          identifier: .__project.path_with_namespace + "@" + .tag_name
          title: .name
          blueprint: '"gitlabRelease"'
          properties: {tag: .tag_name, link: ._links.self}
          relations:
            service: .__project.path_with_namespace
`

func init() {
	if n := os.Getenv(heapSimEnv); n != "" {
		// The child: it serves and exits; the table is the parent's.
		os.Exit(serveHeapSim(n))
	}
	registerFirst("heap", heapGroup)
}

// heapSim is what the simulators' process tells the table.
type heapSim struct {
	GitLab, Port string
	Tokens       []string
	Groups       int
}

// heapSimSecret is the simulated Port's client secret.
const heapSimID, heapSimSecret = "bench-id", "bench-secret"

// serveHeapSim generates an organisation of n projects (saying what it
// does on stderr), serves it and an empty Port, prints their addresses
// as one JSON line and serves until stdin closes (the table is done or
// gone).
func serveHeapSim(n string) int {
	projects, err := strconv.Atoi(n)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", heapSimEnv, err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	sim := gitlabtest.New(gitlabtest.Options{Seed: 42})
	org := sim.Generate(gitlabtest.OrgSpec{Roots: 3, Projects: projects, Depth: 3, Seed: 42, Activity: true, Log: log})
	serve := func(h http.Handler) (string, error) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		go func() { _ = (&http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}).Serve(ln) }()
		return "http://" + ln.Addr().String(), nil
	}
	gl, err := serve(sim)
	if err != nil {
		fmt.Fprintf(os.Stderr, "simulator: %v\n", err)
		return 1
	}
	sim.SetBaseURL(gl)
	pt, err := serve(porttest.New(heapSimID, heapSimSecret))
	if err != nil {
		fmt.Fprintf(os.Stderr, "Port simulator: %v\n", err)
		return 1
	}
	if err := json.NewEncoder(os.Stdout).Encode(heapSim{GitLab: gl, Port: pt, Tokens: org.RootTokens, Groups: org.GroupCount}); err != nil {
		return 1
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

// startHeapSim runs the simulators' process for n projects; stop ends it.
func startHeapSim(n int) (sim heapSim, stop func(), err error) {
	exe, err := os.Executable()
	if err != nil {
		return sim, nil, fmt.Errorf("heap: %w", err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), heapSimEnv+"="+strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return sim, nil, fmt.Errorf("heap: %w", err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return sim, nil, fmt.Errorf("heap: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return sim, nil, fmt.Errorf("heap: starting the simulators: %w", err)
	}
	stop = func() {
		in.Close()
		_ = cmd.Wait()
	}
	line, err := bufio.NewReader(out).ReadBytes('\n')
	if err == nil {
		err = json.Unmarshal(line, &sim)
	}
	if err != nil {
		stop()
		return sim, nil, fmt.Errorf("heap: the simulators did not start: %w", err)
	}
	return sim, stop, nil
}

// liveHeap is the heap the last GC found live: garbage waiting for the
// collector says nothing about what glsync keeps.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// heapProfiler keeps a heap profile of the highest live heap seen at one
// organisation size (nil: no profile).
type heapProfiler struct {
	file string
	best uint64
}

// seen writes the profile when live beats the best so far by 2% (each
// write costs a stop of the world; small gains are not worth it).
func (p *heapProfiler) seen(live uint64) {
	if p == nil || live <= p.best+p.best/50 {
		return
	}
	p.best = live
	f, err := os.Create(p.file)
	if err == nil {
		err = pprof.Lookup("heap").WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "benchtable: -heapprofile: %v\n", err)
	}
}

// peakLiveHeap runs fn and returns the highest live heap seen meanwhile,
// above what was live before it began.
func peakLiveHeap(prof *heapProfiler, fn func() error) (uint64, error) {
	// Frequent collections keep the live-heap samples fresh; these runs
	// are not timed.
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	base := liveHeap()
	var peak uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			live := liveHeap()
			prof.seen(live)
			peak = max(peak, live)
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	err := fn()
	close(stop)
	wg.Wait()
	if peak < base {
		return 0, err
	}
	return peak - base, err
}

// heapRun is one size's measurements.
type heapRun struct {
	projects                       int
	sqlite, port, list             uint64
	entities, portEntities         int
	sqliteTook, portTook, listTook time.Duration
	listBytes                      int64
	portFirst, portSecond          uint64
	sqliteRequests                 int64
}

func heapGroup(ctx context.Context, env Env) ([]Row, error) {
	sizes := []int{1000, 10000, 100000}
	if env.Quick {
		sizes = []int{1000, 3000, 10000}
	}
	dir, err := os.MkdirTemp("", "benchtable-heap-")
	if err != nil {
		return nil, fmt.Errorf("heap: %w", err)
	}
	defer os.RemoveAll(dir)
	mappingFile := filepath.Join(dir, "mapping.yml")
	if err := os.WriteFile(mappingFile, []byte(heapMapping), 0o600); err != nil {
		return nil, fmt.Errorf("heap: %w", err)
	}
	var runs []heapRun
	for _, n := range sizes {
		var prof *heapProfiler
		if env.HeapProfile != "" {
			prof = &heapProfiler{file: fmt.Sprintf("%s.%d", env.HeapProfile, n)}
		}
		r, err := heapAt(ctx, env, prof, n, filepath.Join(dir, strconv.Itoa(n)), mappingFile)
		if err != nil {
			return nil, fmt.Errorf("heap at %d projects: %w", n, err)
		}
		fmt.Fprintf(os.Stderr, "benchtable: heap at %d projects: resync %s (%v), Port sink %s (first %s, second %s; %v), catalog list %s (%d entities, %v)\n",
			n, mb(r.sqlite), r.sqliteTook.Round(time.Millisecond), mb(r.port), mb(r.portFirst), mb(r.portSecond), r.portTook.Round(time.Millisecond),
			mb(r.list), r.entities, r.listTook.Round(time.Millisecond))
		runs = append(runs, r)
	}
	var rows []Row
	add := func(what string, val func(heapRun) uint64, note func(heapRun) string) {
		base := val(runs[0])
		for _, r := range runs {
			row := Row{Name: fmt.Sprintf("peak live heap, %s, %s projects", what, size(r.projects)), Measured: mb(val(r)), Note: note(r)}
			if r.projects == runs[0].projects {
				row.Limit, row.OK = "baseline of the rows below", true
			} else {
				row.Limit = fmt.Sprintf("≤ %.1f × the %s value (%s)", heapGrowthLimit, size(runs[0].projects), mb(uint64(heapGrowthLimit*float64(base))))
				row.OK = float64(val(r)) <= heapGrowthLimit*float64(base)
				row.Note = fmt.Sprintf("%.2f× the %s value; %s", float64(val(r))/float64(max(base, 1)), size(runs[0].projects), row.Note)
			}
			rows = append(rows, row)
		}
	}
	add("resync into SQLite", func(r heapRun) uint64 { return r.sqlite }, func(r heapRun) string {
		return fmt.Sprintf("%d entities, %d GitLab requests, %v", r.entities, r.sqliteRequests, r.sqliteTook.Round(time.Second))
	})
	add("resync into Port (sink)", func(r heapRun) uint64 { return r.port }, func(r heapRun) string {
		return fmt.Sprintf("higher of a first resync (%s) and a second (%s, reconciles Port's owned entities); %d entities, %v",
			mb(r.portFirst), mb(r.portSecond), r.portEntities, r.portTook.Round(time.Second))
	})
	add("catalog list --output json", func(r heapRun) uint64 { return r.list }, func(r heapRun) string {
		return fmt.Sprintf("%d entities, %d MB of JSON, %v", r.entities, r.listBytes>>20, r.listTook.Round(time.Millisecond))
	})
	return rows, nil
}

// heapAt measures one organisation size.
func heapAt(ctx context.Context, env Env, prof *heapProfiler, n int, dir, mappingFile string) (heapRun, error) {
	r := heapRun{projects: n}
	sim, stop, err := startHeapSim(n)
	if err != nil {
		return r, err
	}
	defer stop()
	var tm tokenmap.Mapping
	for _, tok := range sim.Tokens {
		tm = append(tm, tokenmap.Entry{Token: tok, Patterns: []string{"**"}})
	}
	cfg := &config.Config{TokenMapping: tm, GitLabHost: sim.GitLab, MaxConcurrentRequests: 8, MaxRetries: 8,
		PortBaseURL: sim.Port, PortClientID: heapSimID, PortClientSecret: heapSimSecret, IntegrationIdentifier: "bench"}
	m, err := mapping.Load(mappingFile)
	if err != nil {
		return r, err
	}

	// Into the embedded catalog.
	store, err := sqlitestore.Open(filepath.Join(dir, "sqlite"))
	if err != nil {
		return r, err
	}
	defer store.Close()
	start := time.Now()
	var sum *resync.Summary
	r.sqlite, err = peakLiveHeap(prof, func() error {
		var err error
		sum, err = resync.Run(ctx, resync.Options{Config: cfg, Mapping: m, Store: store, Logger: env.Log})
		return resyncErr(sum, err)
	})
	r.sqliteTook = time.Since(start)
	if err != nil {
		return r, fmt.Errorf("resync into SQLite: %w", err)
	}
	r.sqliteRequests = sum.Requests

	// catalog list --output json, from that catalog.
	runtime.GC()
	w := &gcWriter{base: liveHeap()}
	start = time.Now()
	err = catalog.WriteJSON(ctx, w, store, catalog.Filter{})
	r.listTook = time.Since(start)
	r.list = w.peak
	if err != nil {
		return r, fmt.Errorf("catalog list: %w", err)
	}
	r.listBytes = w.n
	if r.entities, err = store.CountEntities(ctx); err != nil {
		return r, err
	}

	// Into Port, through the sink and its mirror: a first resync writes
	// everything, a second finds it unchanged and reconciles what Port
	// holds for the integration.
	mirror, err := sqlitestore.Open(filepath.Join(dir, "mirror"))
	if err != nil {
		return r, err
	}
	defer mirror.Close()
	client, err := port.New(port.Options{BaseURL: sim.Port, ClientID: heapSimID, ClientSecret: heapSimSecret, Integration: "bench"})
	if err != nil {
		return r, err
	}
	sink, pm, err := portsink.SetupWith(ctx, cfg, client, mirror, mappingFile, env.Log)
	if err != nil {
		return r, fmt.Errorf("port sink: %w", err)
	}
	start = time.Now()
	for i, peak := range []*uint64{&r.portFirst, &r.portSecond} {
		*peak, err = peakLiveHeap(prof, func() error {
			sum, err := resync.Run(ctx, resync.Options{Config: cfg, Mapping: pm, Store: sink, Logger: env.Log})
			return resyncErr(sum, err)
		})
		if err != nil {
			return r, fmt.Errorf("resync %d into Port: %w", i+1, err)
		}
	}
	r.portTook = time.Since(start) / 2
	r.port = max(r.portFirst, r.portSecond)
	if r.portEntities, err = mirror.CountEntities(ctx); err != nil {
		return r, err
	}
	return r, nil
}

func resyncErr(sum *resync.Summary, err error) error {
	if err != nil {
		return err
	}
	if sum.Failed() {
		return sum.Err()
	}
	if sum.Kinds == nil {
		return errors.New("no kind resynced")
	}
	return nil
}

// gcWriter drops a listing, counting its bytes, and measures the live
// heap at each write (a buffer of 64 KB) after a full collection. The
// listing runs on one goroutine, which waits in runtime.GC, so nothing
// is allocated while the collector marks and the measure is exact: a
// sampler beside a heap this small mostly measures what is allocated
// during each mark, and finds a higher peak the longer it samples.
type gcWriter struct {
	n          int64
	base, peak uint64
}

func (w *gcWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	runtime.GC()
	if v := liveHeap(); v > w.base {
		w.peak = max(w.peak, v-w.base)
	}
	return len(p), nil
}

func mb(b uint64) string {
	if b < 1<<20 {
		return fmt.Sprintf("%d KB", b>>10)
	}
	return fmt.Sprintf("%.1f MB", float64(b)/(1<<20))
}

func size(n int) string {
	if n%1000 == 0 {
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}
