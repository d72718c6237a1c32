package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/redact"
	"github.com/glsync/terraform-provider-glsync/shared/sealed"
	"github.com/glsync/terraform-provider-glsync/shared/whsig"
)

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
	var ssrc string
	c.SystemHookSigningToken, ssrc = pick(f.SystemHookSigningToken, EnvSystemSigningToken, getenv)
	if c.SystemHookSigningToken != "" && !whsig.ValidGitLabToken(c.SystemHookSigningToken) {
		// The value is not shown: it is a secret.
		return &Error{Setting: "systemHookSigningToken", Source: ssrc, Err: errors.New("must be whsec_ followed by the base64 of 32 bytes, as GitLab takes it")}
	}
	var wsrc string
	c.WebhookSecret, wsrc = pick(f.WebhookSecret, EnvWebhookSecret, getenv)
	if c.WebhookSecret != "" && len(c.WebhookSecret) < 16 {
		return &Error{Setting: "webhookSecret", Source: wsrc, Err: fmt.Errorf("must be at least 16 characters (every hook's secret derives from it), got %d", len(c.WebhookSecret))}
	}
	signing, err := boolSetting("webhookSigning", f.WebhookSigning, EnvWebhookSigning, false, getenv)
	if err != nil {
		return err
	}
	c.WebhookSigning = signing
	var asrc string
	c.AdminToken, asrc = pick(f.AdminToken, EnvAdminToken, getenv)
	if c.AdminToken != "" && len(c.AdminToken) < MinAdminTokenLen {
		// The admin API reads and writes token mappings and hook secrets:
		// a short bearer token is guessed by anyone who reaches the port.
		// Only the length is shown, never the value.
		return &Error{Setting: "adminToken", Source: asrc, Err: fmt.Errorf("must be at least %d characters (or unset to disable the admin API), got %d; "+
			"generate one with `openssl rand -base64 32` and set it in adminToken or %s", MinAdminTokenLen, len(c.AdminToken), EnvAdminToken)}
	}
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
	if err := c.connectionSettings(f, getenv); err != nil {
		return err
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
	return c.oceanIncremental(f, getenv)
}

// storageSettings reads where glsyncd keeps its catalog, queue and
// secrets: catalog, databaseUrl, replicaName.
func (c *Config) storageSettings(f file, getenv func(string) string) error {
	cat, src := pick(f.Catalog, EnvCatalog, getenv)
	dbURL, dbSrc := pick(f.DatabaseURL, EnvDatabaseURL, getenv)
	c.ReplicaName, _ = pick(f.ReplicaName, EnvReplicaName, getenv)
	creds, err := c.portCredentials(f, getenv)
	if err != nil {
		return err
	}
	switch cat {
	case "":
		// Ocean's deployments set the Port credentials and no catalog:
		// they mean "write to Port", and an embedded file nobody reads
		// would look like a working sync that never reaches Port.
		switch {
		case creds != "":
			c.Catalog, c.CatalogFrom = "port", creds
		case dbURL != "":
			c.Catalog, c.CatalogFrom = "postgres", where("databaseUrl", dbSrc)
		default:
			c.Catalog, c.CatalogFrom = "embedded", "the default"
		}
	case "embedded", "port", "postgres":
		c.Catalog, c.CatalogFrom = cat, where("catalog", src)
		if cat != "port" && creds != "" {
			c.Warnings = append(c.Warnings, fmt.Sprintf("catalog is %s (from %s) but the Port credentials are set (%s): nothing is written to Port. "+
				"Remove catalog to write to Port, or remove the credentials", cat, c.CatalogFrom, creds))
		}
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

// portCredentials reads portClientId and portClientSecret, which go
// together: it returns where they came from ("" when neither is set), and
// an error naming the missing one when only one is set.
func (c *Config) portCredentials(f file, getenv func(string) string) (string, error) {
	id, idSrc := pick(f.PortClientID, EnvPortClientID, getenv)
	secret, secretSrc := pick(f.PortClientSecret, EnvPortClientSecret, getenv)
	c.PortClientID, c.PortClientSecret = id, secret
	switch {
	case id == "" && secret == "":
		return "", nil
	case secret == "":
		return "", &Error{Setting: "portClientSecret", Err: fmt.Errorf("is not set, but portClientId is (from %s): Port needs both; set portClientSecret (or %s)",
			where("portClientId", idSrc), EnvPortClientSecret)}
	case id == "":
		return "", &Error{Setting: "portClientId", Err: fmt.Errorf("is not set, but portClientSecret is (from %s): Port needs both; set portClientId (or %s)",
			where("portClientSecret", secretSrc), EnvPortClientID)}
	}
	if idSrc != "" && secretSrc != "" {
		return idSrc + "/" + secretSrc, nil
	}
	if idSrc == "" && secretSrc == "" {
		return "portClientId/portClientSecret in the config file", nil
	}
	return where("portClientId", idSrc) + " and " + where("portClientSecret", secretSrc), nil
}

// where names where a setting's value came from: its environment
// variable, or the config file.
func where(setting, src string) string {
	if src != "" {
		return src
	}
	return setting + " in the config file"
}

// checkSecretKey refuses, at start, a database-backed catalog that would
// have to keep random hook secrets with no key to seal them: the replicas
// would pass /readyz and then fail every hook they create ("no secret
// key"), so no delivery would ever be accepted. With webhookSecret the
// hook secrets derive from it and nothing secret is stored; without
// appHost no hook is created.
func (c *Config) checkSecretKey() error {
	if !c.UsesPostgres() || c.AppHost == "" || c.SecretKey != "" || c.WebhookSecret != "" {
		return nil
	}
	return &Error{Setting: "secretKey", Err: fmt.Errorf("is required with a PostgreSQL catalog (catalog %s) and appHost: "+
		"every replica seals and opens the secrets of the hooks it creates with it. Set secretKey (or %s) to the same key on every replica "+
		"(openssl rand -base64 32), or set webhookSecret (or %s) so that hook secrets derive from it", c.Catalog, EnvSecretKey, EnvWebhookSecret)}
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

// LoadAdminToken reads only adminToken (GLSYNC_ADMIN_TOKEN wins over the
// file, as for the daemon) from path and the environment: what a client
// of the daemon's admin API (glsyncd resync --remote) needs, without the
// settings only the daemon must have. The token is never in an error.
func LoadAdminToken(path string, getenv func(string) string) (string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	f, err := readFile(path)
	if err != nil {
		return "", err
	}
	token, _ := pick(f.AdminToken, EnvAdminToken, getenv)
	return token, nil
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

// DefaultMaxConnections is webhookMaxConnections' default: far more
// than GitLab opens at once (one connection per delivery, from its
// webhook workers), and small enough that as many connections each
// holding a full header block (webhook.MaxHeaderBytes) take tens of MiB.
const DefaultMaxConnections = 512

// connectionSettings reads webhookMaxConnections.
func (c *Config) connectionSettings(f file, getenv func(string) string) error {
	c.WebhookMaxConnections = DefaultMaxConnections
	v, src := f.WebhookMaxConnections, ""
	if e := getenv(EnvMaxConnections); e != "" {
		n, err := strconv.Atoi(e)
		if err != nil {
			return &Error{Setting: "webhookMaxConnections", Source: EnvMaxConnections, Err: fmt.Errorf("must be a whole number of connections, got %s", redact.Quote(e))}
		}
		v, src = n, EnvMaxConnections
	}
	if v == 0 && src == "" {
		return nil
	}
	// Fewer than 16 would refuse GitLab's own concurrent deliveries;
	// more than 65536 bounds nothing a pod's memory can hold.
	if v < 16 || v > 65536 {
		return &Error{Setting: "webhookMaxConnections", Source: src, Err: fmt.Errorf("must be between 16 and 65536, got %d", v)}
	}
	c.WebhookMaxConnections = v
	return nil
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
