"""The structure the operators' CRDs require of the chart's custom resources, as JSON schemas.

kubernetes-validate ships the schemas of Kubernetes' own kinds only; Strimzi's, the MongoDB
Community Operator's, KEDA's and the Prometheus Operator's kinds are checked here against the
required fields, enums and patterns of their CRDs (Strimzi 0.49 v1beta2, MongoDBCommunity v1,
KEDA v1alpha1, monitoring.coreos.com/v1). A subset, written by hand: what an operator would refuse
or silently ignore, not every optional field.
"""

from __future__ import annotations

from typing import Any

import jsonschema  # installed with kubernetes-validate, which validates with it

DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
STRIMZI_CLUSTER_LABEL = {"type": "object", "required": ["strimzi.io/cluster"],
                         "properties": {"strimzi.io/cluster": {"type": "string", "pattern": DNS_SUBDOMAIN}}}
RESOURCES = {"type": "object", "properties": {"requests": {"type": "object"}, "limits": {"type": "object"}},
             "additionalProperties": False}


def _resource(api_version: str, kind: str, spec: dict[str, Any], *, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """A namespaced custom resource: apiVersion, kind, a DNS-name and the spec's own schema."""
    meta: dict[str, Any] = {"type": "object", "required": ["name"],
                            "properties": {"name": {"type": "string", "pattern": DNS_SUBDOMAIN, "maxLength": 253}}}
    for key, schema in (metadata or {}).items():
        meta["required"].append(key)
        meta["properties"][key] = schema
    return {"type": "object", "required": ["apiVersion", "kind", "metadata", "spec"],
            "properties": {"apiVersion": {"const": api_version}, "kind": {"const": kind}, "metadata": meta,
                           "spec": spec}}


STORAGE_VOLUME = {
    "type": "object", "required": ["type"],
    "properties": {"type": {"enum": ["ephemeral", "persistent-claim"]}, "id": {"type": "integer", "minimum": 0},
                   "size": {"type": "string"}, "deleteClaim": {"type": "boolean"},
                   "kraftMetadata": {"enum": ["shared"]}}}

KAFKA_NODE_POOL = _resource("kafka.strimzi.io/v1beta2", "KafkaNodePool", {
    "type": "object", "required": ["replicas", "roles", "storage"],
    "properties": {
        "replicas": {"type": "integer", "minimum": 0},
        "roles": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"enum": ["controller", "broker"]}},
        "storage": {"oneOf": [
            {"type": "object", "required": ["type", "volumes"],
             "properties": {"type": {"const": "jbod"}, "volumes": {"type": "array", "minItems": 1,
                                                                   "items": {**STORAGE_VOLUME, "required": ["type", "id"]}}}},
            STORAGE_VOLUME]},
        "resources": RESOURCES}}, metadata={"labels": STRIMZI_CLUSTER_LABEL})

KAFKA = _resource("kafka.strimzi.io/v1beta2", "Kafka", {
    "type": "object", "required": ["kafka"],
    "properties": {
        "kafka": {
            "type": "object", "required": ["listeners"],
            "properties": {
                "version": {"type": "string", "pattern": r"^\d+\.\d+\.\d+$"},
                "metadataVersion": {"type": "string", "pattern": r"^\d+\.\d+-IV\d+$"},
                "listeners": {"type": "array", "minItems": 1, "items": {
                    "type": "object", "required": ["name", "port", "type", "tls"],
                    "properties": {
                        "name": {"type": "string", "pattern": "^[a-z0-9]{1,11}$"},
                        "port": {"type": "integer", "minimum": 9092, "not": {"enum": [9404, 9999]}},
                        "type": {"enum": ["internal", "route", "loadbalancer", "nodeport", "ingress", "cluster-ip"]},
                        "tls": {"type": "boolean"},
                        "authentication": {"type": "object", "required": ["type"], "properties": {
                            "type": {"enum": ["tls", "scram-sha-512", "oauth", "custom"]}}}}}},
                "authorization": {"type": "object", "required": ["type"],
                                  "properties": {"type": {"enum": ["simple", "opa", "keycloak", "custom"]}}},
                "config": {"type": "object", "additionalProperties": {"type": ["string", "integer", "boolean", "number"]}},
                # With node pools, replicas and storage belong to the KafkaNodePool only.
                "replicas": False, "storage": False}},
        "entityOperator": {"type": "object", "properties": {"topicOperator": {"type": "object"},
                                                            "userOperator": {"type": "object"}}},
        "zookeeper": False}},
    metadata={"annotations": {"type": "object", "required": ["strimzi.io/node-pools", "strimzi.io/kraft"],
                              "properties": {"strimzi.io/node-pools": {"const": "enabled"},
                                             "strimzi.io/kraft": {"const": "enabled"}}}})

KAFKA_TOPIC = _resource("kafka.strimzi.io/v1beta2", "KafkaTopic", {
    "type": "object", "required": ["partitions", "replicas"],
    "properties": {"topicName": {"type": "string", "pattern": r"^[a-zA-Z0-9._-]{1,249}$"},
                   "partitions": {"type": "integer", "minimum": 1},
                   "replicas": {"type": "integer", "minimum": 1, "maximum": 32767},
                   "config": {"type": "object"}}}, metadata={"labels": STRIMZI_CLUSTER_LABEL})

ACL_OPERATIONS = ["Read", "Write", "Create", "Delete", "Alter", "Describe", "ClusterAction", "AlterConfigs",
                  "DescribeConfigs", "IdempotentWrite", "All"]
KAFKA_USER = _resource("kafka.strimzi.io/v1beta2", "KafkaUser", {
    "type": "object", "required": ["authentication"],
    "properties": {
        "authentication": {"type": "object", "required": ["type"],
                           "properties": {"type": {"enum": ["tls", "tls-external", "scram-sha-512"]}}},
        "authorization": {"type": "object", "required": ["type", "acls"], "properties": {
            "type": {"const": "simple"},
            "acls": {"type": "array", "items": {
                "type": "object", "required": ["resource", "operations"], "additionalProperties": False,
                "properties": {
                    "resource": {"type": "object", "required": ["type"], "additionalProperties": False, "properties": {
                        "type": {"enum": ["topic", "group", "cluster", "transactionalId"]},
                        "name": {"type": "string", "minLength": 1},
                        "patternType": {"enum": ["literal", "prefix"]}}},
                    # `operation` (one) is refused from Strimzi 0.49 on: `operations` only.
                    "operations": {"type": "array", "minItems": 1, "items": {"enum": ACL_OPERATIONS}},
                    "host": {"type": "string"}, "type": {"enum": ["allow", "deny"]}}}}}}}},
    metadata={"labels": STRIMZI_CLUSTER_LABEL})

MONGODB_COMMUNITY = _resource("mongodbcommunity.mongodb.com/v1", "MongoDBCommunity", {
    "type": "object", "required": ["security", "type", "users", "version"],
    "properties": {
        "type": {"const": "ReplicaSet"},
        "members": {"type": "integer", "minimum": 1},
        "version": {"type": "string", "pattern": r"^\d+\.\d+\.\d+$"},
        "security": {"type": "object", "properties": {
            "authentication": {"type": "object", "required": ["modes"], "properties": {
                "modes": {"type": "array", "items": {"enum": ["SCRAM", "SCRAM-SHA-256", "SCRAM-SHA-1", "X509"]}}}},
            "tls": {"type": "object", "required": ["enabled"], "properties": {
                "enabled": {"type": "boolean"}, "optional": {"type": "boolean"},
                "certificateKeySecretRef": {"type": "object", "required": ["name"]},
                "caCertificateSecretRef": {"type": "object", "required": ["name"]},
                "caConfigMapRef": {"type": "object", "required": ["name"]}}}}},
        "users": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["name", "passwordSecretRef", "roles", "scramCredentialsSecretName"],
            "properties": {
                "name": {"type": "string"}, "db": {"type": "string"},
                "passwordSecretRef": {"type": "object", "required": ["name"],
                                      "properties": {"name": {"type": "string"}, "key": {"type": "string"}}},
                "roles": {"type": "array", "items": {"type": "object", "required": ["db", "name"]}},
                "scramCredentialsSecretName": {"type": "string", "pattern": DNS_SUBDOMAIN}}}},
        "statefulSet": {"type": "object", "required": ["spec"]}}})

SCALED_OBJECT = _resource("keda.sh/v1alpha1", "ScaledObject", {
    "type": "object", "required": ["scaleTargetRef", "triggers"],
    "properties": {
        "scaleTargetRef": {"type": "object", "required": ["name"]},
        "minReplicaCount": {"type": "integer", "minimum": 0}, "maxReplicaCount": {"type": "integer", "minimum": 1},
        "pollingInterval": {"type": "integer", "minimum": 1}, "cooldownPeriod": {"type": "integer", "minimum": 0},
        "triggers": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["type", "metadata"],
            "properties": {
                "type": {"type": "string"},
                "metricType": {"enum": ["AverageValue", "Value", "Utilization"]},
                # KEDA reads trigger metadata as a map of strings: a number here is refused.
                "metadata": {"type": "object", "additionalProperties": {"type": "string"}}},
            "if": {"properties": {"type": {"const": "prometheus"}}},
            "then": {"properties": {"metadata": {
                "required": ["serverAddress", "query", "threshold"],
                "properties": {"serverAddress": {"pattern": "^https?://"},
                               "threshold": {"pattern": r"^[0-9]+(\.[0-9]+)?$"},
                               "activationThreshold": {"pattern": r"^[0-9]+(\.[0-9]+)?$"}}}}}}}}})

SERVICE_MONITOR = _resource("monitoring.coreos.com/v1", "ServiceMonitor", {
    "type": "object", "required": ["selector"],
    "properties": {"selector": {"type": "object"},
                   "endpoints": {"type": "array", "items": {"type": "object", "properties": {
                       "port": {"type": "string"}, "path": {"type": "string"}, "interval": {"type": "string"}}}}}})

SCHEMAS: dict[str, dict[str, Any]] = {
    "Kafka": KAFKA, "KafkaNodePool": KAFKA_NODE_POOL, "KafkaTopic": KAFKA_TOPIC, "KafkaUser": KAFKA_USER,
    "MongoDBCommunity": MONGODB_COMMUNITY, "ScaledObject": SCALED_OBJECT, "ServiceMonitor": SERVICE_MONITOR,
}


def check_custom_resource(resource: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError when a custom resource lacks what its operator requires."""
    jsonschema.validate(resource, SCHEMAS[resource["kind"]])
