package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/glsync/terraform-provider-glsync/daemon/service"
	"github.com/glsync/terraform-provider-glsync/shared/adminapi"
	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/crawl"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/stores/sqlitestore"
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
			"/metrics, POST /resync, GET /resync/{id} and GET /status on --admin-listen.",
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
				for _, u := range res.Unsigned {
					fmt.Fprintln(a.stdout, "unsigned:", u.Error())
				}
				for _, f := range res.Skipped {
					fmt.Fprintln(a.stdout, "skipped:", f.Error())
				}
				if len(res.Failed) > 0 || len(plan.Problems) > 0 || len(res.Unsigned) > 0 {
					return failedErr(fmt.Errorf("hooks applied partially: %d failed, %d problem(s), %d without the signing token asked for", len(res.Failed), len(plan.Problems), len(res.Unsigned)))
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

// remoteResync asks a running glsyncd to resync (POST /resync) with the
// adminToken of --config or GLSYNC_ADMIN_TOKEN; with wait it follows the
// request (GET /resync/{id}) until the resync is done, prints its summary
// and returns an exit-1 error when it failed, as a local resync does.
func (a *app) remoteResync(ctx context.Context, base string, full, wait bool, timeout time.Duration) error {
	token, err := config.LoadAdminToken(a.configPath, a.getenv)
	if err != nil {
		return usageErr(err)
	}
	if token == "" {
		return usageErr(fmt.Errorf("--remote: no admin token: set adminToken in the --config file, or %s, to the daemon's adminToken", config.EnvAdminToken))
	}
	// The admin token goes to --remote's origin only (a redirect to
	// another port, scheme or subdomain is refused).
	c := adminapi.NewClientFor(base, token, "--remote")
	req, err := c.StartResync(ctx, full)
	if err != nil {
		return a.remoteErr(err)
	}
	fmt.Fprintf(a.stdout, "resync requested: id %s, leader %s\n", req.ID, req.Leader)
	if !wait {
		return nil
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	done, err := c.WaitResync(ctx, req.ID, remotePoll)
	if err != nil {
		return a.remoteErr(err)
	}
	res := done.Result
	if res == nil {
		return failedErr(fmt.Errorf("--remote: resync %s is done but the daemon gave no result", req.ID))
	}
	printRemoteSummary(a.stdout, req.ID, res)
	if !res.OK {
		why := res.Error
		if why == "" {
			why = "kinds " + strings.Join(res.FailedKinds, ", ") + " failed"
		}
		return failedErr(fmt.Errorf("resync %s failed: %s", req.ID, why))
	}
	return nil
}

// remotePoll is how often resync --remote --wait asks how the resync
// stands.
var remotePoll = 500 * time.Millisecond

// remoteErr is an admin API error as the user of --remote needs it: a
// refused token or a disabled API is a setting to fix (exit 2), the rest
// a failure (exit 1). The token is never in it.
func (a *app) remoteErr(err error) error {
	var ae *adminapi.Error
	if errors.As(err, &ae) {
		switch ae.Status {
		case http.StatusUnauthorized:
			src := config.EnvAdminToken
			if a.getenv(config.EnvAdminToken) == "" && a.configPath != "" {
				src = "adminToken in " + a.configPath
			}
			return usageErr(fmt.Errorf("--remote: the daemon refused the admin token (401): the token from %s is not the daemon's adminToken", src))
		case http.StatusForbidden:
			return usageErr(fmt.Errorf("--remote: %s", ae.Msg))
		}
	}
	if errors.Is(err, adminapi.ErrNotFound) {
		return failedErr(fmt.Errorf("--remote: the daemon does not know this resync request: it restarted, or is older than this glsyncd (no GET /resync/{id})"))
	}
	return failedErr(fmt.Errorf("--remote: %w", err))
}

// printRemoteSummary writes a requested resync's per-kind counts and
// outcome, as printSummary does for a local one.
func printRemoteSummary(w io.Writer, id string, r *adminapi.ResyncResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	cols := []string{"fetched", "selected", "created", "updated", "unchanged", "deleted", "errors", "file_errors"}
	fmt.Fprintln(tw, "kind\tfetched\tselected\tcreated\tupdated\tunchanged\tdeleted\terrors\tfile errors\t")
	for _, k := range slices.Sorted(maps.Keys(r.Kinds)) {
		fmt.Fprint(tw, k)
		for _, c := range cols {
			fmt.Fprintf(tw, "\t%d", r.Kinds[k][c])
		}
		fmt.Fprintln(tw, "\t")
	}
	tw.Flush()
	status := r.Outcome
	if !r.OK {
		status = "FAILED (nothing deleted for failed kinds)"
		if len(r.FailedKinds) > 0 {
			status += ", kinds " + strings.Join(r.FailedKinds, ", ")
		}
	}
	fmt.Fprintf(w, "resync %d %s: %d GitLab requests, %s (request %s, replica %s)\n", r.Run, status, r.Requests,
		time.Duration(r.DurationSeconds*float64(time.Second)).Round(time.Millisecond), id, r.Replica)
	if r.Error != "" {
		fmt.Fprintln(w, "error:", r.Error)
	}
}
