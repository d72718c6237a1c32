package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/redact"
)

// Effective is one setting as the daemon runs with it, for an operator to
// read (the console's Settings page): the value with any secret hidden,
// and where it came from.
type Effective struct {
	// Key is the config file key.
	Key string
	// Value is the effective value; a secret is only said to be set.
	Value string
	// Source is the environment variable that set it, "file" or "default".
	Source string
	// Secret is true for tokens, passwords and keys.
	Secret bool
}

// SourceFile and SourceDefault are Effective.Source for a value from the
// config file and for one nobody set.
const (
	SourceFile    = "file"
	SourceDefault = "default"
)

// hidden is what a set secret reads as: nothing of it, not even its
// length or prefix, since an operator only needs to know it is set.
const hidden = "set (hidden)"

// effectiveSetting describes one file key: the variables that override
// it (the first set wins, as build reads them) and how its effective
// value reads.
type effectiveSetting struct {
	key    string
	env    []string
	secret bool
	value  func(c *Config) string
}

// effectiveSettings lists every config file key. TestEffectiveCoversEveryKey
// keeps it complete: a new setting without a row fails the test, so the
// console never silently omits one.
var effectiveSettings = []effectiveSetting{
	{"tokenMapping", []string{EnvTokenMapping}, true, tokenMappingValue},
	{"gitlabToken", []string{EnvGitLabToken}, true, func(c *Config) string {
		return secretValue(c.sources["gitlabToken"] != "" && c.sources["gitlabToken"] != SourceDefault)
	}},
	{"gitlabAuth", []string{EnvGitLabAuth}, false, func(c *Config) string {
		if c.OAuth {
			return "oauth"
		}
		return "private-token"
	}},
	{"oauthTokenFile", []string{EnvOAuthTokenFile}, false, func(c *Config) string { return c.TokenFile }},
	{"oceanVersion", []string{EnvOceanVersion}, false, func(c *Config) string { return string(c.OceanVersion) }},
	{"strictMapping", []string{EnvStrictMapping}, false, func(c *Config) string { return strconv.FormatBool(c.StrictMapping) }},
	{"gitopsScope", []string{EnvGitOpsScope}, false, func(c *Config) string { return c.GitOpsScope }},
	{"gitlabHost", []string{EnvGitLabHost}, false, func(c *Config) string { return redact.URL(c.GitLabHost) }},
	{"appHost", []string{EnvAppHost, EnvBaseURL}, false, func(c *Config) string { return redact.URL(c.AppHost) }},
	{"useSystemHook", []string{EnvUseSystemHook}, false, func(c *Config) string { return strconv.FormatBool(c.UseSystemHook) }},
	{"tokenGroupHooksOverrideMapping", []string{EnvHooksOverride}, true, func(c *Config) string {
		return secretValue(len(c.TokenGroupHooksOverrideMapping) > 0)
	}},
	{"scheduledResyncInterval", []string{EnvResyncInterval, EnvResyncIntervalAlt}, false, func(c *Config) string { return duration(c.ScheduledResyncInterval) }},
	{"maxConcurrentRequests", []string{EnvMaxConcurrency}, false, func(c *Config) string { return strconv.Itoa(c.MaxConcurrentRequests) }},
	{"maxAdaptiveConcurrentRequests", []string{EnvMaxAdaptive}, false, func(c *Config) string { return strconv.Itoa(c.MaxAdaptiveConcurrentRequests) }},
	{"gitlabRateLimit", []string{EnvGitLabRateLimit}, false, func(c *Config) string { return strconv.Itoa(c.GitLabRateLimit) }},
	{"maxRetries", []string{EnvMaxRetries}, false, func(c *Config) string { return strconv.Itoa(c.MaxRetries) }},
	{"systemHookSecret", []string{EnvSystemHookSecret}, true, func(c *Config) string { return secretValue(c.SystemHookSecret != "") }},
	{"systemHookSigningToken", []string{EnvSystemSigningToken}, true, func(c *Config) string { return secretValue(c.SystemHookSigningToken != "") }},
	{"webhookSecret", []string{EnvWebhookSecret}, true, func(c *Config) string { return secretValue(c.WebhookSecret != "") }},
	{"webhookSigning", []string{EnvWebhookSigning}, false, func(c *Config) string { return strconv.FormatBool(c.WebhookSigning) }},
	{"resyncCron", []string{EnvResyncCron}, false, func(c *Config) string { return c.ResyncCron }},
	{"resyncOnStart", []string{EnvResyncOnStart}, false, func(c *Config) string { return strconv.FormatBool(c.ResyncOnStart) }},
	{"readyBeforeFirstResync", []string{EnvReadyBeforeResync}, false, func(c *Config) string { return strconv.FormatBool(c.ReadyBeforeFirstResync) }},
	{"adminToken", []string{EnvAdminToken}, true, func(c *Config) string { return secretValue(c.AdminToken != "") }},
	{"webhookMaxBodyBytes", nil, false, func(c *Config) string { return strconv.FormatInt(c.WebhookMaxBodyBytes, 10) }},
	{"webhookMaxInFlightBytes", []string{EnvMaxInFlight}, false, func(c *Config) string { return strconv.FormatInt(c.WebhookMaxInFlightBytes, 10) }},
	{"webhookMaxConnections", []string{EnvMaxConnections}, false, func(c *Config) string { return strconv.Itoa(c.WebhookMaxConnections) }},
	{"eventWorkers", nil, false, func(c *Config) string { return strconv.Itoa(c.EventWorkers) }},
	{"hookReconcileInterval", nil, false, func(c *Config) string { return duration(c.HookReconcileInterval) }},
	{"deliveryDedupeWindow", []string{EnvDedupeWindow}, false, func(c *Config) string { return duration(c.DeliveryDedupeWindow) }},
	{"deadLetterRetention", []string{EnvDeadLetterRetention}, false, func(c *Config) string { return duration(c.DeadLetterRetention) }},
	{"incrementalResync", []string{EnvIncrementalResync}, false, func(c *Config) string { return c.IncrementalResync }},
	{"fullResyncInterval", []string{EnvFullResyncInterval}, false, func(c *Config) string { return duration(c.FullResyncInterval) }},
	{"incrementalSyncEnabled", []string{EnvOceanIncrementalEnabled}, false, func(c *Config) string { return strconv.FormatBool(c.Incremental()) }},
	{"incrementalSyncInterval", []string{EnvOceanIncrementalInterval}, false, func(c *Config) string { return duration(c.ScheduledResyncInterval) }},
	{"catalog", []string{EnvCatalog}, false, func(c *Config) string { return c.Catalog }},
	// The URL's password is hidden by redact.URL; a key=value string may
	// hold one anywhere, so it is hidden whole.
	{"databaseUrl", []string{EnvDatabaseURL}, false, func(c *Config) string {
		if c.DatabaseURL == "" || strings.Contains(c.DatabaseURL, "://") {
			return redact.URL(c.DatabaseURL)
		}
		return hidden
	}},
	{"replicaName", []string{EnvReplicaName}, false, func(c *Config) string { return c.ReplicaName }},
	{"secretKey", []string{EnvSecretKey}, true, func(c *Config) string { return secretValue(c.SecretKey != "") }},
	{"portClientId", []string{EnvPortClientID}, true, func(c *Config) string { return secretValue(c.PortClientID != "") }},
	{"portClientSecret", []string{EnvPortClientSecret}, true, func(c *Config) string { return secretValue(c.PortClientSecret != "") }},
	{"portBaseUrl", []string{EnvPortBaseURL}, false, func(c *Config) string { return redact.URL(c.PortBaseURL) }},
	{"integrationIdentifier", []string{EnvIntegrationID}, false, func(c *Config) string { return c.IntegrationIdentifier }},
	{"sendRawDataExamples", []string{EnvSendExamples}, false, func(c *Config) string { return strconv.FormatBool(c.SendRawDataExamples) }},
	{"deletionThreshold", []string{EnvDeleteThreshold}, false, func(c *Config) string { return strconv.FormatFloat(c.DeletionThreshold, 'g', -1, 64) }},
	{"forceDeletion", []string{EnvForceDeletion}, false, func(c *Config) string { return strconv.FormatBool(c.ForceDeletion) }},
	{"actionsProcessorEnabled", []string{EnvActionsEnabled}, false, func(c *Config) string { return strconv.FormatBool(c.ActionsProcessor.Enabled) }},
	{"actionsProcessorPollCheckIntervalSeconds", []string{EnvActionsPollInterval}, false, func(c *Config) string { return duration(c.ActionsProcessor.PollCheckInterval) }},
	{"actionsProcessorVisibilityTimeoutMs", []string{EnvActionsVisibility}, false, func(c *Config) string { return duration(c.ActionsProcessor.VisibilityTimeout) }},
	{"actionsProcessorWorkersCount", []string{EnvActionsWorkers}, false, func(c *Config) string { return strconv.Itoa(c.ActionsProcessor.WorkersCount) }},
	{"actionsProcessorRunsBufferHighWatermark", []string{EnvActionsWatermark}, false, func(c *Config) string { return strconv.Itoa(c.ActionsProcessor.RunsBufferHighWatermark) }},
	{"actionsProcessorMaxRunsBufferUtilPctPerAction", []string{EnvActionsPctPerAction}, false, func(c *Config) string {
		return strconv.Itoa(c.ActionsProcessor.MaxRunsBufferUtilPctPerAction)
	}},
}

// settingSources says where each key's value came from: the first of its
// variables that is set, else the file when it sets the key, else the
// default. It reads the same inputs build did, so it cannot disagree
// with it about which won.
func settingSources(f file, getenv func(string) string) map[string]string {
	inFile := map[string]bool{}
	v := reflect.ValueOf(f)
	t := v.Type()
	for i := range t.NumField() {
		k, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if fv := v.Field(i); !fv.IsZero() {
			inFile[k] = true
		}
	}
	out := make(map[string]string, len(effectiveSettings))
	for _, s := range effectiveSettings {
		out[s.key] = SourceDefault
		if inFile[s.key] {
			out[s.key] = SourceFile
		}
		for _, e := range s.env {
			if getenv(e) != "" {
				out[s.key] = e
				break
			}
		}
	}
	return out
}

// Effective lists every setting with its effective value (secrets
// hidden) and its source, in the order of the config file's keys. A
// Config built in code, not by Load, reports every source as the default.
func (c *Config) Effective() []Effective {
	out := make([]Effective, 0, len(effectiveSettings))
	for _, s := range effectiveSettings {
		src := c.sources[s.key]
		if src == "" {
			src = SourceDefault
		}
		out = append(out, Effective{Key: s.key, Value: s.value(c), Source: src, Secret: s.secret})
	}
	return out
}

// tokenMappingValue names each token by its position and its kind
// (glpat-, gldt-…) only, with the paths it syncs: enough to tell the
// entries apart, nothing an attacker could start a guess from.
func tokenMappingValue(c *Config) string {
	var parts []string
	for i, e := range c.TokenMapping {
		parts = append(parts, fmt.Sprintf("token %d (%s): %s", i+1, tokenKind(e.Token), strings.Join(e.Patterns, ", ")))
	}
	return strings.Join(parts, "; ")
}

// tokenKind is a token's type prefix, without the characters
// redact.Token shows after it.
func tokenKind(token string) string {
	return redact.Prefix(token) + "…"
}

func secretValue(set bool) string {
	if set {
		return hidden
	}
	return "not set"
}

func duration(d time.Duration) string {
	if d == 0 {
		return "0 (off)"
	}
	return d.String()
}
