package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
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

func (a *app) simulateCommand() *cobra.Command {
	var f simFlags
	var listen, writeCfg string
	cmd := &cobra.Command{
		Use:   "simulate",
		Short: "Serve a simulated GitLab (REST API v4) with a generated organisation",
		Long: "Serves the GitLab simulator used by glsync's tests: groups, projects, hooks, pagination,\n" +
			"rate limits and injected faults. --write-config writes a glsync config file with the\n" +
			"simulated tokens, ready for `glsyncd resync --config FILE`.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
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
	return cmd
}
