// Package config loads glsync's settings from a YAML file and from the
// environment, using the names of the integration glsync replaces so a
// deployment can switch over without renaming anything.
//
// Environment variables override the file. Every error names the setting
// (and, when it came from the environment, the variable) and never prints a
// whole token.
//
// Each setting is defined once, as a row of the settings table
// (table.go): its key, variables, default, parse and check. The file is
// decoded into a struct built from the table, build (build.go) reads the
// rows in order, validate.go holds the rules that span settings,
// Effective shows the rows, and a test holds README's settings tables to
// them.
package config

import (
	"github.com/glsync/terraform-provider-glsync/shared/redact"

	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/hookspec"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

// DefaultGitLabHost is used when gitlabHost is not set, as in the spec.
const DefaultGitLabHost = "https://gitlab.com"

// Environment variable names, Ocean's style.
const (
	EnvTokenMapping        = "OCEAN__INTEGRATION__CONFIG__TOKEN_MAPPING"
	EnvGitLabHost          = "OCEAN__INTEGRATION__CONFIG__GITLAB_HOST"
	EnvAppHost             = "OCEAN__INTEGRATION__CONFIG__APP_HOST"
	EnvUseSystemHook       = "OCEAN__INTEGRATION__CONFIG__USE_SYSTEM_HOOK"
	EnvHooksOverride       = "OCEAN__INTEGRATION__CONFIG__TOKEN_GROUP_HOOKS_OVERRIDE_MAPPING"
	EnvResyncInterval      = "OCEAN__SCHEDULED_RESYNC_INTERVAL"
	EnvResyncIntervalAlt   = "OCEAN__INTEGRATION__CONFIG__SCHEDULED_RESYNC_INTERVAL"
	EnvMaxConcurrency      = "GLSYNC_MAX_CONCURRENT_REQUESTS"
	EnvMaxAdaptive         = "GLSYNC_MAX_ADAPTIVE_CONCURRENT_REQUESTS"
	EnvGitLabRateLimit     = "OCEAN__INTEGRATION__CONFIG__GITLAB_RATE_LIMIT"
	EnvMaxRetries          = "GLSYNC_MAX_RETRIES"
	EnvSystemHookSecret    = "GLSYNC_SYSTEM_HOOK_SECRET"
	EnvSystemSigningToken  = "GLSYNC_SYSTEM_HOOK_SIGNING_TOKEN"
	EnvWebhookSecret       = "GLSYNC_WEBHOOK_SECRET"
	EnvWebhookSigning      = "GLSYNC_WEBHOOK_SIGNING"
	EnvResyncCron          = "GLSYNC_RESYNC_CRON"
	EnvResyncOnStart       = "GLSYNC_RESYNC_ON_START"
	EnvReadyBeforeResync   = "GLSYNC_READY_BEFORE_FIRST_RESYNC"
	EnvAdminToken          = "GLSYNC_ADMIN_TOKEN"
	EnvCatalog             = "GLSYNC_CATALOG"
	EnvDatabaseURL         = "GLSYNC_DATABASE_URL"
	EnvMaxInFlight         = "GLSYNC_WEBHOOK_MAX_INFLIGHT_BYTES"
	EnvMaxConnections      = "GLSYNC_WEBHOOK_MAX_CONNECTIONS"
	EnvDedupeWindow        = "GLSYNC_DELIVERY_DEDUPE_WINDOW"
	EnvDeadLetterRetention = "GLSYNC_DEAD_LETTER_RETENTION"
	EnvIncrementalResync   = "GLSYNC_INCREMENTAL_RESYNC"
	EnvFullResyncInterval  = "GLSYNC_FULL_RESYNC_INTERVAL"
	// Ocean's incremental sync (see oceanIncremental).
	EnvOceanIncrementalEnabled  = "OCEAN__INTEGRATION__INCREMENTAL_SYNC_ENABLED"
	EnvOceanIncrementalInterval = "OCEAN__INTEGRATION__INCREMENTAL_SYNC_INTERVAL"
	EnvReplicaName              = "GLSYNC_REPLICA_NAME"
	EnvSecretKey                = "GLSYNC_SECRET_KEY"
	EnvSecretKeyPrevious        = "GLSYNC_SECRET_KEY_PREVIOUS"
	EnvPortClientID             = "OCEAN__PORT__CLIENT_ID"
	EnvPortClientSecret         = "OCEAN__PORT__CLIENT_SECRET"
	EnvPortBaseURL              = "OCEAN__PORT__BASE_URL"
	EnvIntegrationID            = "OCEAN__INTEGRATION__IDENTIFIER"
	EnvSendExamples             = "OCEAN__SEND_RAW_DATA_EXAMPLES"
	EnvDeleteThreshold          = "GLSYNC_DELETION_THRESHOLD"
	EnvForceDeletion            = "GLSYNC_FORCE_DELETION"
	EnvGitLabToken              = "OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN"
	EnvBaseURL                  = "OCEAN__BASE_URL"
	EnvOAuthTokenFile           = "OCEAN__OAUTH_ACCESS_TOKEN_FILE_PATH"
	EnvGitLabAuth               = "GLSYNC_GITLAB_AUTH"
	EnvOceanVersion             = "GLSYNC_OCEAN_VERSION"
	EnvStrictMapping            = "GLSYNC_STRICT_MAPPING"
	EnvGitOpsScope              = "GLSYNC_GITOPS_SCOPE"
	// Ocean's actions processor (port_ocean/config/settings.py,
	// ActionsProcessorSettings); see actions.go.
	EnvActionsEnabled      = "OCEAN__ACTIONS_PROCESSOR__ENABLED"
	EnvActionsPollInterval = "OCEAN__ACTIONS_PROCESSOR__POLL_CHECK_INTERVAL_SECONDS"
	EnvActionsVisibility   = "OCEAN__ACTIONS_PROCESSOR__VISIBILITY_TIMEOUT_MS"
	EnvActionsWorkers      = "OCEAN__ACTIONS_PROCESSOR__WORKERS_COUNT"
	EnvActionsWatermark    = "OCEAN__ACTIONS_PROCESSOR__RUNS_BUFFER_HIGH_WATERMARK"
	EnvActionsPctPerAction = "OCEAN__ACTIONS_PROCESSOR__MAX_RUNS_BUFFER_UTIL_PCT_PER_ACTION"
)

// MinAdminTokenLen is the shortest adminToken accepted: 32 characters
// (`openssl rand -base64 32` gives 44) keep the admin API's bearer token
// out of reach of guessing, which is all that guards the token mappings
// and hook secrets it serves.
const MinAdminTokenLen = 32

// Config is the validated configuration.
type Config struct {
	// TokenMapping maps tokens to the path globs they sync. Ocean v2's
	// single gitlabToken becomes one entry for every path.
	TokenMapping tokenmap.Mapping
	// OAuth sends the tokens as OAuth access tokens ("Authorization:
	// Bearer"); TokenFile, with it, is a file holding the current token,
	// re-read when GitLab answers 401 (Ocean's
	// OCEAN__OAUTH_ACCESS_TOKEN_FILE_PATH).
	OAuth     bool
	TokenFile string
	// OceanVersion is the Ocean generation whose mapping defaults apply:
	// oceanVersion when set, else v2 for a configuration in v2's form
	// (gitlabToken) and v1 for one in v1's (tokenMapping).
	OceanVersion mapping.Generation
	// StrictMapping fails an object when any of its mapping's expressions
	// fails (glsync 0.x), instead of Ocean's null for that field and
	// leaving out an object without identifier or blueprint (default).
	StrictMapping bool
	// GitOpsScope is what a GitOps spec file may write: "project" (the
	// default: new entities, and those of its own project) or "any"
	// (Ocean's open behaviour: every committer of every synced repository
	// is trusted with every entity).
	GitOpsScope string
	// GitLabHost is the base URL of the GitLab instance, without /api/v4.
	GitLabHost string
	// AppHost is this service's public URL; it enables real-time hooks.
	AppHost string
	// UseSystemHook selects one system hook instead of group hooks.
	UseSystemHook bool
	// TokenGroupHooksOverrideMapping restricts group hooks to listed groups.
	TokenGroupHooksOverrideMapping hookspec.OverrideMapping
	// ScheduledResyncInterval is the time between scheduled resyncs; zero
	// disables them.
	ScheduledResyncInterval time.Duration
	// MaxConcurrentRequests is the in-flight bound of GitLab requests per
	// token that clients start at and never go below.
	MaxConcurrentRequests int
	// MaxAdaptiveConcurrentRequests is the highest the in-flight bound
	// grows to while GitLab keeps up (default 128, at most 256; equal to
	// maxConcurrentRequests for a fixed bound).
	MaxAdaptiveConcurrentRequests int
	// GitLabRateLimit is the most requests per minute sent with each
	// token, spread evenly (0: none but GitLab's own, learned from its
	// RateLimit-* headers).
	GitLabRateLimit int
	// MaxRetries bounds retries of one request on 429, 5xx and resets.
	MaxRetries int
	// SystemHookSecret is the secret of a system hook created by hand.
	SystemHookSecret string
	// SystemHookSigningToken is the signing token (whsec_…) of a system
	// hook created by hand with one: glsyncd cannot derive it, so its
	// signed deliveries are verified with this one.
	SystemHookSigningToken string
	// WebhookSecret, when set, is the master secret every hook's secret is
	// derived from (see hooks.DeriveSecret): instances sharing it agree on
	// every hook's secret.
	WebhookSecret string
	// WebhookSigning gives the hooks glsync creates or repairs a signing
	// token too (GitLab 19+), derived from each hook's secret: GitLab then
	// signs every delivery (webhook-signature), which a captured
	// X-Gitlab-Token cannot forge, and glsync refuses that hook's unsigned
	// deliveries from then on. A GitLab that ignores it is reported.
	WebhookSigning bool
	// ResyncCron schedules resyncs with a cron expression instead of an
	// interval.
	ResyncCron string
	// ResyncOnStart runs a resync when the daemon starts (default true).
	ResyncOnStart bool
	// ReadyBeforeFirstResync makes /readyz ready before any resync has
	// completed (default false: not ready while the catalog is empty).
	ReadyBeforeFirstResync bool
	// AdminToken protects the daemon's admin API (bearer token): empty
	// disables the API, else at least MinAdminTokenLen characters.
	AdminToken string
	// WebhookMaxBodyBytes bounds a delivery's size (default 25 MB).
	WebhookMaxBodyBytes int64
	// WebhookMaxInFlightBytes bounds the delivery bytes held in memory at
	// once, by the webhook listener and again by the event workers
	// (default 64 MiB, at least twice webhookMaxBodyBytes).
	WebhookMaxInFlightBytes int64
	// WebhookMaxConnections bounds the connections the webhook listener
	// holds open at once (default DefaultMaxConnections); those over it
	// are closed as soon as they are accepted, before anything is read,
	// so what unauthenticated clients can make the daemon hold is bounded
	// by it times the header limit.
	WebhookMaxConnections int
	// EventWorkers is the number of webhook events processed at once.
	EventWorkers int
	// HookReconcileInterval is how often hooks are checked (default 1h).
	HookReconcileInterval time.Duration
	// DeliveryDedupeWindow is how long delivery ids are kept to tell a
	// GitLab retry or resend from a new event (default 72h).
	DeliveryDedupeWindow time.Duration
	// DeadLetterRetention is how long failed events are kept for
	// glsyncd queue retry (default 14 days).
	DeadLetterRetention time.Duration
	// IncrementalResync is "auto" (the default: incremental passes when
	// appHost is set, so webhooks deliver what they can miss), "true" or
	// "false" (every pass full); see Incremental.
	IncrementalResync string
	// FullResyncInterval is how often each kind gets a full pass when
	// passes are incremental (default 24h).
	FullResyncInterval time.Duration

	// Catalog is "embedded" (default), "postgres" or "port". Port
	// credentials without a catalog setting mean "port", as they do for
	// Ocean. CatalogFrom says where the choice came from, for validate
	// and the logs: the variable or file setting, or "the default".
	Catalog, CatalogFrom string
	// DatabaseURL is the PostgreSQL database (postgres:// URL or libpq
	// key=value string; empty with Catalog "postgres" means libpq's PG*
	// environment variables). With it, the catalog (or Port's mirror), the
	// webhook queue and the hook secrets live there and several replicas
	// may share them.
	DatabaseURL string
	// ReplicaName names this process among replicas (default: host name).
	ReplicaName string
	// SecretKey seals the hook secrets and token mappings kept in the
	// catalog (default: a key file created in the data directory; required
	// with PostgreSQL, the same on every replica). SecretKeyPrevious opens
	// values sealed before a rotation.
	SecretKey, SecretKeyPrevious string
	// Port settings, for Catalog "port".
	PortClientID, PortClientSecret, PortBaseURL string
	// IntegrationIdentifier names this integration in Port (its entities'
	// $datasource); default "gitlab".
	IntegrationIdentifier string
	// SendRawDataExamples sends a few raw objects per kind to Port.
	SendRawDataExamples bool
	// DeletionThreshold is the largest share of a kind's entities one
	// resync may delete in Port (default 0.5); ForceDeletion lifts it.
	DeletionThreshold float64
	ForceDeletion     bool
	// ActionsProcessor runs Port's self-service action runs (catalog
	// port only).
	ActionsProcessor ActionsProcessor

	// Warnings are settings that load but probably do not do what was
	// meant (an explicit embedded catalog beside Port credentials):
	// validate prints them, run and resync log them.
	Warnings []string
	// Notes are settings glsync read differently from how they were
	// written (a gitlabHost ending in /api/v4), printed and logged like
	// Warnings but at info level.
	Notes []string

	// sources says where each file key's value came from (see
	// settingSources); set by build, read by Effective.
	sources map[string]string
}

// Error is a configuration error tied to one setting.
type Error struct {
	Setting string // the file key, e.g. "gitlabHost"
	Source  string // "" for the file, or the environment variable name
	Err     error
}

func (e *Error) Error() string {
	if e.Source != "" {
		return fmt.Sprintf("config: %s (from %s): %v", e.Setting, e.Source, e.Err)
	}
	return fmt.Sprintf("config: %s: %v", e.Setting, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Load reads path (may be empty: environment only) and the environment
// given by getenv (os.Getenv when nil), and validates the result.
func Load(path string, getenv func(string) string) (*Config, error) {
	in, err := readFile(path, getenv)
	if err != nil {
		return nil, err
	}
	return build(in)
}

// LoadStorage reads only the storage settings (catalog, databaseUrl,
// replicaName, the Port credentials that choose the catalog, secretKey)
// from path and the environment: enough for commands that read the
// catalog without talking to GitLab.
func LoadStorage(path string, getenv func(string) string) (*Config, error) {
	in, err := readFile(path, getenv)
	if err != nil {
		return nil, err
	}
	c := &Config{}
	if err := run(c, in, func(s *setting) bool { return s.storage }); err != nil {
		return nil, err
	}
	return c, nil
}

// LoadAdminToken reads only adminToken (GLSYNC_ADMIN_TOKEN wins over the
// file, as for the daemon) from path and the environment: what a client
// of the daemon's admin API (glsyncd resync --remote) needs, without the
// settings only the daemon must have. The token is never in an error.
func LoadAdminToken(path string, getenv func(string) string) (string, error) {
	in, err := readFile(path, getenv)
	if err != nil {
		return "", err
	}
	for i := range settings {
		if settings[i].key == "adminToken" {
			token, _ := in.given(&settings[i]).str()
			return token, nil
		}
	}
	return "", nil
}

// Incremental reports whether scheduled resyncs may be incremental:
// incrementalResync true, or auto with appHost set (glsync manages the
// webhooks that deliver what an incremental pass can miss).
func (c *Config) Incremental() bool {
	return c.IncrementalResync == "true" || (c.IncrementalResync == "auto" && c.AppHost != "")
}

// MappingOptions are how the mapping is read under this config: the
// Ocean generation's defaults, and strictMapping.
func (c *Config) MappingOptions() mapping.ParseOptions {
	return mapping.ParseOptions{Generation: c.OceanVersion, Strict: c.StrictMapping, GitOpsAnyScope: c.GitOpsScope == "any"}
}

// cronParser accepts standard five-field expressions and descriptors
// such as @hourly and @every 90m.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseCron parses a resyncCron expression.
func ParseCron(expr string) (cron.Schedule, error) { return cronParser.Parse(expr) }

// parseInterval reads minutes ("120", as Ocean does) or a Go duration
// ("2h", "90m"). Zero disables scheduled resyncs.
func parseInterval(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("must not be negative, got %d", n)
		}
		return time.Duration(n) * time.Minute, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("must be minutes (e.g. 120) or a duration (e.g. 2h), got %s", redact.Quote(v))
	}
	if d < 0 {
		return 0, fmt.Errorf("must not be negative, got %s", v)
	}
	if d > 0 && d < time.Minute {
		return 0, fmt.Errorf("must be at least 1 minute, got %s", v)
	}
	return d, nil
}

// ClientOptions adds the GitLab authentication settings to client
// options.
func (c *Config) ClientOptions(o gitlab.Options) gitlab.Options {
	o.OAuth, o.TokenFile = c.OAuth, c.TokenFile
	if o.RateLimit == 0 {
		o.RateLimit = float64(c.GitLabRateLimit)
	}
	if o.ConcurrencyCeiling == 0 {
		o.ConcurrencyCeiling = c.MaxAdaptiveConcurrentRequests
	}
	if o.MaxRetries == 0 && c.MaxRetries == 0 {
		o.MaxRetries = gitlab.NoRetries // maxRetries: 0 means none; 0 in gitlab.Options means "the default"
	}
	return o
}

// UsesPostgres reports whether the catalog, queue and secrets live in
// PostgreSQL (catalog postgres, or Port with a databaseUrl for its mirror).
func (c *Config) UsesPostgres() bool {
	return c.Catalog == "postgres" || c.DatabaseURL != ""
}

// DefaultMaxConnections is webhookMaxConnections' default: far more
// than GitLab opens at once (one connection per delivery, from its
// webhook workers), and small enough that as many connections each
// holding a full header block (webhook.MaxHeaderBytes) take tens of MiB.
const DefaultMaxConnections = 512

// DefaultInFlightBytes is webhookMaxInFlightBytes' default for deliveries
// of up to maxBody bytes (25 MB when 0): room for two of the largest at
// once, and 64 MiB at least; with the runtime and the catalog's caches,
// under the 512 MiB the Helm chart requests.
func DefaultInFlightBytes(maxBody int64) int64 {
	if maxBody <= 0 {
		maxBody = 25 << 20
	}
	return max(64<<20, 2*maxBody)
}
