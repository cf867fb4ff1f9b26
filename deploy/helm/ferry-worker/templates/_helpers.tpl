{{/*
Helpers of the ferry-worker chart: names, labels, the values checks, and the ferry.toml
renderer (Helm's own toToml writes every number from values.yaml as a float, "16.0", which
ferry's integer keys refuse; this one writes whole numbers as integers).
*/}}

{{- define "ferry-worker.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "ferry-worker.fullname" -}}
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

{{- define "ferry-worker.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ferry-worker.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "ferry-worker.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "ferry-worker.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: worker
{{- end }}

{{- define "ferry-worker.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "ferry-worker.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The pod's grace period: explicit, or worker stop + ferry drain (+ the log flush when
     shipping to Elasticsearch) + 5s. */}}
{{- define "ferry-worker.terminationGrace" -}}
{{- if .Values.terminationGracePeriodSeconds }}
{{- .Values.terminationGracePeriodSeconds | int }}
{{- else }}
{{- $flush := ternary (int .Values.ferry.logFlushSeconds) 0 (ne .Values.elasticsearch.url "") }}
{{- add .Values.worker.stopSeconds .Values.ferry.shutdownGraceSeconds $flush 5 }}
{{- end }}
{{- end }}

{{/* The KEDA scaler in use ("" when KEDA is off). */}}
{{- define "ferry-worker.kedaScaler" -}}
{{- if .Values.keda.enabled }}
{{- if .Values.keda.scaler }}
{{- .Values.keda.scaler }}
{{- else if eq .Values.backend.type "sqs" }}
{{- "aws-sqs-queue" }}
{{- else if eq .Values.backend.type "pubsub" }}
{{- "gcp-pubsub" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Fails the render with a message naming the value, for every misconfiguration the chart
can see before ferry does. */}}
{{- define "ferry-worker.validate" -}}
{{- if not .Values.worker.image.repository }}
{{- fail "worker.image.repository is required: the worker image ferry runs beside" }}
{{- end }}
{{- if not .Values.worker.image.tag }}
{{- fail "worker.image.tag is required: pin the worker image's version" }}
{{- end }}
{{- if not .Values.subscriptions }}
{{- fail "subscriptions needs at least one entry (subscriptions.<name>.queue, ...)" }}
{{- end }}
{{- if not (has .Values.backend.type (list "embedded" "sqs" "pubsub")) }}
{{- fail (printf "backend.type must be embedded, sqs or pubsub, not %q" .Values.backend.type) }}
{{- end }}
{{- if and (eq .Values.backend.type "pubsub") (not .Values.backend.pubsub.project) }}
{{- fail "backend.pubsub.project is required when backend.type is pubsub" }}
{{- end }}
{{- if eq .Values.backend.type "embedded" }}
{{- if ne (int .Values.replicaCount) 1 }}
{{- fail "replicaCount must be 1 with the embedded backend: its queue is a file inside the pod" }}
{{- end }}
{{- if .Values.keda.enabled }}
{{- fail "keda.enabled needs backend.type sqs or pubsub: the embedded queue lives in one pod and cannot be shared by more" }}
{{- end }}
{{- end }}
{{- $flush := ternary (int .Values.ferry.logFlushSeconds) 0 (ne .Values.elasticsearch.url "") }}
{{- if le (include "ferry-worker.terminationGrace" . | int) (add .Values.ferry.shutdownGraceSeconds $flush | int) }}
{{- fail "terminationGracePeriodSeconds must exceed ferry.shutdownGraceSeconds (plus ferry.logFlushSeconds with Elasticsearch), or the kubelet kills ferry mid-drain" }}
{{- end }}
{{- if eq (int .Values.worker.port) (int .Values.ferry.gatewayPort) }}
{{- fail "worker.port and ferry.gatewayPort must differ (both listen inside the pod)" }}
{{- end }}
{{- if and (or .Values.console.enabled .Values.console.url) (not .Values.console.tokenSecret) }}
{{- fail "console.tokenSecret is required with console.enabled or console.url: the console listens beyond loopback and its heartbeats need a token" }}
{{- end }}
{{- if .Values.keda.enabled }}
{{- $scaler := include "ferry-worker.kedaScaler" . }}
{{- if not (has $scaler (list "aws-sqs-queue" "gcp-pubsub" "prometheus")) }}
{{- fail (printf "keda.scaler must be aws-sqs-queue, gcp-pubsub or prometheus, not %q" $scaler) }}
{{- end }}
{{- if and (eq $scaler "aws-sqs-queue") (not .Values.keda.awsSqsQueue.queueURL) }}
{{- fail "keda.awsSqsQueue.queueURL is required for the aws-sqs-queue scaler" }}
{{- end }}
{{- if and (eq $scaler "aws-sqs-queue") (not (or .Values.keda.awsSqsQueue.awsRegion .Values.backend.sqs.region)) }}
{{- fail "keda.awsSqsQueue.awsRegion (or backend.sqs.region) is required for the aws-sqs-queue scaler" }}
{{- end }}
{{- if and (eq $scaler "gcp-pubsub") (not .Values.keda.gcpPubsub.subscriptionName) }}
{{- fail "keda.gcpPubsub.subscriptionName is required for the gcp-pubsub scaler" }}
{{- end }}
{{- if and (eq $scaler "prometheus") (not (and .Values.keda.prometheus.serverAddress .Values.keda.prometheus.query)) }}
{{- fail "keda.prometheus.serverAddress and keda.prometheus.query are required for the prometheus scaler" }}
{{- end }}
{{- end }}
{{- end }}

{{/* One TOML value: a string, boolean, number (whole numbers as integers) or array. */}}
{{- define "ferry-worker.tomlValue" -}}
{{- $v := . }}
{{- if kindIs "string" $v }}
{{- $v | toJson }}
{{- else if kindIs "bool" $v }}
{{- $v }}
{{- else if or (kindIs "float64" $v) (kindIs "float32" $v) }}
{{- if eq (floor $v) (float64 $v) }}{{ int64 $v }}{{ else }}{{ $v }}{{ end }}
{{- else if or (kindIs "int" $v) (kindIs "int64" $v) (kindIs "int32" $v) (kindIs "uint64" $v) }}
{{- $v }}
{{- else if kindIs "slice" $v }}
{{- $items := list }}
{{- range $v }}{{ $items = append $items (include "ferry-worker.tomlValue" .) }}{{ end }}
{{- printf "[%s]" (join ", " $items) }}
{{- else }}
{{- fail (printf "cannot write %v (%s) as a TOML value" $v (kindOf $v)) }}
{{- end }}
{{- end }}

{{/* A TOML key: bare when it can be, quoted otherwise. */}}
{{- define "ferry-worker.tomlKey" -}}
{{- if regexMatch "^[A-Za-z0-9_-]+$" . }}{{ . }}{{ else }}{{ . | toJson }}{{ end }}
{{- end }}

{{/* A TOML table: (dict "path" "a.b" "table" $map); its plain keys, then its sub-tables.
Null values are left out, so a value can be unset with `key: null`. */}}
{{- define "ferry-worker.tomlTable" -}}
{{- $path := .path }}
{{- $table := .table }}
{{- $plain := list }}
{{- $tables := list }}
{{- range $k := keys $table | sortAlpha }}
{{- $v := get $table $k }}
{{- if kindIs "map" $v }}{{ $tables = append $tables $k }}{{ else if not (kindIs "invalid" $v) }}{{ $plain = append $plain $k }}{{ end }}
{{- end }}
{{- if and $path (or $plain (not $tables)) }}
{{ printf "[%s]" $path }}
{{- end }}
{{- range $k := $plain }}
{{ include "ferry-worker.tomlKey" $k }} = {{ include "ferry-worker.tomlValue" (get $table $k) }}
{{- end }}
{{- range $k := $tables }}
{{- $sub := ternary (include "ferry-worker.tomlKey" $k) (printf "%s.%s" $path (include "ferry-worker.tomlKey" $k)) (eq $path "") }}
{{ include "ferry-worker.tomlTable" (dict "path" $sub "table" (get $table $k)) }}
{{- end }}
{{- end }}

{{/* The whole ferry.toml as a dict: what the values say, with ferry.config merged over it. */}}
{{- define "ferry-worker.config" -}}
{{- $v := .Values }}
{{- $backend := dict }}
{{- if eq $v.backend.type "embedded" }}
{{- $_ := set $backend "embedded" (dict "path" $v.backend.embedded.path) }}
{{- else if eq $v.backend.type "sqs" }}
{{- $sqs := dict }}
{{- with $v.backend.sqs.region }}{{ $_ := set $sqs "region" . }}{{ end }}
{{- with $v.backend.sqs.endpoint }}{{ $_ := set $sqs "endpoint" . }}{{ end }}
{{- $_ := set $backend "sqs" $sqs }}
{{- else if eq $v.backend.type "pubsub" }}
{{- $pubsub := dict "project" $v.backend.pubsub.project }}
{{- with $v.backend.pubsub.emulatorHost }}{{ $_ := set $pubsub "emulator_host" . }}{{ end }}
{{- $_ := set $backend "pubsub" $pubsub }}
{{- end }}
{{- $cfg := dict
  "service" (default (include "ferry-worker.fullname" .) $v.ferry.service)
  "worker" (dict "address" (printf "http://127.0.0.1:%d" (int $v.worker.port)))
  "gateway" (dict "listen" (printf "127.0.0.1:%d" (int $v.ferry.gatewayPort)))
  "admin" (dict "listen" (printf "0.0.0.0:%d" (int $v.ferry.adminPort)))
  "shutdown" (dict "grace" (printf "%ds" (int $v.ferry.shutdownGraceSeconds)))
  "backend" $backend
  "subscriptions" (deepCopy $v.subscriptions) }}
{{- with $v.elasticsearch.url }}
{{- $_ := set $cfg "logs" (dict "elasticsearch" (dict "url" . "shutdown_timeout" (printf "%ds" (int $v.ferry.logFlushSeconds)))) }}
{{- end }}
{{- with include "ferry-worker.consoleUrl" . }}
{{- $_ := set $cfg "console" (dict "url" . "heartbeat_interval" $v.console.heartbeatInterval) }}
{{- end }}
{{- $cfg = mustMergeOverwrite $cfg (deepCopy $v.ferry.config) }}
{{- toJson $cfg }}
{{- end }}

{{/* Where the sidecars report: console.url, else this release's console, else "". */}}
{{- define "ferry-worker.consoleUrl" -}}
{{- if .Values.console.url }}
{{- .Values.console.url }}
{{- else if .Values.console.enabled }}
{{- printf "http://%s-console:%d" (include "ferry-worker.fullname" .) (int .Values.console.port) }}
{{- end }}
{{- end }}

{{- define "ferry-worker.consoleLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "ferry-worker.consoleSelectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: console
{{- end }}

{{- define "ferry-worker.consoleSelectorLabels" -}}
app.kubernetes.io/name: {{ include "ferry-worker.name" . }}-console
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* console.toml as a dict: the listener, the state file on the volume, this release's
backend (not the embedded one: its file is inside the worker's pod), Elasticsearch for
message stories, with console.config merged over it. */}}
{{- define "ferry-worker.consoleConfig" -}}
{{- $v := .Values }}
{{- $cfg := dict
  "listen" (printf "0.0.0.0:%d" (int $v.console.port))
  "state" "/var/lib/ferry-console/console.db"
  "read_only" $v.console.readOnly }}
{{- $backend := (include "ferry-worker.config" . | fromJson).backend }}
{{- if ne $v.backend.type "embedded" }}
{{- $_ := set $cfg "backends" (dict (include "ferry-worker.fullname" .) $backend) }}
{{- end }}
{{- with $v.elasticsearch.url }}
{{- $_ := set $cfg "elasticsearch" (dict "url" .) }}
{{- end }}
{{- $cfg = mustMergeOverwrite $cfg (deepCopy $v.console.config) }}
{{- toJson $cfg }}
{{- end }}
