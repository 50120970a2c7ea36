{{/*
Expand the name of the chart.
*/}}
{{- define "qualys-servicenow-sync.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Create a default fully qualified app name (63 characters: the DNS label limit).
If the release name contains the chart name it is used as the full name.
*/}}
{{- define "qualys-servicenow-sync.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Create chart name and version as used by the chart label.
*/}}
{{- define "qualys-servicenow-sync.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels
*/}}
{{- define "qualys-servicenow-sync.labels" -}}
helm.sh/chart: {{ include "qualys-servicenow-sync.chart" . }}
{{ include "qualys-servicenow-sync.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Selector labels
*/}}
{{- define "qualys-servicenow-sync.selectorLabels" -}}
app.kubernetes.io/name: {{ include "qualys-servicenow-sync.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Labels of pods that are not service replicas (scheduled sync, helm test): a different
app.kubernetes.io/name keeps them out of the Service, PDB and Deployment selectors.
Call with (dict "root" $ "component" "...").
*/}}
{{- define "qualys-servicenow-sync.auxiliaryLabels" -}}
helm.sh/chart: {{ include "qualys-servicenow-sync.chart" .root }}
app.kubernetes.io/name: {{ printf "%s-%s" (include "qualys-servicenow-sync.name" .root) .component | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/part-of: {{ include "qualys-servicenow-sync.name" .root }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end }}

{{/*
Create the name of the service account to use
*/}}
{{- define "qualys-servicenow-sync.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "qualys-servicenow-sync.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Name of the Secret holding the secret settings: the operator's, or the chart's own.
*/}}
{{- define "qualys-servicenow-sync.secretName" -}}
{{- default (include "qualys-servicenow-sync.fullname" .) .Values.existingSecret }}
{{- end }}

{{/*
Image references.
*/}}
{{- define "qualys-servicenow-sync.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{- define "qualys-servicenow-sync.curlImage" -}}
{{- printf "%s:%s" .Values.curlImage.repository .Values.curlImage.tag }}
{{- end }}

{{/*
The secret settings the chart's Secret holds: non-empty values only, with the
scheduler's key appended to API_KEYS so the service accepts it.
*/}}
{{- define "qualys-servicenow-sync.secretData" -}}
{{- $data := dict }}
{{- range $name, $value := .Values.secrets }}
{{- if $value }}
{{- $_ := set $data $name (toString $value) }}
{{- end }}
{{- end }}
{{- with .Values.secrets.SCHEDULER_API_KEY }}
{{- $scheduler := toString . }}
{{- $keys := list }}
{{- range splitList "," (default "" $data.API_KEYS) }}
{{- if trim . }}
{{- $keys = append $keys (trim .) }}
{{- end }}
{{- end }}
{{- if not (has $scheduler $keys) }}
{{- $_ := set $data "API_KEYS" (join "," (append $keys $scheduler)) }}
{{- end }}
{{- end }}
{{- toYaml $data }}
{{- end }}

{{/*
Render-time checks: a chart that renders starts a service that can start.
*/}}
{{- define "qualys-servicenow-sync.validate" -}}
{{- $shutdownMs := int (toString (default "25000" .Values.config.SHUTDOWN_GRACE_MS)) }}
{{- if le (mul (int .Values.terminationGracePeriodSeconds) 1000) $shutdownMs }}
{{- fail (printf "terminationGracePeriodSeconds (%v s) must exceed config.SHUTDOWN_GRACE_MS (%v ms): Kubernetes would kill the pod before running syncs checkpoint" .Values.terminationGracePeriodSeconds $shutdownMs) }}
{{- end }}
{{- if and (not .Values.existingSecret) (not .Values.secrets.API_KEYS) (not .Values.secrets.SCHEDULER_API_KEY) (ne (toString .Values.config.AUTH_DISABLED) "true") }}
{{- fail "secrets.API_KEYS is required (or existingSecret, or config.AUTH_DISABLED=\"true\" for development): the service refuses to start without API keys" }}
{{- end }}
{{- if or (gt (int .Values.replicaCount) 1) .Values.autoscaling.enabled }}
{{- $hasRedis := or .Values.config.REDIS_URL (and (not .Values.existingSecret) .Values.secrets.REDIS_URL) }}
{{- if and (not $hasRedis) .Values.existingSecret }}
{{- $existing := lookup "v1" "Secret" .Release.Namespace .Values.existingSecret }}
{{- /* Without a cluster (helm template) lookup returns nothing: trust the operator. */}}
{{- if or (not $existing) (hasKey (default dict $existing.data) "REDIS_URL") }}
{{- $hasRedis = true }}
{{- end }}
{{- end }}
{{- if not $hasRedis }}
{{- fail "replicaCount > 1 or autoscaling.enabled needs REDIS_URL (config.REDIS_URL, secrets.REDIS_URL, or a REDIS_URL key in existingSecret): without Redis each replica keeps its own jobs, locks and rate budgets" }}
{{- end }}
{{- end }}
{{- if .Values.scheduledSync.enabled }}
{{- if and (not .Values.existingSecret) (not .Values.secrets.SCHEDULER_API_KEY) }}
{{- fail "scheduledSync.enabled needs secrets.SCHEDULER_API_KEY (or an existingSecret with that key)" }}
{{- end }}
{{- $requestMs := int (toString (default "120000" .Values.config.REQUEST_TIMEOUT_MS)) }}
{{- if ge (mul (int .Values.scheduledSync.waitSeconds) 1000) $requestMs }}
{{- fail (printf "scheduledSync.waitSeconds (%v) must stay below config.REQUEST_TIMEOUT_MS (%v ms)" .Values.scheduledSync.waitSeconds $requestMs) }}
{{- end }}
{{- end }}
{{- if hasKey .Values.config "PORT" }}
{{- fail "set containerPort, not config.PORT: the chart renders PORT from containerPort" }}
{{- end }}
{{- end }}
