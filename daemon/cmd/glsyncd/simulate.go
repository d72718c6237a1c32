package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

// simFlags are the simulator settings shared by demo and simulate.
type simFlags struct {
	seed      int64
	projects  int
	roots     int
	depth     int
	latency   time.Duration
	errorRate float64
	rateLimit int
}

func (f *simFlags) register(cmd *cobra.Command, projects int) {
	fl := cmd.Flags()
	fl.Int64Var(&f.seed, "seed", 1, "seed of the generated organisation")
	fl.IntVar(&f.projects, "projects", projects, "number of projects")
	fl.IntVar(&f.roots, "roots", 3, "number of root groups (1-8)")
	fl.IntVar(&f.depth, "depth", 3, "subgroup nesting depth below each root")
	fl.DurationVar(&f.latency, "latency", 0, "latency added to every request")
	fl.Float64Var(&f.errorRate, "error-rate", 0, "fraction of requests answered 500/502/503")
	fl.IntVar(&f.rateLimit, "rate-limit", 0, "requests per minute per token (0: unlimited)")
}

// start generates the organisation and serves it on addr.
func (f *simFlags) start(ctx context.Context, addr string) (*gitlabtest.Server, gitlabtest.Org, string, func(), error) {
	if f.roots < 1 || f.roots > 8 {
		return nil, gitlabtest.Org{}, "", nil, usageErr(fmt.Errorf("--roots: must be between 1 and 8, got %d", f.roots))
	}
	sim := gitlabtest.New(gitlabtest.Options{Seed: f.seed, RateLimit: f.rateLimit})
	org := sim.Generate(gitlabtest.OrgSpec{Roots: f.roots, Projects: f.projects, Depth: f.depth, Seed: f.seed, Activity: true})
	sim.SetFaults(gitlabtest.Faults{Latency: f.latency, ErrorRate: f.errorRate})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, org, "", nil, failedErr(fmt.Errorf("simulator: %w", err))
	}
	url := "http://" + ln.Addr().String()
	sim.SetBaseURL(url)
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	stop := func() {
		c, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(c)
	}
	return sim, org, url, stop, nil
}

// demoMapping gives each root token different globs, like the spec's
// examples: services of two teams, a whole root, and one team's subtree.
func demoMapping(org gitlabtest.Org) tokenmap.Mapping {
	var m tokenmap.Mapping
	for i, tok := range org.RootTokens {
		var patterns []string
		switch i % 3 {
		case 0:
			patterns = []string{"**/DevopsTeam/*Service", "**/RnDTeam/*Service"}
		case 1:
			patterns = []string{"**"}
		case 2:
			patterns = []string{org.Roots[i].Path + "/PlatformTeam/**", org.Roots[i].Path + "/**/*Service"}
		}
		m = append(m, tokenmap.Entry{Token: tok, Patterns: patterns})
	}
	return m
}

// writeConfig writes a glsync config file for the simulator. The file
// holds tokens, so it is readable by its owner only.
func writeConfig(path, host string, m tokenmap.Mapping) error {
	// A yaml.Node keeps the tokens in tokenMapping order, which decides
	// which token owns an object several tokens can see.
	mapping := &yaml.Node{Kind: yaml.MappingNode}
	for _, e := range m {
		patterns := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for _, p := range e.Patterns {
			patterns.Content = append(patterns.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: p, Style: yaml.SingleQuotedStyle})
		}
		mapping.Content = append(mapping.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: e.Token}, patterns)
	}
	doc := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Value: "gitlabHost"}, {Kind: yaml.ScalarNode, Value: host},
		{Kind: yaml.ScalarNode, Value: "tokenMapping"}, mapping,
	}}
	b, err := yaml.Marshal(doc)
	if err != nil {
		return err
	}
	header := "# glsync config for the GitLab simulator (simulated tokens).\n"
	// Written whole, then renamed into place: a script waiting for the file
	// (until [ -s FILE ]) never reads half of it.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append([]byte(header), b...), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// envSimulatorToken names the simulator's control token: `simulate`
// makes it an admin token of the instance, `simulate event` sends it.
const envSimulatorToken = "GLSYNC_SIMULATOR_TOKEN"

// minSimulatorToken is the control token's minimum length, as adminToken's:
// it guards an API that changes the instance and sends webhooks.
const minSimulatorToken = 32

func (a *app) simulatorToken() (string, error) {
	tok := a.getenv(envSimulatorToken)
	if tok != "" && len(tok) < minSimulatorToken {
		return "", usageErr(fmt.Errorf("%s: must be at least %d characters, got %d (generate one: openssl rand -hex 16)",
			envSimulatorToken, minSimulatorToken, len(tok)))
	}
	return tok, nil
}

func (a *app) simulateCommand() *cobra.Command {
	var f simFlags
	var listen, writeCfg string
	cmd := &cobra.Command{
		Use:   "simulate",
		Short: "Serve a simulated GitLab (REST API v4) with a generated organisation",
		Long: "Serves the GitLab simulator used by glsync's tests: groups, projects, hooks, pagination,\n" +
			"rate limits and injected faults. --write-config writes a glsync config file with the\n" +
			"simulated tokens, ready for `glsyncd resync --config FILE`.\n\n" +
			"Live events: `glsyncd simulate event KIND` makes a push, a branch, a merge request, an\n" +
			"issue, a pipeline or a project in the running simulator, which delivers it, as GitLab\n" +
			"would, to the hooks registered on it (those glsyncd run creates when appHost is set).\n" +
			"It goes through the simulator's control API (POST " + gitlabtest.ControlPrefix + "events/KIND, a path\n" +
			"GitLab does not have), which changes state, so it takes only the simulator's admin\n" +
			"token, wherever --listen puts it: set " + envSimulatorToken + " (" + strconv.Itoa(minSimulatorToken) + "+ characters,\n" +
			"e.g. `openssl rand -hex 16`) for both `simulate` and `simulate event`; it is also an\n" +
			"admin token of the simulated API. Without it, the control API answers 401 to everyone\n" +
			"(the generated admin token does not open it: it follows from --seed).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			control, err := a.simulatorToken()
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "generating an organisation of %d projects (seed %d)…\n", f.projects, f.seed)
			sim, org, url, stop, err := f.start(cmd.Context(), listen)
			if err != nil {
				return err
			}
			defer stop()
			fmt.Fprintf(a.stdout, "GitLab simulator on %s/api/v4: %d root groups, %d groups, %d projects (seed %d)\n",
				url, len(org.Roots), org.GroupCount, f.projects, f.seed)
			for i, r := range org.Roots {
				fmt.Fprintf(a.stdout, "  root %-10s group access token %s\n", r.FullPath, tokenmap.Mask(org.RootTokens[i]))
			}
			fmt.Fprintf(a.stdout, "  admin token %s\n", tokenmap.Mask(org.AdminToken))
			if control != "" {
				sim.AddToken(gitlabtest.Token{Value: control, Kind: gitlabtest.AdminToken, Name: "simulator control"})
				sim.SetControlToken(control)
				fmt.Fprintf(a.stdout, "control API on %s%sevents/KIND (admin token %s from %s): try `glsyncd simulate event push --url %s --project PATH`\n",
					url, gitlabtest.ControlPrefix, tokenmap.Mask(control), envSimulatorToken, url)
			} else {
				// The seeded admin token follows from --seed: a token
				// never shown keeps the control API closed.
				sim.SetControlToken(randomHex(32))
				fmt.Fprintf(a.stdout, "control API off: set %s before starting simulate to make events with `glsyncd simulate event`\n", envSimulatorToken)
			}
			if writeCfg != "" {
				if err := writeConfig(writeCfg, url, demoMapping(org)); err != nil {
					return failedErr(fmt.Errorf("--write-config: %w", err))
				}
				fmt.Fprintf(a.stdout, "config with the tokens written to %s\n", writeCfg)
			}
			fmt.Fprintln(a.stdout, "press Ctrl-C to stop")
			<-cmd.Context().Done()
			_, total := sim.Requests()
			fmt.Fprintf(a.stdout, "served %d requests\n", total)
			return nil
		},
	}
	f.register(cmd, 5000)
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8081", "address to listen on")
	cmd.Flags().StringVar(&writeCfg, "write-config", "", "write a glsync config file for this simulator")
	cmd.AddCommand(a.simulateEventCommand())
	return cmd
}

func (a *app) simulateEventCommand() *cobra.Command {
	var ev gitlabtest.ControlEvent
	var baseURL, output string
	cmd := &cobra.Command{
		Use:       "event KIND",
		Short:     "Make a live event in a running simulator: it delivers the webhooks to the registered hooks",
		ValidArgs: gitlabtest.EventKinds,
		Long: "Asks a running `glsyncd simulate` (--url) to make one event, through its control API\n" +
			"(POST " + gitlabtest.ControlPrefix + "events/KIND, with the admin token from " + envSimulatorToken + ", the\n" +
			"value `simulate` was started with). The simulator changes its state as GitLab would, so\n" +
			"its API shows the change, and delivers the webhook, with GitLab's headers and payload, to\n" +
			"every group hook of the project's group or its ancestors and every system hook that\n" +
			"enables the event. Prints what changed and each delivery: hook, URL, HTTP status.\n" +
			"Exit 1 when a delivery failed (the change is made all the same, as in GitLab).\n\n" +
			"KIND:\n" +
			"  push           --project P [--file F [--content C | --remove]]  a commit on the default branch\n" +
			"  branch-create  --project P --branch B                           a branch from the default branch's head\n" +
			"  branch-delete  --project P --branch B                           (not the default branch)\n" +
			"  merge-request  --project P [--title T]                          opens one from a new branch\n" +
			"                 --project P --action merge|close|reopen --iid N  merging also pushes the merge commit\n" +
			"  issue          --project P [--title T]                          opens an issue\n" +
			"  pipeline       --project P [--ref R] [--status S]               a finished pipeline (default success)\n" +
			"  project        --group G --name N                               a project with a README\n" +
			"P is a path with namespace (acme/DevopsTeam/PaymentService) or a project id.",
		Example: "  export " + envSimulatorToken + "=$(openssl rand -hex 16)\n" +
			"  try=$(mktemp -d)\n" +
			"  glsyncd simulate --write-config \"$try/glsync.yaml\" &\n" +
			"  glsyncd simulate event merge-request --project acme/DevopsTeam/PaymentService --title 'Add a health check'",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("one KIND is needed: %s", strings.Join(gitlabtest.EventKinds, ", "))
			}
			if !slices.Contains(gitlabtest.EventKinds, args[0]) {
				return fmt.Errorf("unknown KIND %q: want one of %s", args[0], strings.Join(gitlabtest.EventKinds, ", "))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "json" && output != "table" {
				return usageErr(fmt.Errorf("--output: %q is not json or table", output))
			}
			tok, err := a.simulatorToken()
			if err != nil {
				return err
			}
			if tok == "" {
				return usageErr(fmt.Errorf("set %s to the value `glsyncd simulate` was started with: the control API takes only the simulator's admin token", envSimulatorToken))
			}
			if ev.Remove && ev.Content != "" {
				return usageErr(errors.New("--content and --remove: choose one"))
			}
			res, err := gitlabtest.SendEvent(cmd.Context(), baseURL, tok, args[0], ev)
			if err != nil {
				return failedErr(err)
			}
			if output == "json" {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(res); err != nil {
					return failedErr(err)
				}
			} else {
				printControlResult(a.stdout, res)
			}
			var failed int
			for _, d := range res.Deliveries {
				if d.Error != "" || d.Status >= 400 {
					failed++
				}
			}
			if failed > 0 {
				return failedErr(fmt.Errorf("simulate event: %d of %d deliveries failed", failed, len(res.Deliveries)))
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&baseURL, "url", "http://127.0.0.1:8081", "the simulator's URL (what `simulate` printed)")
	fl.StringVar(&ev.Project, "project", "", "project: path with namespace or id")
	fl.StringVar(&ev.Group, "group", "", "project: full path of the group to create it in")
	fl.StringVar(&ev.Name, "name", "", "project: its name")
	fl.StringVar(&ev.Title, "title", "", "merge-request, issue: the title")
	fl.StringVar(&ev.File, "file", "", "push: commit this file")
	fl.StringVar(&ev.Content, "content", "", "push: the file's content (default: a line with the time)")
	fl.BoolVar(&ev.Remove, "remove", false, "push: delete --file instead")
	fl.StringVar(&ev.Branch, "branch", "", "branch-create, branch-delete: the branch")
	fl.StringVar(&ev.Ref, "ref", "", "pipeline: the branch it ran on (default: the default branch)")
	fl.StringVar(&ev.Action, "action", "", "merge-request: open (default), merge, close or reopen")
	fl.Int64Var(&ev.IID, "iid", 0, "merge-request: the IID (!N) to merge, close or reopen")
	fl.StringVar(&ev.Status, "status", "", "pipeline: success (default), failed, canceled, running, …")
	fl.StringVarP(&output, "output", "o", "table", "output format: table or json")
	return cmd
}

// printControlResult says what changed and where each webhook went.
func printControlResult(w io.Writer, res gitlabtest.ControlResult) {
	fmt.Fprintln(w, res.Summary)
	if len(res.Deliveries) == 0 {
		fmt.Fprintln(w, "nothing was delivered: no hook of the project's groups, and no system hook, enables this event,\n"+
			"or GitLab disabled them after failed deliveries (glsyncd run with appHost set creates its hooks)")
		return
	}
	plural := "s"
	if len(res.Deliveries) == 1 {
		plural = ""
	}
	fmt.Fprintf(w, "delivered %d webhook%s:\n", len(res.Deliveries), plural)
	for _, d := range res.Deliveries {
		result := strconv.Itoa(d.Status)
		if d.Error != "" {
			result = "failed: " + d.Error
		}
		fmt.Fprintf(w, "  %-18s -> hook %d (%s) %s: %s\n", d.Event, d.HookID, d.Hook, d.URL, result)
	}
}
