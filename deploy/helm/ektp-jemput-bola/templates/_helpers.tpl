{{/* Names, labels and the connection details every workload shares. */}}

{{- define "ektp.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "ektp.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one component: call with (dict "root" $ "component" "intake"). */}}
{{- define "ektp.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "ektp.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{/* Kafka as the services see it: the Strimzi cluster's TLS listener, or the external brokers. */}}
{{- define "ektp.kafkaBootstrap" -}}
{{- if .Values.kafka.strimzi.enabled -}}
{{- printf "%s-kafka-bootstrap:%d" .Values.kafka.strimzi.clusterName (int .Values.kafka.strimzi.listener.port) -}}
{{- else -}}
{{- .Values.kafka.external.bootstrap -}}
{{- end -}}
{{- end -}}

{{- define "ektp.kafkaUsername" -}}
{{- if .Values.kafka.strimzi.enabled -}}{{ .Values.kafka.strimzi.user }}{{- else -}}{{ .Values.kafka.external.username }}{{- end -}}
{{- end -}}

{{- define "ektp.kafkaMechanism" -}}
{{- if .Values.kafka.strimzi.enabled -}}SCRAM-SHA-512{{- else -}}{{ .Values.kafka.external.saslMechanism }}{{- end -}}
{{- end -}}

{{/* The Secret holding the services' Kafka password: the one Strimzi's User Operator writes for the KafkaUser. */}}
{{- define "ektp.kafkaPasswordSecret" -}}
{{- if .Values.kafka.strimzi.enabled -}}
name: {{ .Values.kafka.strimzi.user }}
key: password
{{- else -}}
name: {{ .Values.kafka.external.passwordSecret.name }}
key: {{ .Values.kafka.external.passwordSecret.key }}
{{- end -}}
{{- end -}}

{{/* The CA that signed the brokers' certificates: Strimzi's cluster CA, or the external one. */}}
{{- define "ektp.kafkaCaSecret" -}}
{{- if .Values.kafka.strimzi.enabled -}}
name: {{ printf "%s-cluster-ca-cert" .Values.kafka.strimzi.clusterName }}
key: ca.crt
{{- else -}}
name: {{ .Values.kafka.external.caSecret.name }}
key: {{ .Values.kafka.external.caSecret.key }}
{{- end -}}
{{- end -}}

{{/* A KafkaTopic name: the topic's own name, made a valid Kubernetes name. */}}
{{- define "ektp.topicResourceName" -}}
{{- . | lower | replace "_" "-" | trunc 63 | trimSuffix "." | trimSuffix "-" -}}
{{- end -}}

{{/* The secret files every workload mounts under /var/run/secrets/ektp (one projected volume). */}}
{{- define "ektp.secretVolume" -}}
- name: secrets
  projected:
    defaultMode: 0440
    sources:
      - secret:
          {{- $kp := include "ektp.kafkaPasswordSecret" .root | fromYaml }}
          name: {{ $kp.name }}
          items: [{key: {{ $kp.key | quote }}, path: kafka-password}]
      - secret:
          {{- $kc := include "ektp.kafkaCaSecret" .root | fromYaml }}
          name: {{ $kc.name }}
          items: [{key: {{ $kc.key | quote }}, path: kafka-ca.crt}]
      - secret:
          name: {{ .root.Values.mongo.urlSecret.name }}
          items: [{key: {{ .root.Values.mongo.urlSecret.key | quote }}, path: mongo-url}]
      - secret:
          name: {{ .root.Values.mongo.caSecret.name }}
          items: [{key: {{ .root.Values.mongo.caSecret.key | quote }}, path: mongo-ca.crt}]
      - secret:
          name: {{ .root.Values.secrets.pseudonymKey.name }}
          items: [{key: {{ .root.Values.secrets.pseudonymKey.key | quote }}, path: pseudonym-key}]
      {{- if .web }}
      - secret:
          name: {{ .root.Values.secrets.webServiceKey.name }}
          items: [{key: {{ .root.Values.secrets.webServiceKey.key | quote }}, path: web-service-key}]
      {{- end }}
{{- end -}}

{{/* Variables pointing at the mounted secret files (shared/settings.py reads EKTP_<NAME>_FILE). */}}
{{- define "ektp.secretEnv" -}}
- name: EKTP_KAFKA_SASL_PASSWORD_FILE
  value: /var/run/secrets/ektp/kafka-password
- name: EKTP_KAFKA_SSL_CAFILE
  value: /var/run/secrets/ektp/kafka-ca.crt
- name: EKTP_MONGO_URL_FILE
  value: /var/run/secrets/ektp/mongo-url
- name: EKTP_PSEUDONYM_KEY_FILE
  value: /var/run/secrets/ektp/pseudonym-key
{{- if .web }}
- name: EKTP_WEB_SERVICE_KEY_FILE
  value: /var/run/secrets/ektp/web-service-key
{{- end }}
{{- end -}}
