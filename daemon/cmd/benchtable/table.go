// Command benchtable measures glsync against the GitLab simulator with
// injected latency and prints one table: each row a measurement next to
// the limit it must meet (`make bench`; BENCHMARKS.md records a run).
//
// Rows come from groups registered by the files of this package, each a
// scenario: project listing, full and incremental resyncs, pacing under a
// rate limit, live heap by organisation size, event throughput. A group
// can be run alone with -only.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
)

// Row is one measurement and its limit.
type Row struct {
	// Name says what was measured, e.g. "project listing, 10k projects".
	Name string
	// Measured and Limit are printed as given (with units).
	Measured, Limit string
	// OK reports whether Measured is within Limit.
	OK bool
	// Note adds what a reader needs to judge the row (requests, ratios).
	Note string
}

// Env is what every group gets: its scale and a quiet logger.
type Env struct {
	// Quick runs smaller organisations (the CI variant); the table says so.
	Quick bool
	Log   *slog.Logger
	// HeapProfile, when set, names the files (one per organisation size,
	// suffixed .n) the heap group rewrites with a heap profile each time a
	// run's live heap reaches a new peak, so the profile shows what was
	// live at the worst moment.
	HeapProfile string
}

// group is a scenario producing rows.
type group struct {
	name string
	run  func(ctx context.Context, env Env) ([]Row, error)
	// first groups run before the others (their rows still print in
	// registration order): the heap group measures the process's live
	// heap, which another group's leftovers (idle connections, pools
	// drained while it runs) would skew.
	first bool
}

var groups []group

// register adds a scenario; the table lists them in registration order
// (file name order, so files are named NN_*.go).
func register(name string, run func(ctx context.Context, env Env) ([]Row, error)) {
	groups = append(groups, group{name: name, run: run})
}

// registerFirst adds a scenario that runs before every other one.
func registerFirst(name string, run func(ctx context.Context, env Env) ([]Row, error)) {
	groups = append(groups, group{name: name, run: run, first: true})
}

func main() { os.Exit(run()) }

// run prints the table and returns the exit code (deferred work, the CPU
// profile's end, runs before the exit).
func run() int {
	only := flag.String("only", "", "comma-separated groups to run (default: all): "+names())
	quick := flag.Bool("quick", false, "smaller organisations (CI): rows are measured the same way, at smaller sizes")
	reportOnly := flag.Bool("report-only", false, "exit 0 when every group ran, even if a row misses its limit (CI's shared machines make timings unreliable; a group that fails to run, e.g. a listing that loses a project, still fails)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file (where the time goes)")
	heapProfile := flag.String("heapprofile", "", "heap group: for each organisation size n, write a heap profile taken at its highest live heap to this file name followed by .n (what the peak is made of)")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "benchtable: -cpuprofile: %v\n", err)
			return 2
		}
		defer pprof.StopCPUProfile()
	}
	if *heapProfile != "" {
		// The default rate samples one allocation per 512 KB: too coarse
		// to tell pages from their consumers' work at these sizes.
		runtime.MemProfileRate = 16 << 10
	}
	env := Env{Quick: *quick, HeapProfile: *heapProfile, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	byGroup := make([][]Row, len(groups))
	failed := false
	order := make([]int, 0, len(groups))
	for _, first := range []bool{true, false} {
		for i, g := range groups {
			if g.first == first {
				order = append(order, i)
			}
		}
	}
	for _, i := range order {
		g := groups[i]
		if *only != "" && !slices.Contains(strings.Split(*only, ","), g.name) {
			continue
		}
		start := time.Now()
		fmt.Fprintf(os.Stderr, "benchtable: %s…\n", g.name)
		rs, err := g.run(context.Background(), env)
		if err != nil {
			fmt.Fprintf(os.Stderr, "benchtable: %s: %v\n", g.name, err)
			failed = true
			continue
		}
		fmt.Fprintf(os.Stderr, "benchtable: %s done in %v\n", g.name, time.Since(start).Round(time.Millisecond))
		byGroup[i] = rs
	}
	var rows []Row
	for _, rs := range byGroup {
		rows = append(rows, rs...)
	}
	print(os.Stdout, rows)
	for _, r := range rows {
		if !r.OK && !*reportOnly {
			failed = true
		}
	}
	if failed {
		return 1
	}
	return 0
}

func names() string {
	var n []string
	for _, g := range groups {
		n = append(n, g.name)
	}
	return strings.Join(n, ",")
}

// print writes the table as Markdown, so BENCHMARKS.md can hold it as is.
func print(w io.Writer, rows []Row) {
	fmt.Fprintf(w, "machine: %s/%s, %d CPUs, %s\n\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	fmt.Fprintln(tw, "| row\t| measured\t| limit\t| ok\t| notes\t|")
	fmt.Fprintln(tw, "|---\t|---\t|---\t|---\t|---\t|")
	for _, r := range rows {
		ok := "yes"
		if !r.OK {
			ok = "**NO**"
		}
		fmt.Fprintf(tw, "| %s\t| %s\t| %s\t| %s\t| %s\t|\n", r.Name, r.Measured, r.Limit, ok, r.Note)
	}
	tw.Flush()
}

// repoFile is path in the repository, found from the working directory
// upwards (make bench runs in the repository's root; go run from any
// directory inside it works too).
func repoFile(path string) string {
	dir, err := os.Getwd()
	if err != nil {
		return path
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, path)
		}
		if filepath.Dir(d) == d {
			return path
		}
	}
}

// simulate generates spec (its seed seeds the simulator too) and serves it
// with latency added to every request; stop shuts the server down.
func simulate(spec gitlabtest.OrgSpec, latency time.Duration) (sim *gitlabtest.Server, org gitlabtest.Org, url string, stop func()) {
	sim = gitlabtest.New(gitlabtest.Options{Seed: spec.Seed})
	org = sim.Generate(spec)
	ts := httptest.NewServer(sim)
	sim.SetBaseURL(ts.URL)
	sim.SetFaults(gitlabtest.Faults{Latency: latency})
	return sim, org, ts.URL, ts.Close
}
