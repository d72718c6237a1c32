package config

import (
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/redact"
	"github.com/glsync/terraform-provider-glsync/shared/whsig"
	"gopkg.in/yaml.v3"
)

// setting is one row of the settings table: everything the package knows
// about one config file key. The table is the only list of settings: the
// config file is decoded into a struct built from it, build reads it row
// by row, Effective shows it, and README's settings tables are checked
// against it (readme_test.go).
type setting struct {
	// key is the config file key.
	key string
	// env are the variables that override the file; the first one set
	// wins. also are variables README's row names beside them that do
	// not set this key's value (the previous secret key).
	env, also []string
	// def is the default as README's settings table states it, and doc
	// what the setting does in one line: a missing README row is
	// proposed from them.
	def, doc string
	// secret hides the value from Effective (a token, password or key).
	secret bool
	// file is the type the file's value decodes into: a pointer or a
	// yaml.Node where "not set" and a zero value differ.
	file reflect.Type
	// parse reads the setting into the config and applies the rules that
	// need only it and the rows above it. check, run after every row is
	// parsed, applies the rules that need rows below it.
	parse, check func(b *builder, g given) error
	// storage rows are all LoadStorage reads.
	storage bool
	// show is the effective value, for Effective.
	show func(c *Config) string
}

// The file value types the table uses.
var (
	tString = reflect.TypeFor[string]()
	tBool   = reflect.TypeFor[*bool]()
	tInt    = reflect.TypeFor[int]()
	tIntPtr = reflect.TypeFor[*int]()
	tInt64  = reflect.TypeFor[int64]()
	tFloat  = reflect.TypeFor[*float64]()
	tNode   = reflect.TypeFor[yaml.Node]()
)

// settings is the settings table, in the order of the config file's keys
// (the order Effective and the unknown-key message list them in).
var settings = []setting{
	{key: "tokenMapping", env: []string{EnvTokenMapping}, def: "required (or `gitlabToken`)", secret: true, file: tNode,
		doc: "Token → list of glob patterns (Ocean v1's form).", parse: parseTokenMapping, show: tokenMappingValue},
	{key: "gitlabToken", env: []string{EnvGitLabToken}, def: "none", secret: true, file: tString,
		doc: "Ocean v2's form: one token for every path it can see.",
		// Settled with oauthTokenFile, which may supply the token.
		parse: func(b *builder, g given) error { b.token, b.tokenSrc = g.str(); return nil },
		show: func(c *Config) string {
			return secretValue(c.sources["gitlabToken"] != "" && c.sources["gitlabToken"] != SourceDefault)
		}},
	{key: "gitlabAuth", env: []string{EnvGitLabAuth}, def: "`private-token`", file: tString,
		doc: "`oauth` sends the tokens as OAuth access tokens.", parse: parseGitLabAuth,
		show: func(c *Config) string {
			if c.OAuth {
				return "oauth"
			}
			return "private-token"
		}},
	{key: "oauthTokenFile", env: []string{EnvOAuthTokenFile}, def: "none", file: tString,
		doc: "A file holding the current OAuth access token; implies `oauth`.", parse: parseTokenFile,
		show: func(c *Config) string { return c.TokenFile }},
	{key: "oceanVersion", env: []string{EnvOceanVersion}, def: "`v2` with `gitlabToken`, `v1` with `tokenMapping`", file: tString,
		doc: "Whose defaults a mapping's missing options take.",
		parse: func(b *builder, g given) error {
			if v, src := g.str(); v != "" {
				gen, err := mapping.ParseGeneration(v)
				if err != nil {
					return &Error{Setting: g.key, Source: src, Err: err}
				}
				b.OceanVersion = gen
			}
			return nil
		},
		show: func(c *Config) string { return string(c.OceanVersion) }},
	boolRow("strictMapping", EnvStrictMapping, false, "`true` fails an object when any of its mapping's expressions fails.",
		func(c *Config) *bool { return &c.StrictMapping }),
	{key: "gitopsScope", env: []string{EnvGitOpsScope}, def: "`project`", file: tString,
		doc: "What a GitOps spec file may write: `project` or `any`.",
		parse: func(b *builder, g given) error {
			switch scope, src := g.str(); scope {
			case "", "project":
				b.GitOpsScope = "project"
			case "any":
				b.GitOpsScope = "any"
			default:
				return &Error{Setting: g.key, Source: src, Err: fmt.Errorf("must be project or any, got %s", redact.Quote(scope))}
			}
			return nil
		},
		show: func(c *Config) string { return c.GitOpsScope }},
	{key: "gitlabHost", env: []string{EnvGitLabHost}, def: "`https://gitlab.com`", file: tString,
		doc: "Base URL of the GitLab instance.", parse: parseGitLabHost,
		show: func(c *Config) string { return redact.URL(c.GitLabHost) }},
	{key: "appHost", env: []string{EnvAppHost, EnvBaseURL}, def: "none", file: tString,
		doc: "Public URL of glsyncd; enables real-time hooks.", parse: parseAppHost,
		show: func(c *Config) string { return redact.URL(c.AppHost) }},
	boolRow("useSystemHook", EnvUseSystemHook, false, "One system hook instead of group hooks.",
		func(c *Config) *bool { return &c.UseSystemHook }),
	{key: "tokenGroupHooksOverrideMapping", env: []string{EnvHooksOverride}, def: "none", secret: true, file: tNode,
		doc: "The groups to hook, per token, and their events.", parse: parseHooksOverride,
		show: func(c *Config) string { return secretValue(len(c.TokenGroupHooksOverrideMapping) > 0) }},
	{key: "scheduledResyncInterval", env: []string{EnvResyncInterval, EnvResyncIntervalAlt}, def: "none", file: tNode,
		doc: "Minutes (as in Ocean) or a duration between scheduled resyncs.",
		parse: func(b *builder, g given) error {
			v, src := g.val, g.env
			if v == "" {
				if n := g.node(); n.Kind != 0 {
					v = n.Value
				} else {
					return nil
				}
			}
			d, err := parseInterval(v)
			if err != nil {
				return &Error{Setting: g.key, Source: src, Err: err}
			}
			b.ScheduledResyncInterval = d
			return nil
		},
		show: func(c *Config) string { return duration(c.ScheduledResyncInterval) }},
	{key: "maxConcurrentRequests", env: []string{EnvMaxConcurrency}, def: "`8`", file: tInt,
		doc: "In-flight GitLab requests per token to start at and never go below (1–64).",
		parse: func(b *builder, g given) error {
			b.MaxConcurrentRequests = 8
			if v := g.file.Interface().(int); v != 0 {
				b.MaxConcurrentRequests = v
			}
			if n, set, err := g.whole(""); err != nil {
				return err
			} else if set {
				b.MaxConcurrentRequests = n
			}
			if b.MaxConcurrentRequests < 1 || b.MaxConcurrentRequests > 64 {
				return &Error{Setting: g.key, Err: fmt.Errorf("must be between 1 and 64, got %d", b.MaxConcurrentRequests)}
			}
			return nil
		},
		show: func(c *Config) string { return strconv.Itoa(c.MaxConcurrentRequests) }},
	{key: "maxAdaptiveConcurrentRequests", env: []string{EnvMaxAdaptive}, def: "`128`", file: tInt,
		doc: "The highest the per-token in-flight bound grows to.",
		parse: func(b *builder, g given) error {
			b.MaxAdaptiveConcurrentRequests = max(gitlab.DefaultConcurrencyCeiling, b.MaxConcurrentRequests)
			if v := g.file.Interface().(int); v != 0 {
				b.MaxAdaptiveConcurrentRequests = v
			}
			n, set, err := g.whole("")
			if err != nil {
				return err
			} else if set {
				b.MaxAdaptiveConcurrentRequests = n
			}
			if n := b.MaxAdaptiveConcurrentRequests; n < b.MaxConcurrentRequests || n > 256 {
				return &Error{Setting: g.key, Source: g.env, Err: fmt.Errorf("must be between maxConcurrentRequests (%d) and 256, got %d", b.MaxConcurrentRequests, n)}
			}
			return nil
		},
		show: func(c *Config) string { return strconv.Itoa(c.MaxAdaptiveConcurrentRequests) }},
	{key: "gitlabRateLimit", env: []string{EnvGitLabRateLimit}, def: "`0`", file: tIntPtr,
		doc: "Requests per minute per token, spread evenly; `0`: only GitLab's own limit.",
		parse: func(b *builder, g given) error {
			if v := g.file.Interface().(*int); v != nil {
				b.GitLabRateLimit = *v
			}
			if n, set, err := g.whole(" of requests per minute"); err != nil {
				return err
			} else if set {
				b.GitLabRateLimit = n
			}
			if b.GitLabRateLimit < 0 {
				return &Error{Setting: g.key, Source: g.env, Err: fmt.Errorf("must be requests per minute per token, 0 to follow GitLab's announced limit alone, got %d", b.GitLabRateLimit)}
			}
			return nil
		},
		show: func(c *Config) string { return strconv.Itoa(c.GitLabRateLimit) }},
	{key: "maxRetries", env: []string{EnvMaxRetries}, def: "`8`", file: tIntPtr,
		doc: "Retries of one request on 429, 408, 5xx and dropped connections (0–50).",
		parse: func(b *builder, g given) error {
			b.MaxRetries = 8
			if v := g.file.Interface().(*int); v != nil {
				b.MaxRetries = *v
			}
			if n, set, err := g.whole(""); err != nil {
				return err
			} else if set {
				b.MaxRetries = n
			}
			if b.MaxRetries < 0 || b.MaxRetries > 50 {
				return &Error{Setting: g.key, Err: fmt.Errorf("must be between 0 and 50, got %d", b.MaxRetries)}
			}
			return nil
		},
		show: func(c *Config) string { return strconv.Itoa(c.MaxRetries) }},
	secretRow("systemHookSecret", EnvSystemHookSecret, "Secret of a system hook created by hand.",
		func(c *Config) *string { return &c.SystemHookSecret }, nil),
	secretRow("systemHookSigningToken", EnvSystemSigningToken, "Signing token (`whsec_…`) of a system hook created by hand with one.",
		func(c *Config) *string { return &c.SystemHookSigningToken }, func(v string) error {
			if !whsig.ValidGitLabToken(v) {
				// The value is not shown: it is a secret.
				return errors.New("must be whsec_ followed by the base64 of 32 bytes, as GitLab takes it")
			}
			return nil
		}),
	secretRow("webhookSecret", EnvWebhookSecret, "Master secret every hook's secret derives from.",
		func(c *Config) *string { return &c.WebhookSecret }, func(v string) error {
			if len(v) < 16 {
				return fmt.Errorf("must be at least 16 characters (every hook's secret derives from it), got %d", len(v))
			}
			return nil
		}),
	boolRow("webhookSigning", EnvWebhookSigning, false, "glsync's hooks also get a signing token (GitLab 19+).",
		func(c *Config) *bool { return &c.WebhookSigning }),
	{key: "resyncCron", env: []string{EnvResyncCron}, def: "none", file: tString,
		doc: "Cron schedule instead of an interval.",
		parse: func(b *builder, g given) error {
			cron, src := g.str()
			if cron == "" {
				return nil
			}
			if _, err := cronParser.Parse(cron); err != nil {
				return &Error{Setting: g.key, Source: src, Err: fmt.Errorf("invalid cron expression %s: %s (five fields: minute hour day-of-month month day-of-week, or @every 2h)", redact.Quote(cron), redact.Within(err.Error(), cron))}
			}
			if b.ScheduledResyncInterval > 0 {
				return &Error{Setting: g.key, Source: src, Err: errors.New("set either scheduledResyncInterval or resyncCron, not both")}
			}
			b.ResyncCron = cron
			return nil
		},
		show: func(c *Config) string { return c.ResyncCron }},
	boolRow("resyncOnStart", EnvResyncOnStart, true, "`glsyncd run` resyncs when it starts.",
		func(c *Config) *bool { return &c.ResyncOnStart }),
	boolRow("readyBeforeFirstResync", EnvReadyBeforeResync, false, "`/readyz` is ready before a resync has completed.",
		func(c *Config) *bool { return &c.ReadyBeforeFirstResync }),
	secretRow("adminToken", EnvAdminToken, "Bearer token of the admin API; disabled without it.",
		func(c *Config) *string { return &c.AdminToken }, func(v string) error {
			if len(v) < MinAdminTokenLen {
				// The admin API reads and writes token mappings and hook
				// secrets: a short bearer token is guessed by anyone who
				// reaches the port. Only the length is shown, never the
				// value.
				return fmt.Errorf("must be at least %d characters (or unset to disable the admin API), got %d; "+
					"generate one with `openssl rand -base64 32` and set it in adminToken or %s", MinAdminTokenLen, len(v), EnvAdminToken)
			}
			return nil
		}),
	{key: "webhookMaxBodyBytes", def: "25 MB", file: tInt64,
		doc: "Larger deliveries get 413.",
		parse: func(b *builder, g given) error {
			b.WebhookMaxBodyBytes = 25 << 20
			if v := g.file.Interface().(int64); v != 0 {
				if v < 1024 {
					return &Error{Setting: g.key, Err: fmt.Errorf("must be at least 1024, got %d", v)}
				}
				b.WebhookMaxBodyBytes = v
			}
			return nil
		},
		show: func(c *Config) string { return strconv.FormatInt(c.WebhookMaxBodyBytes, 10) }},
	{key: "webhookMaxInFlightBytes", env: []string{EnvMaxInFlight}, def: "64 MiB (at least 2 × `webhookMaxBodyBytes`)", file: tInt64,
		doc: "Delivery bytes held in memory at once.",
		parse: func(b *builder, g given) error {
			b.WebhookMaxInFlightBytes = DefaultInFlightBytes(b.WebhookMaxBodyBytes)
			v := g.file.Interface().(int64)
			if v == 0 && g.env == "" {
				return nil
			}
			if g.env != "" {
				n, err := strconv.ParseInt(g.val, 10, 64)
				if err != nil {
					return &Error{Setting: g.key, Source: g.env, Err: fmt.Errorf("must be a whole number of bytes, got %s", redact.Quote(g.val))}
				}
				v = n
			}
			if v < b.WebhookMaxBodyBytes {
				return &Error{Setting: g.key, Source: g.env, Err: fmt.Errorf("must be at least webhookMaxBodyBytes (%d), got %d", b.WebhookMaxBodyBytes, v)}
			}
			b.WebhookMaxInFlightBytes = v
			return nil
		},
		show: func(c *Config) string { return strconv.FormatInt(c.WebhookMaxInFlightBytes, 10) }},
	{key: "webhookMaxConnections", env: []string{EnvMaxConnections}, def: "`512`", file: tInt,
		doc: "Connections the webhook listener holds open at once (16–65536).",
		parse: func(b *builder, g given) error {
			b.WebhookMaxConnections = DefaultMaxConnections
			v := g.file.Interface().(int)
			n, set, err := g.whole(" of connections")
			if err != nil {
				return err
			} else if set {
				v = n
			}
			if v == 0 && !set {
				return nil
			}
			// Fewer than 16 would refuse GitLab's own concurrent
			// deliveries; more than 65536 bounds nothing a pod's memory
			// can hold.
			if v < 16 || v > 65536 {
				return &Error{Setting: g.key, Source: g.env, Err: fmt.Errorf("must be between 16 and 65536, got %d", v)}
			}
			b.WebhookMaxConnections = v
			return nil
		},
		show: func(c *Config) string { return strconv.Itoa(c.WebhookMaxConnections) }},
	{key: "eventWorkers", def: "`4`", file: tInt,
		doc: "The least webhook events processed at once (1–64).",
		parse: func(b *builder, g given) error {
			b.EventWorkers = 4
			if v := g.file.Interface().(int); v != 0 {
				if v < 1 || v > 64 {
					return &Error{Setting: g.key, Err: fmt.Errorf("must be between 1 and 64, got %d", v)}
				}
				b.EventWorkers = v
			}
			return nil
		},
		show: func(c *Config) string { return strconv.Itoa(c.EventWorkers) }},
	{key: "hookReconcileInterval", def: "`1h`", file: tString,
		doc: "How often `glsyncd run` checks and repairs its hooks.",
		parse: func(b *builder, g given) error {
			b.HookReconcileInterval = time.Hour
			if v := g.file.String(); v != "" {
				d, err := time.ParseDuration(v)
				if err != nil || d < time.Minute {
					return &Error{Setting: g.key, Err: fmt.Errorf("must be a duration of at least 1m, got %s", redact.Quote(v))}
				}
				b.HookReconcileInterval = d
			}
			return nil
		},
		show: func(c *Config) string { return duration(c.HookReconcileInterval) }},
	// Retention of the queue's records (see catalog.Retention).
	durationRow("deliveryDedupeWindow", EnvDedupeWindow, "`72h`", 72*time.Hour,
		"How long delivery ids are kept to recognise a duplicate.", func(c *Config) *time.Duration { return &c.DeliveryDedupeWindow }),
	durationRow("deadLetterRetention", EnvDeadLetterRetention, "`336h` (14 days)", 14*24*time.Hour,
		"How long dead letters wait for `glsyncd queue retry`.", func(c *Config) *time.Duration { return &c.DeadLetterRetention }),
	{key: "incrementalResync", env: []string{EnvIncrementalResync}, def: "`auto`", file: tString,
		doc: "Whether scheduled resyncs are incremental: `auto`, `true` or `false`.",
		parse: func(b *builder, g given) error {
			b.IncrementalResync = "auto"
			if v, src := g.str(); v != "" {
				switch strings.ToLower(v) {
				case "auto", "true", "false":
					b.IncrementalResync = strings.ToLower(v)
				default:
					return &Error{Setting: g.key, Source: src, Err: fmt.Errorf("must be auto, true or false, got %s", redact.Quote(v))}
				}
			}
			return nil
		},
		show: func(c *Config) string { return c.IncrementalResync }},
	durationRow("fullResyncInterval", EnvFullResyncInterval, "`24h`", 24*time.Hour,
		"With incremental resyncs, how often each kind still gets a full pass.", func(c *Config) *time.Duration { return &c.FullResyncInterval }),
	{key: "incrementalSyncEnabled", env: []string{EnvOceanIncrementalEnabled}, def: "none", file: tBool,
		doc: "Ocean's flag for incremental passes.", parse: parseOceanIncrementalEnabled,
		show: func(c *Config) string { return strconv.FormatBool(c.Incremental()) }},
	{key: "incrementalSyncInterval", env: []string{EnvOceanIncrementalInterval}, def: "none", file: tNode,
		doc: "Ocean's incremental interval: 15, 30 or 60 minutes.", parse: parseOceanIncrementalInterval,
		show: func(c *Config) string { return duration(c.ScheduledResyncInterval) }},
	{key: "catalog", env: []string{EnvCatalog}, def: "`port` when the Port credentials are set, else `postgres` when `databaseUrl` is set, else `embedded`",
		file: tString, storage: true, doc: "Where entities go: `embedded`, `postgres` or `port`.",
		// Its default follows the Port credentials and databaseUrl, below.
		check: checkCatalog, show: func(c *Config) string { return c.Catalog }},
	{key: "databaseUrl", env: []string{EnvDatabaseURL}, def: "none", file: tString, storage: true,
		doc:   "The PostgreSQL database (URL or libpq key=value string).",
		parse: func(b *builder, g given) error { b.DatabaseURL, _ = g.str(); return nil },
		check: checkDatabaseURLSetting,
		// The URL's password is hidden by redact.URL; a key=value string
		// may hold one anywhere, so it is hidden whole.
		show: func(c *Config) string {
			if c.DatabaseURL == "" || strings.Contains(c.DatabaseURL, "://") {
				return redact.URL(c.DatabaseURL)
			}
			return hidden
		}},
	{key: "replicaName", env: []string{EnvReplicaName}, def: "host name", file: tString, storage: true,
		doc:   "This replica's name in `/status`, `/readyz` and logs.",
		parse: func(b *builder, g given) error { b.ReplicaName, _ = g.str(); return nil },
		show:  func(c *Config) string { return c.ReplicaName }},
	{key: "secretKey", env: []string{EnvSecretKey}, also: []string{EnvSecretKeyPrevious}, secret: true, file: tString, storage: true,
		def: "a key file `secret.key` (mode 0600) created in the data directory; **required with PostgreSQL** (`catalog: postgres`, or a `databaseUrl`) " +
			"when `appHost` is set and `webhookSecret` is not: `glsyncd validate` and `run` refuse to start without it (exit 2), and so does the Helm chart",
		doc: "Seals the hook secrets and API-managed token mappings in the catalog.", check: checkSecretKeys,
		show: func(c *Config) string { return secretValue(c.SecretKey != "") }},
	{key: "portClientId", env: []string{EnvPortClientID}, def: "required for port", secret: true, file: tString, storage: true,
		doc:   "Port credentials, with `portClientSecret`.",
		parse: func(b *builder, g given) error { b.PortClientID, _ = g.str(); return nil },
		show:  func(c *Config) string { return secretValue(c.PortClientID != "") }},
	{key: "portClientSecret", env: []string{EnvPortClientSecret}, def: "required for port", secret: true, file: tString, storage: true,
		doc: "Port credentials, with `portClientId`.", parse: parsePortCredentials,
		show: func(c *Config) string { return secretValue(c.PortClientSecret != "") }},
	{key: "portBaseUrl", env: []string{EnvPortBaseURL}, def: "`https://api.getport.io`", file: tString,
		doc: "Port's API.",
		parse: func(b *builder, g given) error {
			base, src := g.str()
			if base == "" {
				base = "https://api.getport.io"
			}
			if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return &Error{Setting: g.key, Source: src, Err: fmt.Errorf("must be an http(s) URL like https://api.getport.io, got %s", redact.Quote(base))}
			}
			b.PortBaseURL = strings.TrimRight(base, "/")
			return nil
		},
		show: func(c *Config) string { return redact.URL(c.PortBaseURL) }},
	{key: "integrationIdentifier", env: []string{EnvIntegrationID}, def: "`gitlab`", file: tString,
		doc: "The integration's identifier in Port (and its entities' `$datasource`).",
		parse: func(b *builder, g given) error {
			if b.IntegrationIdentifier, _ = g.str(); b.IntegrationIdentifier == "" {
				b.IntegrationIdentifier = "gitlab"
			}
			return nil
		},
		show: func(c *Config) string { return c.IntegrationIdentifier }},
	boolRow("sendRawDataExamples", EnvSendExamples, true, "Send a few raw objects per kind to Port's mapping test UI.",
		func(c *Config) *bool { return &c.SendRawDataExamples }),
	{key: "deletionThreshold", env: []string{EnvDeleteThreshold}, def: "`0.5`", file: tFloat,
		doc: "Largest share of a kind's entities one resync may delete.",
		parse: func(b *builder, g given) error {
			b.DeletionThreshold = 0.5
			if v := g.file.Interface().(*float64); v != nil {
				b.DeletionThreshold = *v
			}
			if g.env != "" {
				t, err := strconv.ParseFloat(g.val, 64)
				if err != nil {
					return &Error{Setting: g.key, Source: g.env, Err: fmt.Errorf("must be a number between 0 and 1, got %s", redact.Quote(g.val))}
				}
				b.DeletionThreshold = t
			}
			if b.DeletionThreshold <= 0 || b.DeletionThreshold > 1 {
				return &Error{Setting: g.key, Err: fmt.Errorf("must be more than 0 and at most 1, got %v", b.DeletionThreshold)}
			}
			return nil
		},
		show: func(c *Config) string { return strconv.FormatFloat(c.DeletionThreshold, 'g', -1, 64) }},
	boolRow("forceDeletion", EnvForceDeletion, false, "Lift the deletion threshold for a resync.",
		func(c *Config) *bool { return &c.ForceDeletion }),
	// Ocean's actions processor (port_ocean/config/settings.py,
	// ActionsProcessorSettings): its names, defaults and bounds.
	boolRow("actionsProcessorEnabled", EnvActionsEnabled, false, "Run Port's self-service action runs (catalog port only).",
		func(c *Config) *bool { return &c.ActionsProcessor.Enabled }),
	actionsRow("actionsProcessorPollCheckIntervalSeconds", EnvActionsPollInterval, 10, 0,
		"Seconds between claims when none came.", func(c *Config, n int) { c.ActionsProcessor.PollCheckInterval = time.Duration(n) * time.Second },
		func(c *Config) string { return duration(c.ActionsProcessor.PollCheckInterval) }),
	actionsRow("actionsProcessorVisibilityTimeoutMs", EnvActionsVisibility, 60000, 600000,
		"A claim's lease, in milliseconds.", func(c *Config, n int) { c.ActionsProcessor.VisibilityTimeout = time.Duration(n) * time.Millisecond },
		func(c *Config) string { return duration(c.ActionsProcessor.VisibilityTimeout) }),
	actionsRow("actionsProcessorWorkersCount", EnvActionsWorkers, 3, 0,
		"Runs executed at once per replica.", func(c *Config, n int) { c.ActionsProcessor.WorkersCount = n },
		func(c *Config) string { return strconv.Itoa(c.ActionsProcessor.WorkersCount) }),
	actionsRow("actionsProcessorRunsBufferHighWatermark", EnvActionsWatermark, 300, 1000,
		"Claimed runs waiting at most.", func(c *Config, n int) { c.ActionsProcessor.RunsBufferHighWatermark = n },
		func(c *Config) string { return strconv.Itoa(c.ActionsProcessor.RunsBufferHighWatermark) }),
	actionsRow("actionsProcessorMaxRunsBufferUtilPctPerAction", EnvActionsPctPerAction, 30, 100,
		"One action's share of that buffer before claims exclude it.", func(c *Config, n int) { c.ActionsProcessor.MaxRunsBufferUtilPctPerAction = n },
		func(c *Config) string { return strconv.Itoa(c.ActionsProcessor.MaxRunsBufferUtilPctPerAction) }),
}

// boolRow is a true-or-false setting: the file's value, else def, and
// its variable over both.
func boolRow(key, env string, def bool, doc string, dst func(*Config) *bool) setting {
	return setting{key: key, env: []string{env}, def: "`" + strconv.FormatBool(def) + "`", doc: doc, file: tBool,
		parse: func(b *builder, g given) error {
			v, err := g.boolean(def)
			*dst(b.Config) = v
			return err
		},
		show: func(c *Config) string { return strconv.FormatBool(*dst(c)) }}
}

// secretRow is a secret string; valid, when given, checks a set value
// and must not show it.
func secretRow(key, env, doc string, dst func(*Config) *string, valid func(string) error) setting {
	return setting{key: key, env: []string{env}, def: "none", doc: doc, secret: true, file: tString,
		parse: func(b *builder, g given) error {
			v, src := g.str()
			*dst(b.Config) = v
			if v != "" && valid != nil {
				if err := valid(v); err != nil {
					return &Error{Setting: key, Source: src, Err: err}
				}
			}
			return nil
		},
		show: func(c *Config) string { return secretValue(*dst(c) != "") }}
}

// durationRow is a Go duration of at least an hour.
func durationRow(key, env, defDoc string, def time.Duration, doc string, dst func(*Config) *time.Duration) setting {
	const least = time.Hour
	return setting{key: key, env: []string{env}, def: defDoc, doc: doc, file: tString,
		parse: func(b *builder, g given) error {
			*dst(b.Config) = def
			v, src := g.str()
			if v == "" {
				return nil
			}
			d, err := time.ParseDuration(v)
			if err != nil || d < least {
				return &Error{Setting: key, Source: src, Err: fmt.Errorf("must be a duration of at least %s (e.g. 72h), got %s", least, redact.Quote(v))}
			}
			*dst(b.Config) = d
			return nil
		},
		show: func(c *Config) string { return duration(*dst(c)) }}
}

// actionsRow is one of Ocean's actions processor numbers: at least 1,
// and at most hi when hi is not 0.
func actionsRow(key, env string, def, hi int, doc string, set func(*Config, int), show func(*Config) string) setting {
	return setting{key: key, env: []string{env}, def: "`" + strconv.Itoa(def) + "`", doc: doc, file: tIntPtr,
		parse: func(b *builder, g given) error {
			n := def
			if v := g.file.Interface().(*int); v != nil {
				n = *v
			}
			if v, ok, err := g.whole(""); err != nil {
				return err
			} else if ok {
				n = v
			}
			if n < 1 || hi > 0 && n > hi {
				bound := "at least 1"
				if hi > 0 {
					bound = fmt.Sprintf("between 1 and %d", hi)
				}
				return &Error{Setting: key, Source: g.env, Err: fmt.Errorf("must be %s, got %d", bound, n)}
			}
			set(b.Config, n)
			return nil
		},
		show: show}
}
