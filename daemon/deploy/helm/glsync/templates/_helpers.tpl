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

{{/* Settings the chart refuses, with the way out. */}}
{{- define "glsync.validate" -}}
{{- if .Values.database.enabled -}}
{{- if not (or .Values.database.url .Values.database.existingSecret) -}}
{{- fail "database.enabled=true needs database.url (a postgres:// URL) or database.existingSecret (a Secret holding the URL under database.existingSecretKey)" -}}
{{- end -}}
{{- if not (or .Values.integration.existingSecret .Values.integration.secrets.secretKey .Values.integration.secrets.webhookSecret) -}}
{{- fail "database.enabled=true needs integration.secrets.secretKey (openssl rand -base64 32): every replica seals and opens the hook secrets and token mappings in the database with it (or set integration.secrets.webhookSecret, or integration.existingSecret with a secretKey key)" -}}
{{- end -}}
{{- else if gt (int .Values.replicaCount) 1 -}}
{{- fail (printf "replicaCount=%d needs a database: the embedded SQLite catalog (and the Port catalog's local mirror) lives on one volume for one process. Set database.enabled=true with database.url or database.existingSecret, or keep replicaCount=1" (int .Values.replicaCount)) -}}
{{- end -}}
{{- end -}}
