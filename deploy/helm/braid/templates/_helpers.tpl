{{/*
The chart's name, or nameOverride.
*/}}
{{- define "braid.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The release's objects are named after it: "RELEASE-braid", or just
"braid" when the release is called so. At most 63 characters (DNS label).
*/}}
{{- define "braid.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if eq .Release.Name $name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "braid.redisFullname" -}}
{{- printf "%s-redis" (include "braid.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "braid.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Labels of every object.
*/}}
{{- define "braid.labels" -}}
helm.sh/chart: {{ include "braid.chart" . | quote }}
{{ include "braid.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service | quote }}
{{- end -}}

{{- define "braid.selectorLabels" -}}
app.kubernetes.io/name: {{ include "braid.name" . | quote }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
{{- end -}}

{{/*
Selector labels of the gateway replicas and of Redis.
*/}}
{{- define "braid.gatewaySelectorLabels" -}}
{{ include "braid.selectorLabels" . }}
app.kubernetes.io/component: gateway
{{- end -}}

{{- define "braid.redisSelectorLabels" -}}
{{ include "braid.selectorLabels" . }}
app.kubernetes.io/component: redis
{{- end -}}

{{/*
The Redis the replicas share: the release's own, an external one, or none
("").
*/}}
{{- define "braid.redisURL" -}}
{{- if .Values.redis.enabled -}}
{{- printf "redis://%s:6379/0" (include "braid.redisFullname" .) -}}
{{- else -}}
{{- .Values.redis.url | default "" -}}
{{- end -}}
{{- end -}}

{{/*
braid.yaml: .Values.config plus the redis: section. Its sha256sum is an
annotation of the pods, so a changed configuration rolls them.
*/}}
{{- define "braid.config" -}}
{{- $config := required "config is required: it is braid.yaml" .Values.config -}}
{{- if $config.redis -}}
{{- required "set Redis with redis.enabled or redis.url in the values, not under config.redis" nil -}}
{{- end -}}
{{- if $config.listen -}}
{{- required "braid listens on containerPort: remove config.listen from the values" nil -}}
{{- end -}}
{{ toYaml $config }}
{{- $url := include "braid.redisURL" . }}
{{- if $url }}
redis:
  url: {{ $url | quote }}
  prefix: {{ .Values.redis.prefix | default "braid" | quote }}
  timeout: {{ .Values.redis.timeout | default "250ms" | quote }}
{{- end }}
{{- end -}}
