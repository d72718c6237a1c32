// Command glsyncd keeps a software catalog in sync with GitLab: it crawls
// GitLab with the tokens of tokenMapping, maps groups and projects with jq
// (Ocean's port-app-config format) and writes them to the embedded catalog.
//
// Usage:
//
//	glsyncd demo                       # simulated GitLab, resync, show the catalog
//	glsyncd resync --config FILE       # one full resync
//	glsyncd catalog list --output json # what the catalog holds
//	glsyncd validate --config FILE     # check config and mapping offline
//	glsyncd simulate --listen ADDR     # run the GitLab simulator
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/glsync/terraform-provider-glsync/shared/buildinfo"
	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/stores"
	"github.com/glsync/terraform-provider-glsync/shared/stores/sqlitestore"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailed  = 1 // the work ran and failed (e.g. a kind did not resync)
	exitUsage   = 2 // bad flags, config or mapping
	envMapping  = "GLSYNC_MAPPING"
	envDataDir  = "GLSYNC_DATA_DIR"
	defaultData = ".glsync"
)

// version is set at release time.
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	setMemoryLimit(os.Getenv, "/sys/fs/cgroup/memory.max")
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErr(err error) error  { return &exitError{exitUsage, err} }
func failedErr(err error) error { return &exitError{exitFailed, err} }

// app holds what every command shares: flags, output and environment.
type app struct {
	stdout, stderr io.Writer
	getenv         func(string) string

	configPath  string
	mappingPath string
	dataDir     string
	logLevel    string
	logFormat   string
}

// run executes the command line and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	a := &app{stdout: stdout, stderr: stderr, getenv: getenv}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "glsyncd:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return exitUsage // cobra's own errors are flag and argument errors
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "glsyncd",
		Short:         "Keep a software catalog in sync with GitLab",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       buildinfo.String("glsyncd", version),
	}
	root.SetVersionTemplate("{{.Version}}\n")
	pf := root.PersistentFlags()
	pf.StringVar(&a.configPath, "config", "", "config file (YAML); without it, settings come from the environment (OCEAN__INTEGRATION__CONFIG__*)")
	pf.StringVar(&a.mappingPath, "mapping", "", "port-app-config mapping file (env "+envMapping+"; default: the embedded mapping)")
	pf.StringVar(&a.dataDir, "data-dir", "", "directory of the embedded catalog (env "+envDataDir+"; default "+defaultData+")")
	pf.StringVar(&a.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	pf.StringVar(&a.logFormat, "log-format", "text", "log format: text or json")
	root.AddCommand(&cobra.Command{Use: "version", Short: "Print the version", Args: cobra.NoArgs,
		Run: func(*cobra.Command, []string) { fmt.Fprintln(a.stdout, buildinfo.String("glsyncd", version)) }},
		a.resyncCommand(), a.runCommand(), a.hooksCommand(), a.catalogCommand(), a.queueCommand(), a.mappingCommand(), a.validateCommand(), a.demoCommand(), a.simulateCommand())
	return root
}

func (a *app) logger() (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(a.logLevel)); err != nil {
		return nil, usageErr(fmt.Errorf("--log-level: %q is not one of debug, info, warn, error", a.logLevel))
	}
	opts := &slog.HandlerOptions{Level: level}
	switch a.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(a.stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(a.stderr, opts)), nil
	}
	return nil, usageErr(fmt.Errorf("--log-format: %q is not text or json", a.logFormat))
}

func (a *app) loadConfig() (*config.Config, error) {
	c, err := config.Load(a.configPath, a.getenv)
	if err != nil {
		return nil, usageErr(err)
	}
	return c, nil
}

// mappingFile is the local mapping file given by flag or environment.
func (a *app) mappingFile() string {
	if a.mappingPath != "" {
		return a.mappingPath
	}
	return a.getenv(envMapping)
}

// loadMapping reads the mapping with options o (the config's
// oceanVersion and strictMapping, see config.MappingOptions).
func (a *app) loadMapping(o mapping.ParseOptions) (*mapping.Config, error) {
	m, err := mapping.LoadWith(a.mappingFile(), o)
	if err != nil {
		return nil, usageErr(err)
	}
	return m, nil
}

// logWarnings logs the mapping's load warnings (options Ocean knows that
// glsync does not act on, deprecated forms).
func logWarnings(log *slog.Logger, m *mapping.Config) {
	for _, w := range m.Warnings {
		log.Warn("mapping: " + w)
	}
}

// logConfig logs where entities are written and the config's notes and
// warnings (validate prints the same): a daemon writing to the embedded
// file beside Port credentials says so at start, not never.
func logConfig(log *slog.Logger, cfg *config.Config) {
	log.Info("where entities go", "catalog", cfg.Catalog, "from", cfg.CatalogFrom)
	for _, n := range cfg.Notes {
		log.Info("config: " + n)
	}
	for _, w := range cfg.Warnings {
		log.Warn("config: " + w)
	}
}

// generation is the Ocean generation for commands that do not need a
// config: the config's when it loads, else GLSYNC_OCEAN_VERSION, else v2.
func (a *app) generation() (mapping.Generation, error) {
	if cfg, err := config.Load(a.configPath, a.getenv); err == nil {
		return cfg.OceanVersion, nil
	}
	if v := a.getenv(config.EnvOceanVersion); v != "" {
		g, err := mapping.ParseGeneration(v)
		if err != nil {
			return "", usageErr(fmt.Errorf("%s: %w", config.EnvOceanVersion, err))
		}
		return g, nil
	}
	return mapping.OceanV2, nil
}

// mappingOptions are generation's Ocean generation and the config's
// strictMapping (else GLSYNC_STRICT_MAPPING's), for commands that do not
// need a config.
func (a *app) mappingOptions() (mapping.ParseOptions, error) {
	if cfg, err := config.Load(a.configPath, a.getenv); err == nil {
		return cfg.MappingOptions(), nil
	}
	gen, err := a.generation()
	if err != nil {
		return mapping.ParseOptions{}, err
	}
	strict, _ := strconv.ParseBool(a.getenv(config.EnvStrictMapping))
	return mapping.ParseOptions{Generation: gen, Strict: strict}, nil
}

// load reads the logger flags, the config and the mapping, the start of
// every command that talks to GitLab.
func (a *app) load() (*slog.Logger, *config.Config, *mapping.Config, error) {
	log, err := a.logger()
	if err != nil {
		return nil, nil, nil, err
	}
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, nil, nil, err
	}
	logConfig(log, cfg)
	m, err := a.loadMapping(cfg.MappingOptions())
	if err != nil {
		return nil, nil, nil, err
	}
	logWarnings(log, m)
	return log, cfg, m, nil
}

func (a *app) resolvedDataDir() string {
	switch {
	case a.dataDir != "":
		return a.dataDir
	case a.getenv(envDataDir) != "":
		return a.getenv(envDataDir)
	}
	return defaultData
}

// openStore opens the catalog the storage settings name: the SQLite file
// in the data directory (created if needed), or PostgreSQL.
func (a *app) openStore(ctx context.Context) (catalog.Backend, error) {
	return a.openStoreWith(ctx, false)
}

// openExisting is openStore for commands that only read or tend a
// catalog: a data directory without one is a mistyped --data-dir, not a
// new catalog to create.
func (a *app) openExisting(ctx context.Context) (catalog.Backend, error) {
	return a.openStoreWith(ctx, true)
}

func (a *app) openStoreWith(ctx context.Context, mustExist bool) (catalog.Backend, error) {
	cfg, err := config.LoadStorage(a.configPath, a.getenv)
	if err != nil {
		return nil, usageErr(err)
	}
	open := stores.Open
	if mustExist {
		open = stores.OpenExisting
	}
	s, err := open(ctx, cfg, a.resolvedDataDir())
	if err != nil {
		return nil, a.storeErr(err)
	}
	return s, nil
}

// dataDirSource says where the data directory came from.
func (a *app) dataDirSource() string {
	switch {
	case a.dataDir != "":
		return "--data-dir"
	case a.getenv(envDataDir) != "":
		return envDataDir
	}
	return "the default, " + defaultData
}

// storeErr is err from opening the catalog as the user needs it: a data
// directory that cannot be used, or that holds no catalog, is a setting
// to change (exit 2), and the error says which one; other errors are
// failures (exit 1).
func (a *app) storeErr(err error) error {
	var de *sqlitestore.DirError
	switch {
	case errors.As(err, &de):
		return usageErr(fmt.Errorf("%w (the data directory is from %s; --data-dir or %s chooses another)", err, a.dataDirSource(), envDataDir))
	case errors.Is(err, sqlitestore.ErrNoCatalog):
		return usageErr(fmt.Errorf("%w: check the path (from %s; --data-dir or %s chooses another), or run a resync first; nothing was created", err, a.dataDirSource(), envDataDir))
	}
	return failedErr(err)
}
