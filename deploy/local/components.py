"""Kafka (KRaft, from Maven Central), FerretDB (from the Go module proxy) and Prometheus (Debian).

Each part installs into a cache folder outside the repository, keeps its data in the
profile's ignored folder, starts once and is reused while it runs.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from deploy.local.process import (
    InfraError,
    port_open,
    read_pid,
    start_background,
    stop_process,
    wait_until,
)

REPO = Path(__file__).resolve().parents[2]
KAFKA_VERSION = "4.1.1"
FERRETDB_VERSION = "v1.24.2"
FERRETDB_MODULE = "github.com/FerretDB/FerretDB"
FERRETDB_BUILD = "ektp6"

# Fixes to FerretDB, applied to the module source before building. Primary-key lookups (see
# docs/adr/0006-ferretdb-primary-key-lookups.md): its queries spell the _id expression
# differently from the _id index, so SQLite never uses the index; and it pushes the _id
# equality down only when it is the whole filter. The handler still applies the full filter.
# Atomic updates (docs/adr/0009-ferretdb-atomic-updates.md): an update reads the matching
# document and writes it back in two steps, so two concurrent guarded updates of one document
# could both match and one change be lost; the update command now runs one at a time.
# A WHERE clause for a filter `{_id: {$in: [strings]}}` (up to 10,000 ids), or none for any other
# shape; the handler still checks the whole filter on every document returned.
ID_IN_CLAUSE = """// idInClause returns a WHERE clause reading {$in: [ids]} through the _id index, or nothing.
func idInClause(cond *types.Document) (string, []any) {
\tif cond.Len() != 1 {
\t\treturn "", nil
\t}
\tin, err := cond.Get("$in")
\tif err != nil {
\t\treturn "", nil
\t}
\tids, ok := in.(*types.Array)
\tif !ok || ids.Len() == 0 || ids.Len() > 10000 {
\t\treturn "", nil
\t}
\tmarks := make([]string, ids.Len())
\targs := make([]any, ids.Len())
\tfor i := 0; i < ids.Len(); i++ {
\t\tid := must.NotFail(ids.Get(i))
\t\tswitch id.(type) {
\t\tcase string, types.ObjectID:
\t\tdefault:
\t\t\treturn "", nil
\t\t}
\t\tmarks[i] = "?"
\t\targs[i] = string(must.NotFail(sjson.MarshalSingleValue(id)))
\t}
\treturn fmt.Sprintf(` WHERE %s IN (%s)`, metadata.IDColumn, strings.Join(marks, ", ")), args
}

"""
FERRETDB_PATCHES: tuple[tuple[str, str, str, int], ...] = (
    ("internal/backends/sqlite/metadata/metadata.go",
     'IDColumn = DefaultColumn + "->\'$._id\'"',
     'IDColumn = DefaultColumn + `->"_id"`', 1),
    ("internal/backends/sqlite/collection.go",
     "if params.Filter.Len() == 1 {",
     "if params.Filter.Has(\"_id\") {", 2),
    ("internal/handler/msg_update.go",
     'import (\n\t"context"\n\t"fmt"\n',
     'import (\n\t"context"\n\t"fmt"\n\t"sync"\n', 1),
    ("internal/handler/msg_update.go",
     "func (h *Handler) updateDocument(",
     "var updateMutex sync.Mutex\n\nfunc (h *Handler) updateDocument(", 1),
    ("internal/handler/msg_update.go",
     "\tfor _, u := range params.Updates {\n",
     "\tupdateMutex.Lock()\n\tdefer updateMutex.Unlock()\n\n\tfor _, u := range params.Updates {\n", 1),
    # Each update reads its matching document and closes that read before it writes (as FerretDB's
    # delete does; docs/adr/0014-ferretdb-update-reads-closed-before-writes.md). Kept open to the end
    # of a bulk write, more than 100 reads (the SQLite pool's size) waited forever for a connection;
    # kept open across the write, every commit found a reader in the write-ahead log, which SQLite
    # then could never restart: it grew by gigabytes and each commit's checkpoint walked all of it.
    ("internal/handler/msg_update.go",
     "\t\tcloser := iterator.NewMultiCloser()\n\t\tdefer closer.Close()\n",
     "\t\tcloser := iterator.NewMultiCloser()\n", 1),
    ("internal/handler/msg_update.go",
     "\t\tresult, err := common.UpdateDocument(ctx, c, \"update\", iter, &u)\n",
     "\t\tfound, err := iterator.ConsumeValues(iter)\n\t\tcloser.Close()\n"
     "\t\tif err != nil {\n\t\t\treturn 0, 0, nil, lazyerrors.Error(err)\n\t\t}\n\n"
     "\t\tmatching := iterator.Values(iterator.ForSlice(found))\n"
     "\t\tresult, err := common.UpdateDocument(ctx, c, \"update\", matching, &u)\n\t\tmatching.Close()\n", 1),
    # `_id: {$in: [...]}` read through the primary-key index too (a batch's reads by id).
    ("internal/backends/sqlite/collection.go",
     "\t\tcase string, types.ObjectID:\n"
     "\t\t\twhereClause = fmt.Sprintf(` WHERE %s = ?`, metadata.IDColumn)\n"
     "\t\t\targs = []any{string(must.NotFail(sjson.MarshalSingleValue(v)))}\n"
     "\t\t}\n",
     "\t\tcase string, types.ObjectID:\n"
     "\t\t\twhereClause = fmt.Sprintf(` WHERE %s = ?`, metadata.IDColumn)\n"
     "\t\t\targs = []any{string(must.NotFail(sjson.MarshalSingleValue(v)))}\n"
     "\t\tcase *types.Document:\n"
     "\t\t\twhereClause, args = idInClause(v.(*types.Document))\n"
     "\t\t}\n", 1),
    ("internal/backends/sqlite/collection.go",
     "// InsertAll implements backends.Collection interface.\n",
     ID_IN_CLAUSE + "// InsertAll implements backends.Collection interface.\n", 1),
    # A secondary index is kept as the collection's metadata (listIndexes shows it, MongoDB builds it
    # in production) but not built in SQLite: the backend's queries read through no index but `_id`
    # (docs/adr/0006), so each one only cost every insert and update its upkeep
    # (docs/adr/0016-ferretdb-secondary-indexes-kept-as-metadata.md). Unique indexes are built: they
    # refuse duplicates.
    ("internal/backends/sqlite/metadata/registry.go",
     "\t\tif _, err := db.ExecContext(ctx, q); err != nil {\n"
     "\t\t\t_ = r.indexesDrop(ctx, dbName, collectionName, created)\n",
     "\t\tif !index.Unique {\n"
     "\t\t\tc.Settings.Indexes = append(c.Settings.Indexes, index)\n"
     "\t\t\tcontinue\n"
     "\t\t}\n\n"
     "\t\tif _, err := db.ExecContext(ctx, q); err != nil {\n"
     "\t\t\t_ = r.indexesDrop(ctx, dbName, collectionName, created)\n", 1),
    ("internal/backends/sqlite/metadata/registry.go",
     'q := fmt.Sprintf("DROP INDEX %q", c.TableName+"_"+name)',
     'q := fmt.Sprintf("DROP INDEX IF EXISTS %q", c.TableName+"_"+name)', 1),
)


def cache_dir() -> Path:
    """Where downloaded jars and built binaries live: outside the repository."""
    root = os.environ.get("EKTP_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "ektp"
    )
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _run(part: str, command: list[str], failure: str, cwd: Path | None = None) -> str:
    """Run an install step; on failure raise one actionable line plus the tool's last words."""
    if shutil.which(command[0]) is None:
        raise InfraError(part, f"{command[0]} not found: {failure}")
    proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise InfraError(part, f"{failure} ({' | '.join(tail)[:400]})")
    return proc.stdout


@dataclass
class Ports:
    """Loopback ports of the infrastructure for one profile."""

    kafka: int
    kafka_controller: int
    mongo: int
    prometheus: int


class Kafka:
    """One Apache Kafka KRaft node (broker and controller) on 127.0.0.1."""

    part = "kafka"

    def __init__(self, data: Path, port: int, controller_port: int) -> None:
        self.data = data / "kafka"
        self.port = port
        self.controller_port = controller_port
        self.pid_file = self.data / "kafka.pid"
        self.log_file = self.data / "kafka.out"

    @property
    def libs(self) -> Path:
        return cache_dir() / f"kafka-{KAFKA_VERSION}" / "libs"

    def install(self) -> None:
        """Resolve the broker's jars from Maven Central with deploy/kafka/pom.xml."""
        if shutil.which("java") is None:
            raise InfraError(self.part, "java not found: install a JDK 17 (apt-get install openjdk-17-jdk-headless)")
        marker = self.libs / ".complete"
        if marker.exists():
            return
        print(f"  kafka: resolving Apache Kafka {KAFKA_VERSION} jars with Maven (first run only)")
        _run(
            self.part,
            [
                "mvn", "-q", "-B", "-f", str(REPO / "deploy/kafka/pom.xml"),
                f"-Dkafka.version={KAFKA_VERSION}",
                "dependency:copy-dependencies", "-DincludeScope=runtime",
                f"-DoutputDirectory={self.libs}",
            ],
            f"Maven could not resolve org.apache.kafka:kafka_2.13:{KAFKA_VERSION}",
        )
        marker.touch()

    def _properties(self) -> Path:
        props = self.data / "server.properties"
        props.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
                    f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
                    "controller.listener.names=CONTROLLER",
                    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                    f"controller.quorum.bootstrap.servers=127.0.0.1:{self.controller_port}",
                    "inter.broker.listener.name=PLAINTEXT",
                    f"log.dirs={self.data / 'log'}",
                    "num.partitions=3",
                    "offsets.topic.replication.factor=1",
                    "offsets.topic.num.partitions=3",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "share.coordinator.state.topic.replication.factor=1",
                    "share.coordinator.state.topic.min.isr=1",
                    "group.initial.rebalance.delay.ms=0",
                    "auto.create.topics.enable=false",
                    "message.max.bytes=1048588",
                    "",
                ]
            )
        )
        return props

    def _java(self, main: str, *args: str) -> list[str]:
        return kafka_java(self.data, main, *args)

    def start(self) -> str:
        """Start (or reuse) the node; returns how it went in a few words."""
        self.data.mkdir(parents=True, exist_ok=True)
        if read_pid(self.pid_file) and port_open(self.port):
            return "reused"
        if port_open(self.port):
            raise InfraError(self.part, f"port {self.port} in use by another program (set EKTP_KAFKA_PORT)")
        if port_open(self.controller_port):
            raise InfraError(self.part, f"port {self.controller_port} in use by another program")
        self.install()
        props = self._properties()
        if not (self.data / "log" / "meta.properties").exists():
            cluster_id = str(uuid.uuid4())
            _run(
                self.part,
                # "=" form: a base64 id may start with "-", which would read as an option.
                self._java("kafka.tools.StorageTool", "format", "--standalone",
                           f"--cluster-id={_kafka_cluster_id(cluster_id)}", "-c", str(props)),
                "could not format KRaft storage",
            )
        pid = start_background(
            self.part, self._java("kafka.Kafka", str(props)),
            pid_file=self.pid_file, log_file=self.log_file, cwd=self.data,
        )
        wait_until(self.part, lambda: port_open(self.port), pid=pid, timeout=90, log_file=self.log_file)
        asyncio.run(_wait_for_metadata(self.port, self.part, self.log_file))
        return "started"

    def stop(self) -> bool:
        return stop_process(self.pid_file, timeout=30)


def kafka_java(logs: Path, main: str, *args: str, jvm_options: Sequence[str] = (),
               heap: str = "-Xmx768m") -> list[str]:
    """The java command line of a Kafka tool or node from the cached jars (EKTP_KAFKA_HEAP overrides `heap`)."""
    return [
        "java", os.environ.get("EKTP_KAFKA_HEAP", heap), "-XX:+UseG1GC", "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={REPO / 'deploy/kafka/log4j2.properties'}",
        f"-Dkafka.logs.dir={logs}", *jvm_options,
        "-cp", f"{cache_dir() / f'kafka-{KAFKA_VERSION}' / 'libs'}/*", main, *args,
    ]


def _kafka_cluster_id(seed: str) -> str:
    """A Kafka cluster id: 16 bytes, URL-safe base64 without padding."""
    import base64

    return base64.urlsafe_b64encode(uuid.UUID(seed).bytes).decode().rstrip("=")


async def _wait_for_metadata(port: int, part: str, log_file: Path) -> None:
    """The broker accepts connections before it serves metadata; wait for the latter."""
    from aiokafka.admin import AIOKafkaAdminClient

    for _ in range(120):
        admin = AIOKafkaAdminClient(bootstrap_servers=f"127.0.0.1:{port}", request_timeout_ms=3000)
        try:
            await admin.start()
            await admin.list_topics()
            return
        except Exception:  # noqa: BLE001 - any failure here means "not ready yet"
            await asyncio.sleep(0.5)
        finally:
            await admin.close()
    raise InfraError(part, f"broker never served metadata (log: {log_file})")


async def create_topics(port: int) -> list[str]:
    """Create the registry's topics on the local broker; returns the new names."""
    from deploy.topics import ensure_topics

    return await ensure_topics(f"127.0.0.1:{port}")


class FerretDB:
    """FerretDB v1.24 with its SQLite backend: the MongoDB wire protocol on 127.0.0.1."""

    part = "ferretdb"

    def __init__(self, data: Path, port: int, *, tls_key_and_cert: Path | None = None) -> None:
        self.data = data / "ferretdb"
        self.port = port
        # With a PEM file holding a key and its certificate, the port speaks TLS only.
        self.tls_key_and_cert = tls_key_and_cert
        self.pid_file = self.data / "ferretdb.pid"
        self.log_file = self.data / "ferretdb.out"

    @property
    def binary(self) -> Path:
        return cache_dir() / "bin" / f"ferretdb-{FERRETDB_VERSION}-{FERRETDB_BUILD}"

    def install(self) -> None:
        """Build FerretDB from its module on the Go module proxy into the cache folder.

        `go install module@version` stamps no version into the build and FerretDB's binary
        then refuses to start, so the module's source is downloaded, given the version file
        its release builds carry, and built from there.
        """
        if self.binary.exists():
            return
        print(f"  ferretdb: building FerretDB {FERRETDB_VERSION} with go (first run only, ~2 min)")
        if shutil.which("go") is None:
            raise InfraError(self.part, "go not found: install Go 1.22 or newer")
        info = json.loads(
            _run(
                self.part,
                ["go", "mod", "download", "-json", f"{FERRETDB_MODULE}@{FERRETDB_VERSION}"],
                f"the Go module proxy could not provide {FERRETDB_MODULE}@{FERRETDB_VERSION}",
                cwd=cache_dir(),
            )
        )
        source = cache_dir() / "src" / f"ferretdb-{FERRETDB_VERSION}"
        if source.exists():
            shutil.rmtree(source)
        shutil.copytree(info["Dir"], source)
        for path in [source, *source.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)
        (source / "build/version/version.txt").write_text(FERRETDB_VERSION + "\n")
        for relative, old, new, count in FERRETDB_PATCHES:
            path = source / relative
            text = path.read_text()
            if text.count(old) != count:
                raise InfraError(self.part, f"cannot apply the fixes to {relative}: source differs")
            path.write_text(text.replace(old, new))
        self.binary.parent.mkdir(parents=True, exist_ok=True)
        _run(
            self.part,
            ["go", "build", "-o", str(self.binary), "./cmd/ferretdb"],
            "go build of FerretDB failed",
            cwd=source,
        )

    def start(self) -> str:
        self.data.mkdir(parents=True, exist_ok=True)
        pid = read_pid(self.pid_file)
        if pid and port_open(self.port):
            if self._runs_current_build(pid):
                return "reused"
            # An earlier build (without a later fix) is still running: replace it, keeping its data.
            self.stop()
        if port_open(self.port):
            raise InfraError(self.part, f"port {self.port} in use by another program (set EKTP_MONGO_PORT)")
        self.install()
        (self.data / "sqlite").mkdir(exist_ok=True)
        listen = [f"--listen-addr=127.0.0.1:{self.port}"] if self.tls_key_and_cert is None else [
            "--listen-addr=", f"--listen-tls=127.0.0.1:{self.port}",
            f"--listen-tls-cert-file={self.tls_key_and_cert}", f"--listen-tls-key-file={self.tls_key_and_cert}"]
        pid = start_background(
            self.part,
            [
                # WAL with synchronous=NORMAL survives a crash of FerretDB or of this machine's
                # processes; only a power cut can lose the last commits. Local data only.
                str(self.binary), "--handler=sqlite",
                f"--sqlite-url=file:{self.data / 'sqlite'}/?_pragma=synchronous(NORMAL)",
                *listen, f"--state-dir={self.data}",
                "--telemetry=disable", "--debug-addr=-", "--log-level=warn",
            ],
            pid_file=self.pid_file, log_file=self.log_file, cwd=self.data,
        )
        wait_until(self.part, lambda: port_open(self.port), pid=pid, timeout=30, log_file=self.log_file)
        return "started"

    def stop(self) -> bool:
        return stop_process(self.pid_file)

    def _runs_current_build(self, pid: int) -> bool:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
        except OSError:
            return True
        return Path(command).name == self.binary.name


class Prometheus:
    """Debian's Prometheus, scraping every service's /metrics."""

    part = "prometheus"

    def __init__(self, data: Path, port: int, config: Path) -> None:
        self.data = data / "prometheus"
        self.port = port
        self.config = config
        self.pid_file = self.data / "prometheus.pid"
        self.log_file = self.data / "prometheus.out"

    def install(self) -> None:
        """apt-get install prometheus when the binary is missing (needs root)."""
        if shutil.which("prometheus"):
            return
        if os.geteuid() != 0:
            raise InfraError(self.part, "prometheus not found: run 'sudo apt-get install prometheus'")
        print("  prometheus: installing Debian's prometheus package (first run only)")
        _run(self.part, ["apt-get", "update", "-q"], "apt-get update failed")
        _run(
            self.part,
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", "prometheus"],
            "apt-get could not install prometheus",
        )

    def start(self) -> str:
        self.data.mkdir(parents=True, exist_ok=True)
        if read_pid(self.pid_file) and port_open(self.port):
            return "reused"
        if port_open(self.port):
            raise InfraError(self.part, f"port {self.port} in use by another program (set EKTP_PROMETHEUS_PORT)")
        self.install()
        pid = start_background(
            self.part,
            [
                "prometheus", f"--config.file={self.config}",
                f"--storage.tsdb.path={self.data / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--web.enable-lifecycle", "--log.level=warn",
            ],
            pid_file=self.pid_file, log_file=self.log_file, cwd=self.data,
        )
        wait_until(self.part, lambda: port_open(self.port), pid=pid, timeout=30, log_file=self.log_file)
        return "started"

    def stop(self) -> bool:
        return stop_process(self.pid_file)


def ensure_debian_package(binary: str, package: str, *, part: str) -> str:
    """The path of `binary`, installing Debian's `package` with apt-get first when it is missing (needs root)."""
    found = shutil.which(binary)
    if found:
        return found
    if os.geteuid() != 0:
        raise InfraError(part, f"{binary} not found: run 'sudo apt-get install {package}'")
    print(f"  {part}: installing Debian's {package} package (first run only)")
    _run(part, ["apt-get", "update", "-q"], "apt-get update failed")
    _run(part, ["apt-get", "install", "-y", "-q", "--no-install-recommends", package],
         f"apt-get could not install {package}")
    found = shutil.which(binary)
    if not found:
        raise InfraError(part, f"{package} installed but {binary} is not on PATH")
    return found
