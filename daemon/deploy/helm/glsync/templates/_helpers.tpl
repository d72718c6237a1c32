{{- define "glsync.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "glsync.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "glsync.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "glsync.secretName" -}}
{{- default (include "glsync.fullname" .) .Values.integration.existingSecret -}}
{{- end -}}

{{- define "glsync.replicaCount" -}}
{{- int .Values.replicaCount -}}
{{- end -}}

{{/* The Secret holding the PostgreSQL URL: the user's, or the chart's own
(rendered even with integration.existingSecret, then holding only it). */}}
{{- define "glsync.databaseSecretName" -}}
{{- default (include "glsync.fullname" .) .Values.database.existingSecret -}}
{{- end -}}

{{- define "glsync.databaseSecretKey" -}}
{{- if .Values.database.existingSecret -}}
{{- default "databaseUrl" .Values.database.existingSecretKey -}}
{{- else -}}
databaseUrl
{{- end -}}
{{- end -}}

{{/* The URL the chart's own Secret carries, empty when it carries none. */}}
{{- define "glsync.databaseUrl" -}}
{{- if and .Values.database.enabled (not .Values.database.existingSecret) -}}
{{- .Values.database.url -}}
{{- end -}}
{{- end -}}

{{/* "true" when extraEnv sets the variable name (a value or a valueFrom). */}}
{{- define "glsync.extraEnvSets" -}}
{{- $name := index . 1 -}}
{{- range (index . 0).Values.extraEnv -}}
{{- if and (eq (toString .name) $name) (or .value .valueFrom) -}}true{{- end -}}
{{- end -}}
{{- end -}}

{{/* "true" when the catalog is in PostgreSQL: database.enabled, or
GLSYNC_CATALOG=postgres / GLSYNC_DATABASE_URL given through extraEnv. */}}
{{- define "glsync.usesPostgres" -}}
{{- $catalog := "" -}}
{{- range .Values.extraEnv -}}
{{- if eq (toString .name) "GLSYNC_CATALOG" -}}{{- $catalog = toString .value -}}{{- end -}}
{{- end -}}
{{- if or .Values.database.enabled (eq $catalog "postgres") (include "glsync.extraEnvSets" (list . "GLSYNC_DATABASE_URL")) -}}true{{- end -}}
{{- end -}}

{{/* "true" when the pods get a secretKey or a webhookSecret (hook secrets
then derive from it). integration.existingSecret is read from the cluster
when Helm can (install, upgrade); rendered offline it is trusted, and
glsyncd itself refuses to start without the key (exit 2). */}}
{{- define "glsync.hasSecretKey" -}}
{{- $s := .Values.integration.secrets -}}
{{- if or $s.secretKey $s.webhookSecret (include "glsync.extraEnvSets" (list . "GLSYNC_SECRET_KEY")) (include "glsync.extraEnvSets" (list . "GLSYNC_WEBHOOK_SECRET")) -}}
true
{{- else if .Values.integration.existingSecret -}}
{{- $found := lookup "v1" "Secret" .Release.Namespace .Values.integration.existingSecret -}}
{{- if or (not $found) (hasKey (default dict $found.data) "secretKey") (hasKey (default dict $found.data) "webhookSecret") -}}true{{- end -}}
{{- end -}}
{{- end -}}

{{/* Settings the chart refuses, with the way out. A short adminToken is
refused here rather than by a pod in CrashLoopBackOff (glsyncd refuses it
too): it is the only guard of the admin API's token mappings and hook
secrets. The value is never printed. */}}
{{- define "glsync.validate" -}}
{{- with .Values.adminToken -}}
{{- if lt (len (toString .)) 32 -}}
{{- fail (printf "adminToken (GLSYNC_ADMIN_TOKEN) must be at least 32 characters, got %d: generate one with `openssl rand -base64 32`, or leave it empty to disable the admin API" (len (toString .))) -}}
{{- end -}}
{{- end -}}
{{- if and .Values.integration.config.appHost .Values.liveEvents.baseUrl -}}
{{- fail "set either integration.config.appHost (Ocean gitlab's appHost) or liveEvents.baseUrl (gitlab-v2's OCEAN__BASE_URL), not both: both are the URL GitLab delivers to" -}}
{{- end -}}
{{- $port := .Values.port -}}
{{- if and $port.clientId (not $port.clientSecret) -}}
{{- fail "port.clientId is set but port.clientSecret is not: Port needs both (OCEAN__PORT__CLIENT_ID and OCEAN__PORT__CLIENT_SECRET)" -}}
{{- end -}}
{{- if and $port.clientSecret (not $port.clientId) -}}
{{- fail "port.clientSecret is set but port.clientId is not: Port needs both (OCEAN__PORT__CLIENT_ID and OCEAN__PORT__CLIENT_SECRET)" -}}
{{- end -}}
{{- if .Values.database.enabled -}}
{{- if not (or .Values.database.url .Values.database.existingSecret) -}}
{{- fail "database.enabled=true needs database.url (a postgres:// URL) or database.existingSecret (a Secret holding the URL under database.existingSecretKey)" -}}
{{- end -}}
{{- end -}}
{{- if and (include "glsync.usesPostgres" .) (not (include "glsync.hasSecretKey" .)) -}}
{{- if .Values.integration.existingSecret -}}
{{- fail (printf "a PostgreSQL catalog needs integration.secrets.secretKey (GLSYNC_SECRET_KEY): integration.existingSecret %q has neither a secretKey nor a webhookSecret key. Every replica seals and opens the hook secrets and token mappings in the database with it; add secretKey (openssl rand -base64 32) to that Secret" .Values.integration.existingSecret) -}}
{{- end -}}
{{- fail "a PostgreSQL catalog (database.enabled=true, or GLSYNC_CATALOG=postgres or GLSYNC_DATABASE_URL in extraEnv) needs integration.secrets.secretKey (GLSYNC_SECRET_KEY; openssl rand -base64 32): every replica seals and opens the hook secrets and token mappings in the database with it, and without it they would start ready and then fail every hook they create. Or set integration.secrets.webhookSecret (hook secrets then derive from it), or integration.existingSecret with a secretKey key" -}}
{{- end -}}
{{- if not .Values.database.enabled -}}
{{- if gt (int .Values.replicaCount) 1 -}}
{{- fail (printf "replicaCount=%d needs a database: the embedded SQLite catalog (and the Port catalog's local mirror) lives on one volume for one process. Set database.enabled=true with database.url or database.existingSecret, or keep replicaCount=1" (int .Values.replicaCount)) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The label matchers the alerts put on every series they read: the
ServiceMonitor's job in the release's namespace, or prometheusRule.selector. */}}
{{- define "glsync.alertSelector" -}}
{{- if .Values.prometheusRule.selector -}}
{{- .Values.prometheusRule.selector -}}
{{- else -}}
job="{{ include "glsync.fullname" . }}-metrics",namespace="{{ .Release.Namespace }}"
{{- end -}}
{{- end -}}

{{/* Minutes without a completed resync before GlsyncResyncOverdue: the
value, else twice scheduledResyncInterval plus an hour, else "" (no alert:
nothing schedules resyncs the chart knows of). */}}
{{- define "glsync.resyncOverdueMinutes" -}}
{{- if .Values.prometheusRule.resyncOverdueMinutes -}}
{{- int .Values.prometheusRule.resyncOverdueMinutes -}}
{{- else if .Values.scheduledResyncInterval -}}
{{- add (mul 2 (int .Values.scheduledResyncInterval)) 60 -}}
{{- end -}}
{{- end -}}
