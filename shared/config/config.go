// Package config loads glsync's settings from a YAML file and from the
// environment, using the names of the integration glsync replaces so a
// deployment can switch over without renaming anything.
//
// Environment variables override the file. Every error names the setting
// (and, when it came from the environment, the variable) and never prints a
// whole token.
package config

import (
	"github.com/glsync/terraform-provider-glsync/shared/redact"

	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"gopkg.in/yaml.v3"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/hookspec"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/suggest"
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
	// settingSources); set by Load, read by Effective.
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

// file is the YAML document. Fields that accept either a YAML value or a
// JSON string (as Helm passes them) are kept as nodes.
type file struct {
	TokenMapping                   yaml.Node `yaml:"tokenMapping"`
	GitLabToken                    string    `yaml:"gitlabToken"`
	GitLabAuth                     string    `yaml:"gitlabAuth"`
	OAuthTokenFile                 string    `yaml:"oauthTokenFile"`
	OceanVersion                   string    `yaml:"oceanVersion"`
	StrictMapping                  *bool     `yaml:"strictMapping"`
	GitOpsScope                    string    `yaml:"gitopsScope"`
	GitLabHost                     string    `yaml:"gitlabHost"`
	AppHost                        string    `yaml:"appHost"`
	UseSystemHook                  *bool     `yaml:"useSystemHook"`
	TokenGroupHooksOverrideMapping yaml.Node `yaml:"tokenGroupHooksOverrideMapping"`
	ScheduledResyncInterval        yaml.Node `yaml:"scheduledResyncInterval"`
	MaxConcurrentRequests          int       `yaml:"maxConcurrentRequests"`
	MaxAdaptiveConcurrentRequests  int       `yaml:"maxAdaptiveConcurrentRequests"`
	GitLabRateLimit                *int      `yaml:"gitlabRateLimit"`
	MaxRetries                     *int      `yaml:"maxRetries"`
	SystemHookSecret               string    `yaml:"systemHookSecret"`
	SystemHookSigningToken         string    `yaml:"systemHookSigningToken"`
	WebhookSecret                  string    `yaml:"webhookSecret"`
	WebhookSigning                 *bool     `yaml:"webhookSigning"`
	ResyncCron                     string    `yaml:"resyncCron"`
	ResyncOnStart                  *bool     `yaml:"resyncOnStart"`
	ReadyBeforeFirstResync         *bool     `yaml:"readyBeforeFirstResync"`
	AdminToken                     string    `yaml:"adminToken"`
	WebhookMaxBodyBytes            int64     `yaml:"webhookMaxBodyBytes"`
	WebhookMaxInFlightBytes        int64     `yaml:"webhookMaxInFlightBytes"`
	WebhookMaxConnections          int       `yaml:"webhookMaxConnections"`
	EventWorkers                   int       `yaml:"eventWorkers"`
	HookReconcileInterval          string    `yaml:"hookReconcileInterval"`
	DeliveryDedupeWindow           string    `yaml:"deliveryDedupeWindow"`
	DeadLetterRetention            string    `yaml:"deadLetterRetention"`
	IncrementalResync              string    `yaml:"incrementalResync"`
	FullResyncInterval             string    `yaml:"fullResyncInterval"`
	IncrementalSyncEnabled         *bool     `yaml:"incrementalSyncEnabled"`
	IncrementalSyncInterval        yaml.Node `yaml:"incrementalSyncInterval"`
	Catalog                        string    `yaml:"catalog"`
	DatabaseURL                    string    `yaml:"databaseUrl"`
	ReplicaName                    string    `yaml:"replicaName"`
	SecretKey                      string    `yaml:"secretKey"`
	PortClientID                   string    `yaml:"portClientId"`
	PortClientSecret               string    `yaml:"portClientSecret"`
	PortBaseURL                    string    `yaml:"portBaseUrl"`
	IntegrationIdentifier          string    `yaml:"integrationIdentifier"`
	SendRawDataExamples            *bool     `yaml:"sendRawDataExamples"`
	DeletionThreshold              *float64  `yaml:"deletionThreshold"`
	ForceDeletion                  *bool     `yaml:"forceDeletion"`

	ActionsProcessorEnabled                       *bool `yaml:"actionsProcessorEnabled"`
	ActionsProcessorPollCheckIntervalSeconds      *int  `yaml:"actionsProcessorPollCheckIntervalSeconds"`
	ActionsProcessorVisibilityTimeoutMs           *int  `yaml:"actionsProcessorVisibilityTimeoutMs"`
	ActionsProcessorWorkersCount                  *int  `yaml:"actionsProcessorWorkersCount"`
	ActionsProcessorRunsBufferHighWatermark       *int  `yaml:"actionsProcessorRunsBufferHighWatermark"`
	ActionsProcessorMaxRunsBufferUtilPctPerAction *int  `yaml:"actionsProcessorMaxRunsBufferUtilPctPerAction"`
}

// Load reads path (may be empty: environment only) and the environment
// given by getenv (os.Getenv when nil), and validates the result.
func Load(path string, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	f, err := readFile(path)
	if err != nil {
		return nil, err
	}
	c, err := build(f, getenv)
	if err != nil {
		return nil, err
	}
	c.sources = settingSources(f, getenv)
	return c, nil
}

// readFile decodes the config file (none when path is empty), refusing
// unknown keys.
func readFile(path string) (file, error) {
	var f file
	if path == "" {
		return f, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return f, fmt.Errorf("config: reading %s: %w", path, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return f, fmt.Errorf("config: %s: %s", path, yamlReason(err))
	}
	return f, nil
}

// unknownField matches yaml's message for a key the file struct lacks:
// "line 3: field gitlabhost not found in type config.file".
var unknownField = regexp.MustCompile(`field (\S+) not found in type config\.file`)

// yamlReason keeps yaml's line-numbered message but drops quoted values,
// which could hold a token. An unknown key gets the nearest known one
// ("did you mean"), as the mapping's unknown keys do, or else the list of
// known keys.
func yamlReason(err error) string {
	return unknownField.ReplaceAllStringFunc(err.Error(), func(m string) string {
		key := redact.Value(unknownField.FindStringSubmatch(m)[1])
		if best, ok := suggest.Nearest(key, fileKeys()); ok {
			return fmt.Sprintf("field %s is not a known setting; did you mean %q?", key, best)
		}
		return fmt.Sprintf("field %s is not a known setting (known: %s)", key, strings.Join(fileKeys(), ", "))
	})
}

// fileKeys are the config file's keys, in the order of the file struct: read
// from its yaml tags, so a new setting cannot be left out of the
// suggestions.
func fileKeys() []string {
	t := reflect.TypeFor[file]()
	keys := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		if k, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); k != "" && k != "-" {
			keys = append(keys, k)
		}
	}
	return keys
}

func build(f file, getenv func(string) string) (*Config, error) {
	c := &Config{
		GitLabHost:            DefaultGitLabHost,
		MaxConcurrentRequests: 8,
		MaxRetries:            8,
	}

	// tokenMapping
	if v := getenv(EnvTokenMapping); v != "" {
		m, err := tokenmap.ParseJSON("tokenMapping", []byte(v))
		if err != nil {
			return nil, &Error{Setting: "tokenMapping", Source: EnvTokenMapping, Err: stripSetting(err, "tokenMapping")}
		}
		c.TokenMapping = m
	} else if f.TokenMapping.Kind != 0 {
		m, err := tokenMappingFromNode(&f.TokenMapping)
		if err != nil {
			return nil, err
		}
		c.TokenMapping = m
	}
	// Ocean v2's form: one token for everything it can see
	// (integrations/gitlab-v2/.port/spec.yaml, gitlabToken). With an OAuth
	// token file (Ocean's hosted form), the file holds the token.
	token, tokenSrc := pick(f.GitLabToken, EnvGitLabToken, getenv)
	if file, fsrc := pick(f.OAuthTokenFile, EnvOAuthTokenFile, getenv); file != "" {
		raw, err := os.ReadFile(file)
		if err != nil {
			return nil, &Error{Setting: "oauthTokenFile", Source: fsrc, Err: errors.New("cannot be read: " + redact.Within(err.Error(), file))}
		}
		c.OAuth, c.TokenFile = true, file
		if token == "" && c.TokenMapping == nil {
			token, tokenSrc = strings.TrimSpace(string(raw)), fsrc
			if token == "" {
				return nil, &Error{Setting: "oauthTokenFile", Source: fsrc, Err: errors.New("the file is empty")}
			}
		}
	}
	switch auth, asrc := pick(f.GitLabAuth, EnvGitLabAuth, getenv); auth {
	case "":
	case "oauth":
		c.OAuth = true
	case "private-token":
		if c.TokenFile != "" {
			return nil, &Error{Setting: "gitlabAuth", Source: asrc, Err: errors.New("is private-token, but an OAuth token file is set")}
		}
	default:
		return nil, &Error{Setting: "gitlabAuth", Source: asrc, Err: fmt.Errorf("must be private-token (PRIVATE-TOKEN header) or oauth (Authorization: Bearer), got %s", redact.Quote(auth))}
	}
	switch {
	case token != "" && c.TokenMapping != nil:
		return nil, &Error{Setting: "gitlabToken", Source: tokenSrc, Err: errors.New("set either tokenMapping (Ocean v1's form) or gitlabToken (v2's), not both")}
	case token != "":
		c.TokenMapping = tokenmap.Mapping{{Token: token, Patterns: []string{"**"}}}
		c.OceanVersion = mapping.OceanV2
	case c.TokenMapping == nil:
		return nil, &Error{Setting: "tokenMapping", Err: fmt.Errorf(`is required: set tokenMapping (or %s), e.g. {"glpat-…": ["**"]}, or Ocean v2's gitlabToken (or %s)`, EnvTokenMapping, EnvGitLabToken)}
	default:
		c.OceanVersion = mapping.OceanV1
	}
	if v, src := pick(f.OceanVersion, EnvOceanVersion, getenv); v != "" {
		g, err := mapping.ParseGeneration(v)
		if err != nil {
			return nil, &Error{Setting: "oceanVersion", Source: src, Err: err}
		}
		c.OceanVersion = g
	}
	strict, err := boolSetting("strictMapping", f.StrictMapping, EnvStrictMapping, false, getenv)
	if err != nil {
		return nil, err
	}
	c.StrictMapping = strict
	switch scope, src := pick(f.GitOpsScope, EnvGitOpsScope, getenv); scope {
	case "", "project":
		c.GitOpsScope = "project"
	case "any":
		c.GitOpsScope = "any"
	default:
		return nil, &Error{Setting: "gitopsScope", Source: src, Err: fmt.Errorf("must be project or any, got %s", redact.Quote(scope))}
	}

	// gitlabHost
	host, src := pick(f.GitLabHost, EnvGitLabHost, getenv)
	if host != "" {
		u, err := url.Parse(host)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, &Error{Setting: "gitlabHost", Source: src, Err: fmt.Errorf("must be an http(s) URL like %s, got %s", DefaultGitLabHost, redact.Quote(host))}
		}
		if u.User != nil {
			return nil, &Error{Setting: "gitlabHost", Source: src, Err: fmt.Errorf("must not hold credentials (%s): tokens go in tokenMapping or gitlabToken", redact.URL(host))}
		}
		c.GitLabHost = strings.TrimRight(host, "/")
		// GitLab's API URL (what the simulator and GitLab's own docs
		// print) passes as a host but would make every request
		// /api/v4/api/v4/…, a 404: the instance's URL is meant.
		if trimmed, ok := strings.CutSuffix(c.GitLabHost, "/api/v4"); ok {
			c.GitLabHost = strings.TrimRight(trimmed, "/")
			c.Notes = append(c.Notes, fmt.Sprintf("gitlabHost (from %s) ends in /api/v4, GitLab's API path, which glsync adds itself: using %s",
				where("gitlabHost", src), redact.URL(c.GitLabHost)))
		}
	}

	// appHost, or Ocean v2's OCEAN__BASE_URL (the same thing: the URL
	// GitLab delivers to).
	app, src := pick(f.AppHost, EnvAppHost, getenv)
	if base := getenv(EnvBaseURL); base != "" {
		if app != "" {
			where := "appHost in the config file"
			if src != "" {
				where = src
			}
			return nil, &Error{Setting: "appHost", Source: EnvBaseURL, Err: fmt.Errorf("set either appHost (Ocean v1's form, here %s) or %s (v2's), not both", where, EnvBaseURL)}
		}
		app, src = base, EnvBaseURL
	}
	if app != "" {
		u, err := url.Parse(app)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, &Error{Setting: "appHost", Source: src, Err: fmt.Errorf("must be the http(s) URL GitLab can reach this service at, got %s", redact.Quote(app))}
		}
		if u.User != nil {
			return nil, &Error{Setting: "appHost", Source: src, Err: fmt.Errorf("must not hold credentials (%s): GitLab authenticates deliveries with the hook's secret", redact.URL(app))}
		}
		c.AppHost = strings.TrimRight(app, "/")
	}

	// useSystemHook
	if f.UseSystemHook != nil {
		c.UseSystemHook = *f.UseSystemHook
	}
	if v := getenv(EnvUseSystemHook); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, &Error{Setting: "useSystemHook", Source: EnvUseSystemHook, Err: fmt.Errorf("must be true or false, got %s", redact.Quote(v))}
		}
		c.UseSystemHook = b
	}

	// tokenGroupHooksOverrideMapping
	const hooksKey = "tokenGroupHooksOverrideMapping"
	var overrideJSON []byte
	overrideSrc := ""
	if v := getenv(EnvHooksOverride); v != "" {
		overrideJSON, overrideSrc = []byte(v), EnvHooksOverride
	} else if f.TokenGroupHooksOverrideMapping.Kind != 0 {
		b, err := nodeAsJSON(&f.TokenGroupHooksOverrideMapping)
		if err != nil {
			return nil, &Error{Setting: hooksKey, Err: err}
		}
		overrideJSON = b
	}
	if overrideJSON != nil {
		m, err := hookspec.ParseOverrideJSON(hooksKey, overrideJSON)
		if err == nil {
			err = m.Validate(hooksKey, c.TokenMapping)
		}
		if err != nil {
			return nil, &Error{Setting: hooksKey, Source: overrideSrc, Err: stripSetting(err, hooksKey)}
		}
		c.TokenGroupHooksOverrideMapping = m
	}

	// scheduledResyncInterval: minutes as in Ocean, or a Go duration.
	if v := firstNonEmpty(getenv(EnvResyncInterval), getenv(EnvResyncIntervalAlt)); v != "" {
		src := EnvResyncInterval
		if getenv(EnvResyncInterval) == "" {
			src = EnvResyncIntervalAlt
		}
		d, err := parseInterval(v)
		if err != nil {
			return nil, &Error{Setting: "scheduledResyncInterval", Source: src, Err: err}
		}
		c.ScheduledResyncInterval = d
	} else if f.ScheduledResyncInterval.Kind != 0 {
		d, err := parseInterval(f.ScheduledResyncInterval.Value)
		if err != nil {
			return nil, &Error{Setting: "scheduledResyncInterval", Err: err}
		}
		c.ScheduledResyncInterval = d
	}

	if f.MaxConcurrentRequests != 0 {
		c.MaxConcurrentRequests = f.MaxConcurrentRequests
	}
	if v := getenv(EnvMaxConcurrency); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, &Error{Setting: "maxConcurrentRequests", Source: EnvMaxConcurrency, Err: fmt.Errorf("must be a whole number, got %s", redact.Quote(v))}
		}
		c.MaxConcurrentRequests = n
	}
	if c.MaxConcurrentRequests < 1 || c.MaxConcurrentRequests > 64 {
		return nil, &Error{Setting: "maxConcurrentRequests", Err: fmt.Errorf("must be between 1 and 64, got %d", c.MaxConcurrentRequests)}
	}
	if err := c.pacingSettings(f, getenv); err != nil {
		return nil, err
	}
	if f.MaxRetries != nil {
		c.MaxRetries = *f.MaxRetries
	}
	if v := getenv(EnvMaxRetries); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, &Error{Setting: "maxRetries", Source: EnvMaxRetries, Err: fmt.Errorf("must be a whole number, got %s", redact.Quote(v))}
		}
		c.MaxRetries = n
	}
	if c.MaxRetries < 0 || c.MaxRetries > 50 {
		return nil, &Error{Setting: "maxRetries", Err: fmt.Errorf("must be between 0 and 50, got %d", c.MaxRetries)}
	}
	if err := c.daemonSettings(f, getenv); err != nil {
		return nil, err
	}
	if err := c.portSettings(f, getenv); err != nil {
		return nil, err
	}
	if err := c.actionsSettings(f, getenv); err != nil {
		return nil, err
	}
	if err := c.checkSecretKey(); err != nil {
		return nil, err
	}
	return c, nil
}

func boolSetting(name string, fileVal *bool, env string, def bool, getenv func(string) string) (bool, error) {
	v := def
	if fileVal != nil {
		v = *fileVal
	}
	if e := getenv(env); e != "" {
		b, err := strconv.ParseBool(e)
		if err != nil {
			return false, &Error{Setting: name, Source: env, Err: fmt.Errorf("must be true or false, got %s", redact.Quote(e))}
		}
		v = b
	}
	return v, nil
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

// stripSetting removes a leading "setting: " from a nested error so the
// setting is not named twice.
func stripSetting(err error, setting string) error {
	msg := strings.TrimPrefix(err.Error(), setting+": ")
	return &wrapped{msg: msg, err: err}
}

type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }

func pick(fileVal, env string, getenv func(string) string) (string, string) {
	if v := getenv(env); v != "" {
		return v, env
	}
	return fileVal, ""
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

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
