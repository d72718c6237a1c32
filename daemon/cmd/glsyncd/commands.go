package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/crawl"
	"github.com/glsync/terraform-provider-glsync/shared/portsink"
	"github.com/glsync/terraform-provider-glsync/shared/redact"
	"github.com/glsync/terraform-provider-glsync/shared/resync"
	"github.com/glsync/terraform-provider-glsync/shared/stores"
	"github.com/glsync/terraform-provider-glsync/shared/stores/pgstore"
	"github.com/glsync/terraform-provider-glsync/shared/stores/sqlitestore"
)

func (a *app) resyncCommand() *cobra.Command {
	var remote string
	var full, wait bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "resync",
		Short: "Run one resync into the catalog",
		Long: "Crawls GitLab with every token of tokenMapping, maps groups and projects with the mapping,\n" +
			"writes them to the catalog and deletes entities GitLab no longer has (only for kinds that\n" +
			"resynced without error). Exits 1 if any kind failed. A file that cannot be used (a port.yml that\n" +
			"is not valid YAML, not entities, over 1 MiB…) does not fail its kind: it is listed under the\n" +
			"table, its entities are kept as they were, and the resync exits 0 \"completed with file errors\".\n\n" +
			"With incremental resyncs on (incrementalResync), per-project kinds skip the projects GitLab\n" +
			"shows unchanged since they were last read, except kinds due a full pass (fullResyncInterval);\n" +
			"--full reads every project.\n\n" +
			"With --remote, a running glsyncd resyncs instead (its admin API, with the adminToken of --config\n" +
			"or GLSYNC_ADMIN_TOKEN); --wait waits for that resync, prints its summary and exits as above.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if remote != "" {
				return a.remoteResync(cmd.Context(), remote, full, wait, timeout)
			}
			if wait {
				return usageErr(fmt.Errorf("--wait: only with --remote (a local resync always waits)"))
			}
			_, err := a.resyncWith(cmd.Context(), full)
			return err
		},
	}
	cmd.Flags().StringVar(&remote, "remote", "", "ask a running glsyncd at this admin URL to resync (POST /resync with the adminToken of --config, or "+config.EnvAdminToken+")")
	cmd.Flags().BoolVar(&wait, "wait", false, "with --remote: wait for the resync to finish, print its summary and exit as a local resync does (1 if it failed)")
	cmd.Flags().DurationVar(&timeout, "timeout", time.Hour, "with --remote --wait: how long to wait (0: no limit)")
	cmd.Flags().BoolVar(&full, "full", false, "a full pass: read every project of every kind, even with incremental resyncs on")
	return cmd
}

// resyncWith loads the settings, runs one resync into the catalog (embedded,
// or Port when configured) and prints its summary. A failed kind makes it
// return an exit-1 error. full forces a full pass.
func (a *app) resyncWith(ctx context.Context, full bool) (*resync.Summary, error) {
	log, err := a.logger()
	if err != nil {
		return nil, err
	}
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, err
	}
	logConfig(log, cfg)
	store, err := a.openStore(ctx)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	// One resync at a time: with PostgreSQL, this process must lead (no
	// replica is resyncing) or it would race the leader's deletions.
	lead, release, leader, ok, err := store.Coordination().TryLead(ctx)
	if err != nil {
		return nil, failedErr(err)
	}
	if !ok {
		return nil, failedErr(fmt.Errorf("replica %s leads and runs the resyncs: ask it with `glsyncd resync --remote http://<its admin address>`", leader))
	}
	defer release()
	ctx = lead
	opts := resync.Options{Config: cfg, Store: store, Logger: log, Incremental: cfg.Incremental() && !full, FullEvery: cfg.FullResyncInterval}
	if cfg.SendRawDataExamples {
		// Kept locally for `glsyncd mapping test --from-examples`.
		opts.Examples = func(ctx context.Context, kind string, objs []map[string]any) {
			if b, err := json.Marshal(objs); err == nil {
				_ = store.PutExamples(ctx, kind, b)
			}
		}
	}
	var sink *portsink.Sink
	if cfg.Catalog == "port" {
		sink, opts.Mapping, err = portsink.Setup(ctx, cfg, store, a.mappingFile(), version, log.With("component", "port"))
		if err != nil {
			return nil, failedErr(fmt.Errorf("port: %w", err))
		}
		opts.Store, opts.Examples = sink, sink.Examples
	} else {
		if opts.Mapping, err = a.loadMapping(cfg.MappingOptions()); err != nil {
			return nil, err
		}
		logWarnings(log, opts.Mapping)
	}
	if rec, err := resync.LoadCompleted(ctx, store); err == nil {
		opts.Expected = rec.Expected()
	}
	sum, err := resync.Run(ctx, opts)
	if err != nil {
		return nil, failedErr(err)
	}
	errText := ""
	if sum.Failed() {
		errText = sum.Err().Error()
	}
	if err := resync.NewRecord(sum, store.Coordination().Replica(), errText).Save(context.WithoutCancel(ctx), store); err != nil {
		log.Warn("recording the resync summary failed", "error", err)
	}
	printSummary(a.stdout, sum)
	if sink != nil {
		fmt.Fprintf(a.stdout, "Port: %d requests, %d retries, %d entities refused (logged with their identifiers)\n",
			sink.Port().Stats.Requests.Load(), sink.Port().Stats.Retries.Load(), sink.Refused.Load())
	}
	if sum.Failed() {
		return sum, failedErr(fmt.Errorf("resync failed:\n%w", sum.Err()))
	}
	return sum, nil
}

// printSummary writes the per-kind table and the totals.
func printSummary(w io.Writer, sum *resync.Summary) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kind\tfetched\tselected\tcreated\tupdated\tunchanged\tdeleted\terrors\tfile errors\trequests\tduration\tpass\t")
	for _, k := range sum.Kinds {
		pass := "full"
		if !k.Full {
			pass = fmt.Sprintf("incremental: %d projects read, %d unchanged", k.ReadProjects, k.SkippedProjects)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t\n", k.Kind, k.Fetched, k.Selected, k.Created, k.Updated,
			k.Unchanged, k.Deleted, k.ErrorsTotal, k.FileErrorsTotal, k.Requests, k.Duration.Round(time.Millisecond), pass)
	}
	tw.Flush()
	for _, k := range sum.Kinds {
		for _, fe := range k.FileErrors {
			fmt.Fprintf(w, "file error: kind %s, project %s, file %s: %s\n", k.Kind, fe.Project, fileLabel(fe), fe.Reason)
		}
		if more := k.FileErrorsTotal - len(k.FileErrors); more > 0 {
			fmt.Fprintf(w, "file error: kind %s: %d more files (in the log)\n", k.Kind, more)
		}
	}
	resync.PrintExpressionErrors(w, sum)
	status := "ok"
	switch {
	case sum.Failed():
		status = "FAILED (nothing deleted for failed kinds)"
	case sum.FileErrorsTotal() > 0:
		status = fmt.Sprintf("%s: %d files skipped, their entities kept as they were (listed above)", resync.OutcomeFileErrors, sum.FileErrorsTotal())
	}
	fmt.Fprintf(w, "resync %d %s: %d GitLab requests, %d retries, %d rate-limited, %s\n",
		sum.Run, status, sum.Requests, sum.Retries, sum.RateLimited, sum.Duration.Round(time.Millisecond))
	fmt.Fprintln(w, "(fetched: objects GitLab returned, per token; selected: those the globs kept, each once; created, updated and unchanged count entities)")
	for _, warn := range sum.Warnings {
		fmt.Fprintln(w, "warning:", warn)
	}
}

func (a *app) catalogCommand() *cobra.Command {
	c := &cobra.Command{Use: "catalog", Short: "Inspect the catalog, or move the embedded one into PostgreSQL"}
	var blueprint, output string
	list := &cobra.Command{
		Use:   "list",
		Short: "List the entities in the catalog",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "json" && output != "table" {
				return usageErr(fmt.Errorf("--output: %q is not json or table", output))
			}
			store, err := a.openExisting(cmd.Context())
			if err != nil {
				return err
			}
			defer store.Close()
			f := catalog.Filter{Blueprint: blueprint}
			if output == "json" {
				// Streamed from the store's cursor: a catalog of 100,000
				// entities is never held in memory at once.
				if err := catalog.WriteJSON(cmd.Context(), a.stdout, store, f); err != nil {
					return failedErr(err)
				}
				return nil
			}
			if err := printStoreTable(cmd.Context(), a.stdout, store, f); err != nil {
				return failedErr(err)
			}
			return nil
		},
	}
	list.Flags().StringVar(&blueprint, "blueprint", "", "only this blueprint (e.g. service, gitlabGroup)")
	list.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	c.AddCommand(list, a.migrateCommand())
	return c
}

// migrateCommand copies the embedded catalog (entities, runs, queued and
// dead events, delivery ids, hook secrets, token mappings, examples,
// settings) into an empty PostgreSQL database, holding the data
// directory's run lock so no daemon writes meanwhile.
func (a *app) migrateCommand() *cobra.Command {
	var to string
	cmd := &cobra.Command{
		Use:   "migrate --to postgres://user:password@host:5432/database",
		Short: "Copy the embedded SQLite catalog (--data-dir) into an empty PostgreSQL database",
		Long: "Copies everything the data directory's catalog holds (entities, resync runs, queued and dead\n" +
			"events, delivery ids, hook secrets, token mappings, raw examples, settings) into PostgreSQL in one\n" +
			"transaction. Stop glsyncd run first: the copy holds the data directory's run lock. Then start the\n" +
			"replicas with catalog: postgres and databaseUrl (GLSYNC_DATABASE_URL).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if to == "" {
				to = a.getenv(config.EnvDatabaseURL)
			}
			if to == "" {
				return usageErr(fmt.Errorf("--to: the PostgreSQL database to copy into is required (or %s)", config.EnvDatabaseURL))
			}
			ctx := cmd.Context()
			dir := a.resolvedDataDir()
			if _, err := os.Stat(filepath.Join(dir, sqlitestore.FileName)); err != nil {
				return usageErr(fmt.Errorf("--data-dir: no catalog in %s (%s not found)", dir, sqlitestore.FileName))
			}
			unlock, err := sqlitestore.LockRun(dir)
			if err != nil {
				return a.storeErr(err)
			}
			defer unlock()
			from, err := sqlitestore.Open(dir)
			if err != nil {
				return a.storeErr(err)
			}
			defer from.Close()
			dst, err := pgstore.Open(ctx, to, pgstore.Options{})
			if err != nil {
				return failedErr(err)
			}
			defer dst.Close()
			counts, err := dst.Import(ctx, from)
			if err != nil {
				return failedErr(fmt.Errorf("catalog migrate: nothing was copied: %w", err))
			}
			tables := slices.Sorted(maps.Keys(counts))
			for _, t := range tables {
				fmt.Fprintf(a.stdout, "%-15s %d\n", t, counts[t])
			}
			fmt.Fprintf(a.stdout, "copied %s into PostgreSQL; run glsyncd with catalog: postgres and this databaseUrl (the SQLite file is left as it was)\n", dir)
			if _, err := os.Stat(filepath.Join(dir, stores.KeyFile)); err == nil {
				fmt.Fprintf(a.stdout, "hook secrets and token mappings are sealed with %s: give every replica that key as secretKey (GLSYNC_SECRET_KEY)\n",
					filepath.Join(dir, stores.KeyFile))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "PostgreSQL URL to copy into (env "+config.EnvDatabaseURL+")")
	return cmd
}

// printStoreTable writes the entities f selects as the columns
// printTable aligns, reading the catalog twice instead of holding it: a
// first pass measures the columns, the second writes the rows, so a
// catalog of 100,000 entities takes no more memory than one of ten.
func printStoreTable(ctx context.Context, w io.Writer, s catalog.Store, f catalog.Filter) error {
	head := [3]string{"BLUEPRINT", "IDENTIFIER", "TITLE"}
	var width [3]int
	for i, h := range head {
		width[i] = utf8.RuneCountInString(h)
	}
	err := s.Each(ctx, f, func(e *catalog.Entity) error {
		for i, c := range [3]string{e.Blueprint, e.Identifier, e.Title} {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
		return nil
	})
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	row := func(cells [3]string, last string) {
		for i, c := range cells {
			bw.WriteString(c)
			// As tabwriter pads (two spaces past the widest cell); an
			// entity written between the passes may be wider, and still
			// gets its two spaces.
			bw.WriteString(strings.Repeat(" ", max(2, width[i]+2-utf8.RuneCountInString(c))))
		}
		bw.WriteString(last)
		bw.WriteByte('\n')
	}
	row(head, "RELATIONS")
	n := 0
	err = s.Each(ctx, f, func(e *catalog.Entity) error {
		row([3]string{e.Blueprint, e.Identifier, e.Title}, relationsCell(e))
		n++
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(bw, "%d entities\n", n)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing the listing: %w", err)
	}
	return nil
}

// printTable is printStoreTable for entities already in hand (the demo's
// sample).
func printTable(w io.Writer, ents []*catalog.Entity) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "BLUEPRINT\tIDENTIFIER\tTITLE\tRELATIONS")
	for _, e := range ents {
		tableRow(tw, e)
	}
	tw.Flush()
	fmt.Fprintf(w, "%d entities\n", len(ents))
}

func tableRow(w io.Writer, e *catalog.Entity) {
	fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", e.Blueprint, e.Identifier, e.Title, relationsCell(e))
}

// relationsCell is the RELATIONS column: the relations set, sorted.
func relationsCell(e *catalog.Entity) string {
	var rel []string
	for k, v := range e.Relations {
		if v != nil {
			rel = append(rel, fmt.Sprintf("%s=%v", k, v))
		}
	}
	sort.Strings(rel)
	return strings.Join(rel, ",")
}

func (a *app) validateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "validate",
		Short: "Check the config and the mapping without contacting GitLab",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			m, err := a.loadMapping(cfg.MappingOptions())
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "config ok: gitlabHost %s, %d token(s), Ocean %s defaults\n", redact.URL(cfg.GitLabHost), len(cfg.TokenMapping), cfg.OceanVersion)
			for _, e := range cfg.TokenMapping {
				fmt.Fprintf(a.stdout, "  %s: %s\n", e.Masked(), strings.Join(e.Patterns, ", "))
			}
			fmt.Fprintf(a.stdout, "  catalog: %s\n", a.catalogLine(cfg))
			for _, n := range cfg.Notes {
				fmt.Fprintf(a.stdout, "  note: %s\n", n)
			}
			for _, w := range cfg.Warnings {
				fmt.Fprintf(a.stdout, "  warning: %s\n", w)
			}
			if cfg.AppHost != "" {
				fmt.Fprintf(a.stdout, "  appHost %s (real-time hooks), useSystemHook %v\n", cfg.AppHost, cfg.UseSystemHook)
			}
			if cfg.ScheduledResyncInterval > 0 {
				fmt.Fprintf(a.stdout, "  scheduledResyncInterval %s\n", cfg.ScheduledResyncInterval)
			}
			if line := actionsLine(cfg); line != "" {
				fmt.Fprintf(a.stdout, "  %s\n", line)
			}
			// Every expression is tried on real-shaped objects: a
			// selector.query that can never return a boolean, or a jq error,
			// shows here rather than once per object at resync.
			samples, source, err := a.samples(cmd.Context(), m)
			if err != nil {
				return failedErr(err)
			}
			problems, failing := trySamples(cmd.Context(), m, samples)
			for _, p := range problems {
				fmt.Fprintf(a.stdout, "  error: %s\n", p)
			}
			for _, w := range failing {
				fmt.Fprintf(a.stdout, "  warning: %s\n", w)
			}
			if len(problems) > 0 {
				return usageErr(fmt.Errorf("mapping: %d expression(s) fail on %s", len(problems), source))
			}
			fmt.Fprintf(a.stdout, "mapping ok: %d resource(s), kinds %s; every expression tried on %s\n", len(m.Resources), strings.Join(m.Kinds(), ", "), source)
			if none := kindsWithoutSamples(m, samples); none != "" {
				fmt.Fprintf(a.stdout, "  note: no sample objects of %s: their expressions were compiled, not run\n", none)
			}
			for _, w := range m.Warnings {
				fmt.Fprintf(a.stdout, "  warning: %s\n", w)
			}
			for _, w := range cfg.TokenMapping.Warnings() {
				fmt.Fprintf(a.stdout, "  warning: %s\n", w)
			}
			a.reportRefusedClaims(cmd.Context())
			return nil
		},
	}
}

// catalogLine says where entities are written and why: the first thing
// to check when they do not show up where they were expected (an Ocean
// deployment expects Port).
func (a *app) catalogLine(cfg *config.Config) string {
	switch cfg.Catalog {
	case "port":
		return fmt.Sprintf("port (from %s): entities go to Port at %s as integration %s", cfg.CatalogFrom, redact.URL(cfg.PortBaseURL), cfg.IntegrationIdentifier)
	case "postgres":
		return fmt.Sprintf("postgres (from %s): entities go to the PostgreSQL catalog", cfg.CatalogFrom)
	}
	return fmt.Sprintf("embedded (from %s): entities go to the SQLite file in %s, not to Port", cfg.CatalogFrom, a.resolvedDataDir())
}

// reportRefusedClaims prints the GitOps claims the last resync refused
// (gitopsScope: project): a spec file declaring what another project or
// kind owns is the operator's to hear about, whether a mistake or not.
func (a *app) reportRefusedClaims(ctx context.Context) {
	store, err := a.openExisting(ctx)
	if err != nil {
		return // no catalog yet: nothing resynced
	}
	defer store.Close()
	rec, err := resync.LoadRecord(ctx, store)
	if err != nil || rec == nil {
		return
	}
	for _, c := range rec.RefusedClaims {
		fmt.Fprintf(a.stdout, "  warning: the last resync refused a GitOps claim: %s (gitopsScope: project)\n", c)
	}
}

// fileLabel is a skipped file as people look for it: its path, the ref
// read, and the file that named it with file://.
func fileLabel(fe *crawl.FileError) string {
	l := fe.Path
	if fe.Ref != "" {
		l += " at " + fe.Ref
	}
	if fe.ReferencedFrom != "" {
		l += " (file:// in " + fe.ReferencedFrom + ")"
	}
	return l
}
