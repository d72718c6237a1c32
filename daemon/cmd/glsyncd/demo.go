package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/glsync/terraform-provider-glsync/daemon/service"
	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
)

func (a *app) demoCommand() *cobra.Command {
	var f simFlags
	var catalogFlag string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run glsyncd against a simulated GitLab: resync, hooks, live webhook events",
		Long: "Starts the GitLab simulator with a seeded organisation and glsyncd on it (embedded catalog,\n" +
			"real webhook listener): the start-up resync fills the catalog, glsyncd creates its group\n" +
			"hooks, then the simulator creates a project and opens and merges a merge request (the\n" +
			"actions `simulate event` makes), and the demo shows each change reaching the catalog.\n" +
			"With --catalog port, the catalog is a Port simulator and the demo also runs a Port\n" +
			"action run: trigger_pipeline, the pipeline's end, the run's SUCCESS. Nothing to install.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := a.logger()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			sim, org, url, stop, err := f.start(ctx, "127.0.0.1:0")
			if err != nil {
				return err
			}
			defer stop()
			dir := a.dataDir
			if dir == "" {
				if dir, err = os.MkdirTemp("", "glsync-demo-"); err != nil {
					return failedErr(err)
				}
			}
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return failedErr(err)
			}
			wl, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return failedErr(err)
			}
			cfgPath := filepath.Join(dir, "config.yaml")
			m := demoMapping(org)
			if err := writeConfig(cfgPath, url, m); err != nil {
				return failedErr(err)
			}
			fmt.Fprintf(a.stdout, "GitLab simulator on %s: %d root groups, %d groups, %d projects\n", url, len(org.Roots), org.GroupCount, f.projects)
			fmt.Fprintf(a.stdout, "token mapping (config in %s):\n", cfgPath)
			for _, e := range m {
				fmt.Fprintf(a.stdout, "  %s -> %s\n", e.Masked(), strings.Join(e.Patterns, ", "))
			}

			a.configPath, a.dataDir = cfgPath, dir
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			cfg.AppHost = "http://" + wl.Addr().String()
			var dp *demoPort
			switch catalogFlag {
			case "embedded":
			case "port":
				dp = startDemoPort()
				defer dp.close()
				dp.configure(cfg)
				fmt.Fprintf(a.stdout, "Port simulator on %s: entities and action runs go there (integration %s)\n", dp.srv.URL, cfg.IntegrationIdentifier)
			default:
				return usageErr(fmt.Errorf("--catalog %q: want embedded or port", catalogFlag))
			}
			cfg.AdminToken = randomHex(16)
			mp, err := a.loadMapping(cfg.MappingOptions())
			if err != nil {
				return err
			}
			svcCtx, cancel := context.WithCancel(ctx)
			defer cancel()
			svc, err := service.Start(svcCtx, service.Options{Config: cfg, Mapping: mp, DataDir: dir, WebhookListener: wl,
				AdminListen: "127.0.0.1:0", Log: log, DrainTimeout: 5 * time.Second})
			if err != nil {
				return failedErr(err)
			}
			fmt.Fprintf(a.stdout, "\nglsyncd: webhooks on %s, admin API on %s\n\n", svc.WebhookAddr(), svc.AdminAddr())
			if _, err := waitUntil(ctx, 60*time.Second, func() (bool, error) { return svc.LastResync() != nil, nil }); err != nil {
				return failedErr(fmt.Errorf("demo: start-up resync: %w", err))
			}
			printSummary(a.stdout, svc.LastResync())
			if svc.LastResync().Failed() {
				return failedErr(errors.Join(errors.New("demo resync failed"), svc.LastResync().Err()))
			}
			if _, err := waitUntil(ctx, 10*time.Second, func() (bool, error) { return len(sim.Hooks()) >= len(org.Roots), nil }); err != nil {
				return failedErr(fmt.Errorf("demo: hooks were not created: %w", err))
			}
			fmt.Fprintf(a.stdout, "\nglsyncd created %d group hooks in GitLab:\n", len(sim.Hooks()))
			for _, h := range sim.Hooks() {
				fmt.Fprintf(a.stdout, "  group %d -> %s\n", h.GroupID, h.URL)
			}
			project, err := a.liveEvents(ctx, sim, org, svc)
			if err != nil {
				return err
			}
			if dp != nil {
				if err := a.actionRun(ctx, sim, dp, cfg.IntegrationIdentifier, project); err != nil {
					return err
				}
			}

			ents, err := svc.Store().List(ctx, catalog.Filter{})
			if err != nil {
				return failedErr(err)
			}
			per := map[string]int{}
			for _, e := range ents {
				per[e.Blueprint]++
			}
			var parts []string
			for _, bp := range slices.Sorted(maps.Keys(per)) {
				parts = append(parts, fmt.Sprintf("%d %s", per[bp], bp))
			}
			fmt.Fprintf(a.stdout, "\ncatalog in %s: %d entities (%s)\n", dir, len(ents), strings.Join(parts, ", "))
			fmt.Fprintln(a.stdout, "\na few services:")
			var sample []*catalog.Entity
			for _, e := range ents {
				if e.Blueprint == "service" && len(sample) < 5 {
					sample = append(sample, e)
				}
			}
			printTable(a.stdout, sample)
			cancel()
			if err := svc.Wait(); err != nil {
				return failedErr(err)
			}
			fmt.Fprintf(a.stdout, "\nquery it:\n  go run ./daemon/cmd/glsyncd catalog list --data-dir %s --blueprint service --output json\n", dir)
			fmt.Fprintln(a.stdout, "keep a simulator running for your own tries:\n  try=$(mktemp -d)\n  go run ./daemon/cmd/glsyncd simulate --write-config \"$try/glsync.yaml\"")
			return nil
		},
	}
	f.register(cmd, 600)
	cmd.Flags().StringVar(&catalogFlag, "catalog", "embedded", "embedded, or port: a Port simulator, with one self-service action run")
	return cmd
}

// liveEvents changes things in the simulated GitLab, which sends real
// webhook deliveries to glsyncd, and shows each change land. The changes
// are the simulator's user actions, the ones `glsyncd simulate event`
// makes through its control API.
func (a *app) liveEvents(ctx context.Context, sim *gitlabtest.Server, org gitlabtest.Org, svc *service.Service) (string, error) {
	team := sim.Group(org.Roots[0].FullPath + "/DevopsTeam")
	if team == nil {
		team = sim.AddGroup(org.Roots[0], "DevopsTeam")
	}
	fmt.Fprintln(a.stdout, "\nlive webhook events:")
	start := time.Now()
	p, _ := sim.CreateProject(ctx, team, "FreshService")
	id := team.FullPath + "/" + p.Path
	if err := a.await(ctx, svc, "service", id, true); err != nil {
		return "", err
	}
	fmt.Fprintf(a.stdout, "  project %s created (with a README) -> service entity created in %v\n", id, time.Since(start).Round(time.Millisecond))

	start = time.Now()
	mr, _ := sim.OpenMergeRequest(ctx, p.ID, "Add FreshService health check")
	mrID := strconv.FormatInt(mr.ID, 10)
	if err := a.await(ctx, svc, "gitlabMergeRequest", mrID, true); err != nil {
		return "", err
	}
	fmt.Fprintf(a.stdout, "  merge request !%d opened -> gitlabMergeRequest entity created in %v\n", mr.IID, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	if _, _, err := sim.ChangeMergeRequest(ctx, mr.ID, "merge"); err != nil {
		return "", failedErr(fmt.Errorf("demo: %w", err))
	}
	if err := a.await(ctx, svc, "gitlabMergeRequest", mrID, false); err != nil {
		return "", err
	}
	fmt.Fprintf(a.stdout, "  merge request !%d merged -> entity removed (the mapping syncs opened MRs) in %v\n", mr.IID, time.Since(start).Round(time.Millisecond))
	return id, nil
}

func (a *app) await(ctx context.Context, svc *service.Service, blueprint, id string, present bool) error {
	_, err := waitUntil(ctx, 10*time.Second, func() (bool, error) {
		ents, err := svc.Store().List(ctx, catalog.Filter{Blueprint: blueprint})
		if err != nil {
			return false, err
		}
		for _, e := range ents {
			if e.Identifier == id {
				return present, nil
			}
		}
		return !present, nil
	})
	if err != nil {
		return failedErr(fmt.Errorf("demo: %s %s: %w", blueprint, id, err))
	}
	return nil
}

// waitUntil polls cond every 10 ms until it holds, fails, or d passes.
func waitUntil(ctx context.Context, d time.Duration, cond func() (bool, error)) (time.Duration, error) {
	start := time.Now()
	for time.Since(start) < d {
		ok, err := cond()
		if err != nil {
			return 0, err
		}
		if ok {
			return time.Since(start), nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return 0, fmt.Errorf("not within %v", d)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
