"""What the apache/kafka image makes of a container's environment: its server.properties.

The image's start scripts (run, configureDefaults, configure) turn KAFKA_* variables into broker
properties: defaults for what is unset, listeners derived from the advertised ones, SSL keystores and
their password files taken from /etc/kafka/secrets by the *_FILENAME and *_CREDENTIALS conventions,
then every remaining KAFKA_* variable as a property (KAFKA_ dropped, `___` to `-`, `__` to `_`, `_`
to `.`, lower case). `render` does the same here, so a broker started from the jars gets the
configuration compose's container would, and refuses what the image would refuse.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

SECRETS_DIR = "/etc/kafka/secrets"
NOT_PROPERTIES = frozenset({
    "KAFKA_VERSION", "KAFKA_HEAP_OPT", "KAFKA_HEAP_OPTS", "KAFKA_LOG4J_OPTS", "KAFKA_OPTS", "KAFKA_JMX_OPTS",
    "KAFKA_JVM_PERFORMANCE_OPTS", "KAFKA_GC_LOG_OPTS", "KAFKA_LOG4J_ROOT_LOGLEVEL", "KAFKA_LOG4J_LOGGERS",
    "KAFKA_TOOLS_LOG4J_LOGLEVEL",
})
IMAGE_DEFAULTS = {
    "CLUSTER_ID": "5L6g3nShT-eMCtK--X86sw",
    "KAFKA_NODE_ID": "1",
    "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,PLAINTEXT_HOST:PLAINTEXT",
    "KAFKA_LISTENERS": "PLAINTEXT://localhost:29092,CONTROLLER://localhost:29093,PLAINTEXT_HOST://0.0.0.0:9092",
    "KAFKA_ADVERTISED_LISTENERS": "PLAINTEXT://localhost:29092,PLAINTEXT_HOST://localhost:9092",
    "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
    "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
    "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
    "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
    "KAFKA_PROCESS_ROLES": "broker,controller",
    "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@localhost:29093",
    "KAFKA_INTER_BROKER_LISTENER_NAME": "PLAINTEXT",
    "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
    "KAFKA_LOG_DIRS": "/tmp/kraft-combined-logs",  # noqa: S108 - the image's default, refused unless on a volume
}


class ImageRefused(ValueError):
    """The image's start scripts would stop here (or the broker would start wrongly configured)."""


@dataclass(frozen=True)
class BrokerConfig:
    """What the container would run: server properties, JVM options (KAFKA_OPTS) and the cluster id."""

    properties: dict[str, str]
    jvm_options: list[str]
    cluster_id: str


def property_name(variable: str) -> str:
    """KAFKA_SSL_KEYSTORE_LOCATION -> ssl.keystore.location; `___` is `-` and `__` is `_`."""
    name = variable.removeprefix("KAFKA_")
    return name.replace("___", "-").replace("__", "\0").replace("_", ".").replace("\0", "_").lower()


def render(environment: Mapping[str, str], read_file: Callable[[str], str]) -> BrokerConfig:
    """The broker configuration the image makes of `environment`; `read_file` reads a file of the
    container (a credentials file under /etc/kafka/secrets)."""
    env = {key: str(value) for key, value in environment.items()}
    if not env.get("KAFKA_ZOOKEEPER_CONNECT"):
        for key, value in IMAGE_DEFAULTS.items():
            if not env.get(key):
                env[key] = value
    if env.get("KAFKA_PROCESS_ROLES") and not env.get("CLUSTER_ID"):
        raise ImageRefused("CLUSTER_ID environment variable not set")
    advertised = env.get("KAFKA_ADVERTISED_LISTENERS", "")
    if not env.get("KAFKA_LISTENERS") and advertised:
        env["KAFKA_LISTENERS"] = re.sub(r"://[^:]*:", "://0.0.0.0:", advertised)
    if "SSL://" in advertised:
        for needed in ("KAFKA_SSL_KEYSTORE_FILENAME", "KAFKA_SSL_KEY_CREDENTIALS", "KAFKA_SSL_KEYSTORE_CREDENTIALS"):
            if not env.get(needed):
                raise ImageRefused(f"{needed} environment variable not set")
        env["KAFKA_SSL_KEYSTORE_LOCATION"] = f"{SECRETS_DIR}/{env['KAFKA_SSL_KEYSTORE_FILENAME']}"
        env["KAFKA_SSL_KEY_PASSWORD"] = _credential(read_file, env["KAFKA_SSL_KEY_CREDENTIALS"])
        env["KAFKA_SSL_KEYSTORE_PASSWORD"] = _credential(read_file, env["KAFKA_SSL_KEYSTORE_CREDENTIALS"])
        if any(word in env.get("KAFKA_SSL_CLIENT_AUTH", "") for word in ("required", "requested")):
            for needed in ("KAFKA_SSL_TRUSTSTORE_FILENAME", "KAFKA_SSL_TRUSTSTORE_CREDENTIALS"):
                if not env.get(needed):
                    raise ImageRefused(f"{needed} environment variable not set")
            env["KAFKA_SSL_TRUSTSTORE_LOCATION"] = f"{SECRETS_DIR}/{env['KAFKA_SSL_TRUSTSTORE_FILENAME']}"
            env["KAFKA_SSL_TRUSTSTORE_PASSWORD"] = _credential(read_file, env["KAFKA_SSL_TRUSTSTORE_CREDENTIALS"])
    jvm_options = env.get("KAFKA_OPTS", "").split()
    if re.search(r"SASL_\w*://", advertised) and not any("java.security.auth.login.config" in o for o in jvm_options):
        raise ImageRefused("KAFKA_OPTS should contain 'java.security.auth.login.config' property.")
    properties = {property_name(key): value for key, value in env.items()
                  if key.startswith("KAFKA_") and key not in NOT_PROPERTIES}
    return BrokerConfig(properties=properties, jvm_options=jvm_options, cluster_id=env.get("CLUSTER_ID", ""))


def _credential(read_file: Callable[[str], str], name: str) -> str:
    path = f"{SECRETS_DIR}/{name}"
    try:
        return read_file(path).strip()
    except FileNotFoundError as exc:
        raise ImageRefused(f"{path} file does not exist") from exc
