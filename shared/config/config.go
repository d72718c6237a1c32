// Package config loads glsync's settings from a YAML file and from the
// environment, using the names of the integration glsync replaces so a
// deployment can switch over without renaming anything.
//
// Environment variables override the file. Every error names the setting
// (and, when it came from the environment, the variable) and never prints a
// whole token.
package config

import (
	"github.com/glsync/terraform-provider-glsync/shared/catalog/sealed"

	"github.com/glsync/terraform-provider-glsync/shared/redact"

	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"gopkg.in/yaml.v3"

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
	EnvWebhookSecret       = "GLSYNC_WEBHOOK_SECRET"
	EnvResyncCron          = "GLSYNC_RESYNC_CRON"
	EnvResyncOnStart       = "GLSYNC_RESYNC_ON_START"
	EnvReadyBeforeResync   = "GLSYNC_READY_BEFORE_FIRST_RESYNC"
	EnvAdminToken          = "GLSYNC_ADMIN_TOKEN"
	EnvCatalog             = "GLSYNC_CATALOG"
	EnvDatabaseURL         = "GLSYNC_DATABASE_URL"
	EnvMaxInFlight         = "GLSYNC_WEBHOOK_MAX_INFLIGHT_BYTES"
	EnvDedupeWindow        = "GLSYNC_DELIVERY_DEDUPE_WINDOW"
	EnvDeadLetterRetention = "GLSYNC_DEAD_LETTER_RETENTION"
	EnvIncrementalResync   = "GLSYNC_INCREMENTAL_RESYNC"
	EnvFullResyncInterval  = "GLSYNC_FULL_RESYNC_INTERVAL"
	EnvReplicaName         = "GLSYNC_REPLICA_NAME"
	EnvSecretKey           = "GLSYNC_SECRET_KEY"
	EnvSecretKeyPrevious   = "GLSYNC_SECRET_KEY_PREVIOUS"
	EnvPortClientID        = "OCEAN__PORT__CLIENT_ID"
	EnvPortClientSecret    = "OCEAN__PORT__CLIENT_SECRET"
	EnvPortBaseURL         = "OCEAN__PORT__BASE_URL"
	EnvIntegrationID       = "OCEAN__INTEGRATION__IDENTIFIER"
	EnvSendExamples        = "OCEAN__SEND_RAW_DATA_EXAMPLES"
	EnvDeleteThreshold     = "GLSYNC_DELETION_THRESHOLD"
	EnvForceDeletion       = "GLSYNC_FORCE_DELETION"
	EnvGitLabToken         = "OCEAN__INTEGRATION__CONFIG__GITLAB_TOKEN"
	EnvBaseURL             = "OCEAN__BASE_URL"
	EnvOAuthTokenFile      = "OCEAN__OAUTH_ACCESS_TOKEN_FILE_PATH"
	EnvGitLabAuth          = "GLSYNC_GITLAB_AUTH"
	EnvOceanVersion        = "GLSYNC_OCEAN_VERSION"
)

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
	// WebhookSecret, when set, is the master secret every hook's secret is
	// derived from (see hooks.DeriveSecret): instances sharing it agree on
	// every hook's secret.
	WebhookSecret string
	// ResyncCron schedules resyncs with a cron expression instead of an
	// interval.
	ResyncCron string
	// ResyncOnStart runs a resync when the daemon starts (default true).
	ResyncOnStart bool
	// ReadyBeforeFirstResync makes /readyz ready before any resync has
	// completed (default false: not ready while the catalog is empty).
	ReadyBeforeFirstResync bool
	// AdminToken protects the daemon's admin API (bearer token).
	AdminToken string
	// WebhookMaxBodyBytes bounds a delivery's size (default 25 MB).
	WebhookMaxBodyBytes int64
	// WebhookMaxInFlightBytes bounds the delivery bytes held in memory at
	// once, by the webhook listener and again by the event workers
	// (default 64 MiB, at least twice webhookMaxBodyBytes).
	WebhookMaxInFlightBytes int64
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

	// Catalog is "embedded" (default), "postgres" or "port".
	Catalog string
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
	WebhookSecret                  string    `yaml:"webhookSecret"`
	ResyncCron                     string    `yaml:"resyncCron"`
	ResyncOnStart                  *bool     `yaml:"resyncOnStart"`
	ReadyBeforeFirstResync         *bool     `yaml:"readyBeforeFirstResync"`
	AdminToken                     string    `yaml:"adminToken"`
	WebhookMaxBodyBytes            int64     `yaml:"webhookMaxBodyBytes"`
	WebhookMaxInFlightBytes        int64     `yaml:"webhookMaxInFlightBytes"`
	EventWorkers                   int       `yaml:"eventWorkers"`
	HookReconcileInterval          string    `yaml:"hookReconcileInterval"`
	DeliveryDedupeWindow           string    `yaml:"deliveryDedupeWindow"`
	DeadLetterRetention            string    `yaml:"deadLetterRetention"`
	IncrementalResync              string    `yaml:"incrementalResync"`
	FullResyncInterval             string    `yaml:"fullResyncInterval"`
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
	return build(f, getenv)
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

// yamlReason keeps yaml's line-numbered message but drops quoted values,
// which could hold a token.
func yamlReason(err error) string {
	msg := err.Error()
	if strings.Contains(msg, "not found in type") {
		// "line 3: field foo not found in type config.file"
		msg = strings.ReplaceAll(msg, "not found in type config.file", "is not a known setting (known: tokenMapping, gitlabToken, gitlabAuth, oauthTokenFile, oceanVersion, gitlabHost, appHost, useSystemHook, tokenGroupHooksOverrideMapping, scheduledResyncInterval, resyncCron, resyncOnStart, readyBeforeFirstResync, systemHookSecret, webhookSecret, adminToken, maxConcurrentRequests, maxAdaptiveConcurrentRequests, gitlabRateLimit, maxRetries, webhookMaxBodyBytes, webhookMaxInFlightBytes, eventWorkers, hookReconcileInterval, deliveryDedupeWindow, deadLetterRetention, incrementalResync, fullResyncInterval, catalog, databaseUrl, replicaName, secretKey, portClientId, portClientSecret, portBaseUrl, integrationIdentifier, sendRawDataExamples, deletionThreshold, forceDeletion)")
	}
	return msg
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

// pacingSettings reads how hard glsync may drive GitLab:
// maxAdaptiveConcurrentRequests and gitlabRateLimit.
func (c *Config) pacingSettings(f file, getenv func(string) string) error {
	c.MaxAdaptiveConcurrentRequests = max(gitlab.DefaultConcurrencyCeiling, c.MaxConcurrentRequests)
	src := ""
	if f.MaxAdaptiveConcurrentRequests != 0 {
		c.MaxAdaptiveConcurrentRequests = f.MaxAdaptiveConcurrentRequests
	}
	if v := getenv(EnvMaxAdaptive); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return &Error{Setting: "maxAdaptiveConcurrentRequests", Source: EnvMaxAdaptive, Err: fmt.Errorf("must be a whole number, got %s", redact.Quote(v))}
		}
		c.MaxAdaptiveConcurrentRequests, src = n, EnvMaxAdaptive
	}
	if n := c.MaxAdaptiveConcurrentRequests; n < c.MaxConcurrentRequests || n > 256 {
		return &Error{Setting: "maxAdaptiveConcurrentRequests", Source: src, Err: fmt.Errorf("must be between maxConcurrentRequests (%d) and 256, got %d", c.MaxConcurrentRequests, n)}
	}
	src = ""
	if f.GitLabRateLimit != nil {
		c.GitLabRateLimit = *f.GitLabRateLimit
	}
	if v := getenv(EnvGitLabRateLimit); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return &Error{Setting: "gitlabRateLimit", Source: EnvGitLabRateLimit, Err: fmt.Errorf("must be a whole number of requests per minute, got %s", redact.Quote(v))}
		}
		c.GitLabRateLimit, src = n, EnvGitLabRateLimit
	}
	if c.GitLabRateLimit < 0 {
		return &Error{Setting: "gitlabRateLimit", Source: src, Err: fmt.Errorf("must be requests per minute per token, 0 to follow GitLab's announced limit alone, got %d", c.GitLabRateLimit)}
	}
	return nil
}

// portSettings reads the Port sink's settings (Ocean's names).
func (c *Config) portSettings(f file, getenv func(string) string) error {
	if err := c.storageSettings(f, getenv); err != nil {
		return err
	}
	c.PortClientID, _ = pick(f.PortClientID, EnvPortClientID, getenv)
	c.PortClientSecret, _ = pick(f.PortClientSecret, EnvPortClientSecret, getenv)
	base, src := pick(f.PortBaseURL, EnvPortBaseURL, getenv)
	if base == "" {
		base = "https://api.getport.io"
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &Error{Setting: "portBaseUrl", Source: src, Err: fmt.Errorf("must be an http(s) URL like https://api.getport.io, got %s", redact.Quote(base))}
	}
	c.PortBaseURL = strings.TrimRight(base, "/")
	c.IntegrationIdentifier, _ = pick(f.IntegrationIdentifier, EnvIntegrationID, getenv)
	if c.IntegrationIdentifier == "" {
		c.IntegrationIdentifier = "gitlab"
	}
	var err error
	if c.SendRawDataExamples, err = boolSetting("sendRawDataExamples", f.SendRawDataExamples, EnvSendExamples, true, getenv); err != nil {
		return err
	}
	if c.ForceDeletion, err = boolSetting("forceDeletion", f.ForceDeletion, EnvForceDeletion, false, getenv); err != nil {
		return err
	}
	c.DeletionThreshold = 0.5
	if f.DeletionThreshold != nil {
		c.DeletionThreshold = *f.DeletionThreshold
	}
	if v := getenv(EnvDeleteThreshold); v != "" {
		t, perr := strconv.ParseFloat(v, 64)
		if perr != nil {
			return &Error{Setting: "deletionThreshold", Source: EnvDeleteThreshold, Err: fmt.Errorf("must be a number between 0 and 1, got %s", redact.Quote(v))}
		}
		c.DeletionThreshold = t
	}
	if c.DeletionThreshold <= 0 || c.DeletionThreshold > 1 {
		return &Error{Setting: "deletionThreshold", Err: fmt.Errorf("must be more than 0 and at most 1, got %v", c.DeletionThreshold)}
	}
	if c.Catalog == "port" && (c.PortClientID == "" || c.PortClientSecret == "") {
		return &Error{Setting: "portClientId", Err: fmt.Errorf("catalog is port: set portClientId and portClientSecret (or %s and %s)", EnvPortClientID, EnvPortClientSecret)}
	}
	return nil
}

// daemonSettings reads the settings only `glsyncd run` uses.
func (c *Config) daemonSettings(f file, getenv func(string) string) error {
	c.SystemHookSecret, _ = pick(f.SystemHookSecret, EnvSystemHookSecret, getenv)
	var wsrc string
	c.WebhookSecret, wsrc = pick(f.WebhookSecret, EnvWebhookSecret, getenv)
	if c.WebhookSecret != "" && len(c.WebhookSecret) < 16 {
		return &Error{Setting: "webhookSecret", Source: wsrc, Err: fmt.Errorf("must be at least 16 characters (every hook's secret derives from it), got %d", len(c.WebhookSecret))}
	}
	c.AdminToken, _ = pick(f.AdminToken, EnvAdminToken, getenv)
	cron, src := pick(f.ResyncCron, EnvResyncCron, getenv)
	if cron != "" {
		if _, err := cronParser.Parse(cron); err != nil {
			return &Error{Setting: "resyncCron", Source: src, Err: fmt.Errorf("invalid cron expression %s: %s (five fields: minute hour day-of-month month day-of-week, or @every 2h)", redact.Quote(cron), redact.Within(err.Error(), cron))}
		}
		if c.ScheduledResyncInterval > 0 {
			return &Error{Setting: "resyncCron", Source: src, Err: errors.New("set either scheduledResyncInterval or resyncCron, not both")}
		}
		c.ResyncCron = cron
	}
	c.ResyncOnStart = true
	if f.ResyncOnStart != nil {
		c.ResyncOnStart = *f.ResyncOnStart
	}
	if v := getenv(EnvResyncOnStart); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return &Error{Setting: "resyncOnStart", Source: EnvResyncOnStart, Err: fmt.Errorf("must be true or false, got %s", redact.Quote(v))}
		}
		c.ResyncOnStart = b
	}
	ready, err := boolSetting("readyBeforeFirstResync", f.ReadyBeforeFirstResync, EnvReadyBeforeResync, false, getenv)
	if err != nil {
		return err
	}
	c.ReadyBeforeFirstResync = ready
	c.WebhookMaxBodyBytes = 25 << 20
	if f.WebhookMaxBodyBytes != 0 {
		if f.WebhookMaxBodyBytes < 1024 {
			return &Error{Setting: "webhookMaxBodyBytes", Err: fmt.Errorf("must be at least 1024, got %d", f.WebhookMaxBodyBytes)}
		}
		c.WebhookMaxBodyBytes = f.WebhookMaxBodyBytes
	}
	c.WebhookMaxInFlightBytes = DefaultInFlightBytes(c.WebhookMaxBodyBytes)
	if v, src := f.WebhookMaxInFlightBytes, ""; v != 0 || getenv(EnvMaxInFlight) != "" {
		if e := getenv(EnvMaxInFlight); e != "" {
			n, err := strconv.ParseInt(e, 10, 64)
			if err != nil {
				return &Error{Setting: "webhookMaxInFlightBytes", Source: EnvMaxInFlight, Err: fmt.Errorf("must be a whole number of bytes, got %s", redact.Quote(e))}
			}
			v, src = n, EnvMaxInFlight
		}
		if v < c.WebhookMaxBodyBytes {
			return &Error{Setting: "webhookMaxInFlightBytes", Source: src, Err: fmt.Errorf("must be at least webhookMaxBodyBytes (%d), got %d", c.WebhookMaxBodyBytes, v)}
		}
		c.WebhookMaxInFlightBytes = v
	}
	c.EventWorkers = 4
	if f.EventWorkers != 0 {
		if f.EventWorkers < 1 || f.EventWorkers > 64 {
			return &Error{Setting: "eventWorkers", Err: fmt.Errorf("must be between 1 and 64, got %d", f.EventWorkers)}
		}
		c.EventWorkers = f.EventWorkers
	}
	c.HookReconcileInterval = time.Hour
	if f.HookReconcileInterval != "" {
		d, err := time.ParseDuration(f.HookReconcileInterval)
		if err != nil || d < time.Minute {
			return &Error{Setting: "hookReconcileInterval", Err: fmt.Errorf("must be a duration of at least 1m, got %s", redact.Quote(f.HookReconcileInterval))}
		}
		c.HookReconcileInterval = d
	}
	c.IncrementalResync = "auto"
	if v, src := pick(f.IncrementalResync, EnvIncrementalResync, getenv); v != "" {
		switch strings.ToLower(v) {
		case "auto", "true", "false":
			c.IncrementalResync = strings.ToLower(v)
		default:
			return &Error{Setting: "incrementalResync", Source: src, Err: fmt.Errorf("must be auto, true or false, got %s", redact.Quote(v))}
		}
	}
	// Retention of the queue's records (see catalog.Retention), and the
	// full passes' interval.
	c.DeliveryDedupeWindow, c.DeadLetterRetention, c.FullResyncInterval = 72*time.Hour, 14*24*time.Hour, 24*time.Hour
	for _, r := range []struct {
		name, env, file string
		min             time.Duration
		dst             *time.Duration
	}{
		{"deliveryDedupeWindow", EnvDedupeWindow, f.DeliveryDedupeWindow, time.Hour, &c.DeliveryDedupeWindow},
		{"deadLetterRetention", EnvDeadLetterRetention, f.DeadLetterRetention, time.Hour, &c.DeadLetterRetention},
		{"fullResyncInterval", EnvFullResyncInterval, f.FullResyncInterval, time.Hour, &c.FullResyncInterval},
	} {
		v, src := pick(r.file, r.env, getenv)
		if v == "" {
			continue
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < r.min {
			return &Error{Setting: r.name, Source: src, Err: fmt.Errorf("must be a duration of at least %s (e.g. 72h), got %s", r.min, redact.Quote(v))}
		}
		*r.dst = d
	}
	return nil
}

// Incremental reports whether scheduled resyncs may be incremental:
// incrementalResync true, or auto with appHost set (glsync manages the
// webhooks that deliver what an incremental pass can miss).
func (c *Config) Incremental() bool {
	return c.IncrementalResync == "true" || (c.IncrementalResync == "auto" && c.AppHost != "")
}

// cronParser accepts standard five-field expressions and descriptors
// such as @hourly and @every 90m.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseCron parses a resyncCron expression.
func ParseCron(expr string) (cron.Schedule, error) { return cronParser.Parse(expr) }

// tokenMappingFromNode accepts a YAML mapping of token to list of globs, or
// a string holding the JSON form.
func tokenMappingFromNode(n *yaml.Node) (tokenmap.Mapping, error) {
	const key = "tokenMapping"
	if n.Kind == yaml.ScalarNode {
		m, err := tokenmap.ParseJSON(key, []byte(n.Value))
		if err != nil {
			return nil, &Error{Setting: key, Err: stripSetting(err, key)}
		}
		return m, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, &Error{Setting: key, Err: fmt.Errorf("line %d: must be a mapping of token to a list of globs", n.Line)}
	}
	var m tokenmap.Mapping
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		var patterns []string
		if v.Kind != yaml.SequenceNode {
			return nil, &Error{Setting: key, Err: fmt.Errorf("token %s: line %d: value must be a list of glob strings", tokenmap.Mask(k.Value), v.Line)}
		}
		if err := v.Decode(&patterns); err != nil {
			return nil, &Error{Setting: key, Err: fmt.Errorf("token %s: line %d: value must be a list of glob strings", tokenmap.Mask(k.Value), v.Line)}
		}
		m = append(m, tokenmap.Entry{Token: k.Value, Patterns: patterns})
	}
	if err := m.Validate(key); err != nil {
		return nil, &Error{Setting: key, Err: stripSetting(err, key)}
	}
	return m, nil
}

// nodeAsJSON turns a YAML mapping into JSON, keeping key order, or returns
// a scalar's text (the JSON-string form).
func nodeAsJSON(n *yaml.Node) ([]byte, error) {
	if n.Kind == yaml.ScalarNode {
		return []byte(n.Value), nil
	}
	var buf bytes.Buffer
	if err := writeJSON(&buf, n); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeJSON(buf *bytes.Buffer, n *yaml.Node) error {
	switch n.Kind {
	case yaml.MappingNode:
		buf.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				buf.WriteByte(',')
			}
			k, _ := json.Marshal(n.Content[i].Value)
			buf.Write(k)
			buf.WriteByte(':')
			if err := writeJSON(buf, n.Content[i+1]); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	case yaml.SequenceNode:
		buf.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeJSON(buf, c); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case yaml.ScalarNode:
		var v any
		if err := n.Decode(&v); err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		buf.Write(b)
	case yaml.AliasNode:
		return writeJSON(buf, n.Alias)
	default:
		return fmt.Errorf("line %d: unsupported YAML value", n.Line)
	}
	return nil
}

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

// storageSettings reads where glsyncd keeps its catalog, queue and
// secrets: catalog, databaseUrl, replicaName.
func (c *Config) storageSettings(f file, getenv func(string) string) error {
	cat, src := pick(f.Catalog, EnvCatalog, getenv)
	dbURL, dbSrc := pick(f.DatabaseURL, EnvDatabaseURL, getenv)
	c.ReplicaName, _ = pick(f.ReplicaName, EnvReplicaName, getenv)
	switch cat {
	case "":
		c.Catalog = "embedded"
		if dbURL != "" {
			c.Catalog = "postgres"
		}
	case "embedded", "port", "postgres":
		c.Catalog = cat
	default:
		return &Error{Setting: "catalog", Source: src, Err: fmt.Errorf("must be embedded, postgres or port, got %s", redact.Quote(cat))}
	}
	if dbURL != "" {
		if c.Catalog == "embedded" {
			return &Error{Setting: "databaseUrl", Source: dbSrc, Err: errors.New("is set but catalog is embedded (the SQLite file): remove one, or set catalog to postgres")}
		}
		if err := checkDatabaseURL(dbURL); err != nil {
			return &Error{Setting: "databaseUrl", Source: dbSrc, Err: err}
		}
	}
	c.DatabaseURL = dbURL
	key, ksrc := pick(f.SecretKey, EnvSecretKey, getenv)
	for _, k := range []struct{ name, src, v string }{{"secretKey", ksrc, key}, {"secretKey (previous)", EnvSecretKeyPrevious, getenv(EnvSecretKeyPrevious)}} {
		if k.v == "" {
			continue
		}
		if _, err := sealed.ParseKey(k.v); err != nil {
			return &Error{Setting: k.name, Source: k.src, Err: fmt.Errorf("%w (value not shown)", err)}
		}
	}
	c.SecretKey, c.SecretKeyPrevious = key, getenv(EnvSecretKeyPrevious)
	return nil
}

// LoadStorage reads only the storage settings (catalog, databaseUrl,
// replicaName) from path and the environment: enough for commands that
// read the catalog without talking to GitLab.
func LoadStorage(path string, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	f, err := readFile(path)
	if err != nil {
		return nil, err
	}
	c := &Config{}
	if err := c.storageSettings(f, getenv); err != nil {
		return nil, err
	}
	return c, nil
}

// UsesPostgres reports whether the catalog, queue and secrets live in
// PostgreSQL (catalog postgres, or Port with a databaseUrl for its mirror).
func (c *Config) UsesPostgres() bool {
	return c.Catalog == "postgres" || c.DatabaseURL != ""
}

// checkDatabaseURL checks the form of a connection string without echoing
// it: it may hold a password.
func checkDatabaseURL(v string) error {
	if strings.HasPrefix(v, "postgres://") || strings.HasPrefix(v, "postgresql://") {
		u, err := url.Parse(v)
		if err != nil || u.Host == "" && u.Query().Get("host") == "" {
			return errors.New("must be a postgres://user:password@host:port/database URL (value not shown: it may hold a password)")
		}
		return nil
	}
	if strings.Contains(v, "=") && !strings.Contains(v, "://") {
		return nil // libpq key=value form, checked when connecting
	}
	return errors.New("must be a postgres:// URL or a libpq key=value string (value not shown: it may hold a password)")
}

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
