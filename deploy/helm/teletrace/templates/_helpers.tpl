{{/* Names and labels. */}}
{{- define "teletrace.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "teletrace.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains (include "teletrace.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "teletrace.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "teletrace.selectorLabels" -}}
app.kubernetes.io/name: {{ include "teletrace.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "teletrace.labels" -}}
{{ include "teletrace.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{- define "teletrace.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "teletrace.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret holding tokens and storage credentials: the user's, or the chart's when it
has something to hold; "" when there is none. */}}
{{- define "teletrace.secretName" -}}
{{- if .Values.auth.existingSecret }}
{{- .Values.auth.existingSecret }}
{{- else if or .Values.auth.apiToken .Values.auth.ingestToken .Values.auth.clickhousePassword .Values.auth.elasticsearchPassword .Values.auth.elasticsearchApiKey }}
{{- include "teletrace.fullname" . }}
{{- end }}
{{- end }}

{{- define "teletrace.sqlite" -}}
{{- if eq .Values.storage.backend "sqlite" }}true{{ end }}
{{- end }}

{{/* Combinations the schema cannot express, refused with a message that says what to do. */}}
{{- define "teletrace.validate" -}}
{{- if include "teletrace.sqlite" . }}
{{- if gt (int .Values.replicaCount) 1 }}
{{- fail (printf "replicaCount is %d, but SQLite has a single writer: use 1, or storage.backend=clickhouse or elasticsearch for several replicas" (int .Values.replicaCount)) }}
{{- end }}
{{- if .Values.autoscaling.enabled }}
{{- fail "autoscaling.enabled needs several replicas, which SQLite (one writer) cannot have: use storage.backend=clickhouse or elasticsearch" }}
{{- end }}
{{- else if eq .Values.storage.backend "clickhouse" }}
{{- if not .Values.storage.clickhouse.endpoints }}
{{- fail "storage.backend=clickhouse needs storage.clickhouse.endpoints (e.g. [http://clickhouse:8123])" }}
{{- end }}
{{- else if eq .Values.storage.backend "elasticsearch" }}
{{- if not .Values.storage.elasticsearch.endpoints }}
{{- fail "storage.backend=elasticsearch needs storage.elasticsearch.endpoints (e.g. [https://elasticsearch:9200])" }}
{{- end }}
{{- end }}
{{- end }}

{{/* teletrace.yaml: what the chart sets, with .Values.config merged over it. */}}
{{- define "teletrace.config" -}}
{{- $storage := dict "backend" .Values.storage.backend }}
{{- if include "teletrace.sqlite" . }}
{{- $_ := set $storage "sqlite" (dict "path" "/data" "retention_max_age" (toString .Values.storage.sqlite.retentionMaxAge) "retention_max_bytes" (toString (int64 .Values.storage.sqlite.retentionMaxBytes))) }}
{{- else if eq .Values.storage.backend "elasticsearch" }}
{{- $es := .Values.storage.elasticsearch }}
{{- $_ := set $storage "elasticsearch" (dict "endpoints" (join "," $es.endpoints) "index_prefix" $es.indexPrefix "username" $es.username "tls_ca_file" $es.tlsCaFile "shards" (toString (int64 $es.shards)) "replicas" (toString (int64 $es.replicas)) "retention_max_age" (toString $es.retentionMaxAge) "retention_max_bytes" (toString (int64 $es.retentionMaxBytes))) }}
{{- else }}
{{- $ch := .Values.storage.clickhouse }}
{{- $_ := set $storage "clickhouse" (dict "endpoints" (join "," $ch.endpoints) "database" $ch.database "cluster" $ch.cluster "user" $ch.user "retention_max_age" (toString $ch.retentionMaxAge) "retention_max_bytes" (toString (int64 $ch.retentionMaxBytes))) }}
{{- end }}
{{- $server := dict "host" "0.0.0.0" "http_port" (toString (int64 .Values.service.httpPort)) "otlp_grpc_port" (toString (int64 .Values.service.otlpGrpcPort)) "otlp_http_port" (toString (int64 .Values.service.otlpHttpPort)) }}
{{- if .Values.service.zipkinPort }}
{{- $_ := set $server "zipkin_port" (toString (int64 .Values.service.zipkinPort)) }}
{{- end }}
{{- $config := dict "server" $server "storage" $storage }}
{{- toYaml (mergeOverwrite $config (deepCopy .Values.config)) }}
{{- end }}

{{/* The pod template, shared by the StatefulSet (sqlite) and the Deployment (the others). */}}
{{- define "teletrace.podTemplate" -}}
metadata:
  labels:
    {{- include "teletrace.labels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    checksum/config: {{ include "teletrace.config" . | sha256sum }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "teletrace.serviceAccountName" . }}
  automountServiceAccountToken: false
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
  containers:
    - name: teletrace
      image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args:
        - --config=/etc/teletrace/teletrace.yaml
        {{- range .Values.extraArgs }}
        - {{ . | quote }}
        {{- end }}
      {{- $secret := include "teletrace.secretName" . }}
      {{- if or $secret .Values.extraEnv }}
      env:
        {{- if $secret }}
        {{- range $key, $variable := dict "api-token" "TELETRACE_AUTH_API_TOKEN" "ingest-token" "TELETRACE_AUTH_INGEST_TOKEN" "clickhouse-password" "TELETRACE_STORAGE_CLICKHOUSE_PASSWORD" "elasticsearch-password" "TELETRACE_STORAGE_ELASTICSEARCH_PASSWORD" "elasticsearch-api-key" "TELETRACE_STORAGE_ELASTICSEARCH_API_KEY" }}
        - name: {{ $variable }}
          valueFrom:
            secretKeyRef:
              name: {{ $secret }}
              key: {{ $key }}
              optional: true
        {{- end }}
        {{- end }}
        {{- with .Values.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- end }}
      ports:
        - name: http
          containerPort: {{ .Values.service.httpPort }}
          protocol: TCP
        - name: otlp-grpc
          containerPort: {{ .Values.service.otlpGrpcPort }}
          protocol: TCP
        - name: otlp-http
          containerPort: {{ .Values.service.otlpHttpPort }}
          protocol: TCP
        {{- if .Values.service.zipkinPort }}
        - name: zipkin
          containerPort: {{ .Values.service.zipkinPort }}
          protocol: TCP
        {{- end }}
      startupProbe:
        httpGet:
          path: /readyz
          port: http
        periodSeconds: {{ .Values.probes.startup.periodSeconds }}
        failureThreshold: {{ .Values.probes.startup.failureThreshold }}
      livenessProbe:
        httpGet:
          path: /healthz
          port: http
        periodSeconds: {{ .Values.probes.liveness.periodSeconds }}
        failureThreshold: {{ .Values.probes.liveness.failureThreshold }}
      readinessProbe:
        httpGet:
          path: /readyz
          port: http
        periodSeconds: {{ .Values.probes.readiness.periodSeconds }}
        failureThreshold: {{ .Values.probes.readiness.failureThreshold }}
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      volumeMounts:
        - name: config
          mountPath: /etc/teletrace
          readOnly: true
        - name: tmp
          mountPath: /tmp
        {{- if include "teletrace.sqlite" . }}
        - name: data
          mountPath: /data
        {{- end }}
        {{- with .Values.extraVolumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
  volumes:
    - name: config
      configMap:
        name: {{ include "teletrace.fullname" . }}
    - name: tmp
      emptyDir: {}
    {{- if and (include "teletrace.sqlite" .) (not .Values.storage.sqlite.persistence.enabled) }}
    - name: data
      emptyDir: {}
    {{- end }}
    {{- with .Values.extraVolumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
