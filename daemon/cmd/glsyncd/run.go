package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/glsync/terraform-provider-glsync/daemon/service"
	"github.com/glsync/terraform-provider-glsync/shared/catalog/sqlitestore"
	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/crawl"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/origin"
)

const (
	envListen        = "GLSYNC_LISTEN"
	envAdminListen   = "GLSYNC_ADMIN_LISTEN"
	envMetricsListen = "GLSYNC_METRICS_LISTEN"
)

func (a *app) runCommand() *cobra.Command {
	var listen, adminListen, metricsListen string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the daemon: webhooks, event workers, scheduled resyncs, hooks and the admin API",
		Long: "Serves GitLab webhook deliveries on --listen (POST /integration/hook/{group_id} and\n" +
			"/integration/system/hook), keeps the hooks GitLab needs when appHost is set, resyncs on\n" +
			"start-up and on scheduledResyncInterval or resyncCron, and serves /healthz, /readyz,\n" +
			"/metrics, POST /resync and GET /status on --admin-listen.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, cfg, m, err := a.load()
			if err != nil {
				return err
			}
			if listen == "" {
				listen = orEnv(a.getenv(envListen), ":8000")
			}
			if adminListen == "" {
				adminListen = orEnv(a.getenv(envAdminListen), "127.0.0.1:8001")
			}
			if metricsListen == "" {
				metricsListen = a.getenv(envMetricsListen)
			}
			err = service.Run(cmd.Context(), service.Options{Config: cfg, Mapping: m, MappingPath: a.mappingFile(), Version: version,
				DataDir: a.resolvedDataDir(), Listen: listen, AdminListen: adminListen, MetricsListen: metricsListen, Log: log})
			if err != nil {
				return a.storeErr(err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "", "webhook listen address (env "+envListen+", default :8000)")
	cmd.Flags().StringVar(&adminListen, "admin-listen", "", "admin API listen address (env "+envAdminListen+", default 127.0.0.1:8001)")
	cmd.Flags().StringVar(&metricsListen, "metrics-listen", "", "serve /metrics, /healthz and /readyz here too, for Prometheus and probes (env "+envMetricsListen+")")
	return cmd
}

func orEnv(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

func (a *app) hooksCommand() *cobra.Command {
	c := &cobra.Command{Use: "hooks", Short: "Show or apply the GitLab hooks glsync needs (appHost must be set)"}
	var rotate bool
	run := func(apply bool) func(cmd *cobra.Command, _ []string) error {
		return func(cmd *cobra.Command, _ []string) error {
			log, err := a.logger()
			if err != nil {
				return err
			}
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			if cfg.AppHost == "" {
				return usageErr(fmt.Errorf("config: appHost: is required to manage hooks (set it or %s)", config.EnvAppHost))
			}
			// hooks plan only reads: it creates no catalog or secret key (a
			// plan made on an empty data directory would find every hook's
			// secret unknown, and suggest rotating the running daemon's).
			open := a.openStore
			if !apply {
				open = a.openExisting
			}
			store, err := open(cmd.Context())
			if errors.Is(err, sqlitestore.ErrNoCatalog) {
				return usageErr(fmt.Errorf("%w\nhooks plan compares GitLab's hooks with the hook secrets a catalog holds: point --data-dir (or %s) at the data directory "+
					"of the glsyncd that receives the hooks (from %s now)", err, envDataDir, a.dataDirSource()))
			}
			if err != nil {
				return err
			}
			defer store.Close()
			var sources []*crawl.Source
			for _, e := range cfg.TokenMapping {
				c, err := gitlab.New(cfg.GitLabHost, e.Token, cfg.ClientOptions(gitlab.Options{MaxConcurrent: cfg.MaxConcurrentRequests, MaxRetries: cfg.MaxRetries, Logger: log}), nil)
				if err != nil {
					return failedErr(err)
				}
				sources = append(sources, &crawl.Source{Entry: e, Client: c})
			}
			plan, res, err := service.ReconcileWith(cmd.Context(), cfg, sources, store, service.ReconcileOptions{Apply: apply, RotateSecrets: rotate}, log)
			if err != nil {
				return failedErr(err)
			}
			for _, act := range plan.Actions {
				fmt.Fprintln(a.stdout, act.String())
			}
			for _, p := range plan.Problems {
				fmt.Fprintln(a.stdout, "problem:", p.Error())
			}
			fmt.Fprintf(a.stdout, "%d change(s), %d problem(s)\n", plan.Changes(), len(plan.Problems))
			if apply {
				fmt.Fprintf(a.stdout, "applied %d, failed %d\n", len(res.Done), len(res.Failed))
				for _, f := range res.Failed {
					fmt.Fprintln(a.stdout, "failed:", f.Error())
				}
				if len(res.Failed) > 0 || len(plan.Problems) > 0 {
					return failedErr(fmt.Errorf("hooks applied partially: %d failed, %d problem(s)", len(res.Failed), len(plan.Problems)))
				}
			} else if len(plan.Problems) > 0 {
				return failedErr(fmt.Errorf("%d problem(s)", len(plan.Problems)))
			}
			return nil
		}
	}
	c.AddCommand(&cobra.Command{Use: "plan", Short: "Print what hooks would be created, updated or deleted", Args: cobra.NoArgs, RunE: run(false)})
	applyCmd := &cobra.Command{Use: "apply", Short: "Create, update or delete hooks so GitLab has exactly what glsync needs", Args: cobra.NoArgs, RunE: run(true)}
	applyCmd.Flags().BoolVar(&rotate, "rotate-secrets", false, "give new secrets to hooks whose secret this data directory (or database) does not hold, "+
		"and store them here only: a glsyncd running on another data directory or database refuses those hooks' deliveries from then on "+
		"(run it against the daemon's own; not needed with webhookSecret)")
	c.AddCommand(applyCmd)
	return c
}

// remoteResync asks a running glsyncd to resync (POST /resync).
func (a *app) remoteResync(ctx context.Context, base string, full bool) error {
	token := a.getenv("GLSYNC_ADMIN_TOKEN")
	if token == "" {
		return usageErr(fmt.Errorf("--remote: set GLSYNC_ADMIN_TOKEN to the daemon's adminToken"))
	}
	u := strings.TrimRight(base, "/") + "/resync"
	if full {
		u += "?full=true"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	if err != nil {
		return usageErr(fmt.Errorf("--remote: %w", err))
	}
	req.Header.Set("Authorization", "Bearer "+token)
	// net/http keeps Authorization on a redirect to another port or
	// scheme of the same host (https to http, in clear text) or to a
	// subdomain: the admin token goes to --remote's origin only.
	client := origin.Bind(&http.Client{Timeout: 30 * time.Second}, req.URL, "glsyncd's admin API", "--remote")
	resp, err := client.Do(req)
	if err != nil {
		return failedErr(fmt.Errorf("--remote: %w", err))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	fmt.Fprintf(a.stdout, "%s: %s", resp.Status, body)
	if resp.StatusCode != http.StatusAccepted {
		return failedErr(fmt.Errorf("--remote: the daemon answered %s", resp.Status))
	}
	return nil
}
