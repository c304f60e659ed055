"""Makes every secret a first deployment of docker-compose.yml needs, into ./secrets (never committed).

    python -m deploy.secrets                       # ./secrets, site name ektp.dukcapil.local
    python -m deploy.secrets --domain ektp.rejanglebongkab.go.id --alert-webhook https://chat.example/hook

A file that exists is kept: running it again after a deployment changes nothing. Delete a file to
have it made anew, then restart what reads it (a new CA needs new certificates: delete those too;
a new Kafka password needs a new JAAS file). What each file is: `SECRETS` below, and README
"Deployment".

The directory is 0700, so only its owner reaches it on the host; files inside are 0644 because each
container reads its own mounted file under its own user (Kafka as uid 1000, Grafana as 472,
Alertmanager as nobody). MongoDB's keyfile must belong to mongod: the compose file copies it with
the right owner and mode before starting mongod.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import ipaddress
import secrets
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

KAFKA_HOSTS = ("kafka-1", "kafka-2", "kafka-3")
MONGO_HOSTS = ("mongo",)
SERVICES_KAFKA_USER = "ektp-services"
BROKER_KAFKA_USER = "broker"
MONGO_APP_USER = "ektp"
CERT_DAYS = 825
KAFKA_DIR = "kafka"

# file (relative to the secrets directory) -> what it is, for the operator who runs the script
SECRETS: dict[str, str] = {
    "ca.pem": "sertifikat otoritas (CA) milik deployment ini; klien mempercayainya",
    "ca-key.pem": "kunci privat CA: menandatangani sertifikat di bawah; simpan di luar server setelah penyiapan",
    f"{KAFKA_DIR}/kafka.keystore.p12": "kunci dan sertifikat broker Kafka (nama kafka-1..3), PKCS12",
    f"{KAFKA_DIR}/kafka_keystore_creds": "kata sandi keystore itu",
    f"{KAFKA_DIR}/kafka_sslkey_creds": "kata sandi kunci di dalamnya (sama dengan keystore)",
    f"{KAFKA_DIR}/ca.pem": "CA yang dipercaya broker (truststore PEM)",
    f"{KAFKA_DIR}/kafka_server_jaas.conf": "pengguna SASL PLAIN broker: broker sendiri dan layanan",
    "kafka-services-password": f"kata sandi Kafka layanan (pengguna {SERVICES_KAFKA_USER})",
    "mongo-keyfile": "kunci anggota replica set MongoDB",
    "mongo-root-user": "nama administrator MongoDB",
    "mongo-root-password": "kata sandi administrator MongoDB",
    "mongo-app-password": f"kata sandi pengguna MongoDB layanan {MONGO_APP_USER} (readWrite pada ektp)",
    "mongo-tls.pem": "kunci dan sertifikat MongoDB (nama mongo)",
    "mongo-url": "alamat koneksi MongoDB layanan (pengguna, kata sandi, TLS, replica set)",
    "pseudonym-key": "kunci pseudonim penduduk (hash NIK berkunci): jangan diganti setelah ada data",
    "web-service-key": "kunci API aplikasi web (bertindak untuk kantor petugas yang masuk)",
    "grafana-admin-password": "kata sandi admin Grafana",
    "proxy-cert.pem": "sertifikat HTTPS situs (ditandatangani CA; ganti dengan sertifikat publik bila ada)",
    "proxy-key.pem": "kunci privat sertifikat itu",
    "alertmanager.yml": "konfigurasi Alertmanager: ke mana peringatan dikirim (webhook dari --alert-webhook)",
}


@dataclass(frozen=True)
class Options:
    directory: Path
    domain: str = "ektp.dukcapil.local"
    alert_webhook: str = ""
    extra_hosts: tuple[str, ...] = ()


def _password() -> str:
    return secrets.token_urlsafe(24)


def _names(hosts: Sequence[str]) -> list[object]:
    from cryptography import x509

    names: list[object] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


class Authority:
    """The deployment's CA: made once, then loaded to sign each server certificate."""

    def __init__(self, directory: Path) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        cert_path, key_path = directory / "ca.pem", directory / "ca-key.pem"
        if cert_path.exists() and key_path.exists():
            loaded = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            if not isinstance(loaded, ec.EllipticCurvePrivateKey):
                raise SystemExit(f"{key_path} is not the key this script makes (an EC key)")
            self.key = loaded
            self.cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            self.made = False
            return
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "e-KTP Rejang Lebong CA"),
                          x509.NameAttribute(x509.oid.NameOID.ORGANIZATION_NAME, "Dinas Dukcapil Rejang Lebong")])
        now = dt.datetime.now(dt.UTC)
        self.cert = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(self.key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        _write(key_path, self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()))
        key_path.chmod(0o600)  # no container mounts the CA's key
        _write(cert_path, self.cert.public_bytes(serialization.Encoding.PEM))
        self.made = True

    @property
    def pem(self) -> bytes:
        from cryptography.hazmat.primitives import serialization

        return self.cert.public_bytes(serialization.Encoding.PEM)

    def issue(self, common_name: str, hosts: Sequence[str]) -> tuple[object, object]:
        """A server (and client) certificate for these host names and addresses; returns (key, cert)."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self.cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=CERT_DAYS))
            .add_extension(x509.SubjectAlternativeName(_names(hosts)), critical=False)  # type: ignore[arg-type]
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH,
                                                  x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        return key, cert


def _write(path: Path, content: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode() if isinstance(content, str) else content
    path.write_bytes(data)
    path.chmod(0o644)


def _pem_pair(key: object, cert: object) -> tuple[bytes, bytes]:
    from cryptography.hazmat.primitives import serialization

    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,  # type: ignore[attr-defined]
                                serialization.NoEncryption())
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)  # type: ignore[attr-defined]


def _kafka_files(ca: Authority, options: Options) -> dict[str, Callable[[], bytes | str]]:
    directory = options.directory

    def password_of(name: str) -> str:
        path = directory / KAFKA_DIR / name
        if not path.exists():
            _write(path, _password())
        return path.read_text().strip()

    def keystore() -> bytes:
        from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

        key, cert = ca.issue("kafka", [*KAFKA_HOSTS, *options.extra_hosts])
        # One password for the store and its key: Java reads a PKCS12 key with the store's password.
        store_password = password_of("kafka_keystore_creds")
        return pkcs12.serialize_key_and_certificates(
            b"kafka", key, cert, [ca.cert], BestAvailableEncryption(store_password.encode()))  # type: ignore[arg-type]

    def jaas() -> str:
        broker = _password()
        services = _services_kafka_password(directory)
        return ("KafkaServer {\n"
                "  org.apache.kafka.common.security.plain.PlainLoginModule required\n"
                f'  username="{BROKER_KAFKA_USER}"\n  password="{broker}"\n'
                f'  user_{BROKER_KAFKA_USER}="{broker}"\n'
                f'  user_{SERVICES_KAFKA_USER}="{services}";\n'
                "};\n")

    return {
        f"{KAFKA_DIR}/kafka_keystore_creds": _password,
        f"{KAFKA_DIR}/kafka.keystore.p12": keystore,
        f"{KAFKA_DIR}/kafka_sslkey_creds": lambda: password_of("kafka_keystore_creds"),
        f"{KAFKA_DIR}/ca.pem": lambda: ca.pem,
        f"{KAFKA_DIR}/kafka_server_jaas.conf": jaas,
    }


def _services_kafka_password(directory: Path) -> str:
    path = directory / "kafka-services-password"
    if not path.exists():
        _write(path, _password())
    return path.read_text().strip()


def _kept(directory: Path, name: str, make: Callable[[], str]) -> str:
    path = directory / name
    if not path.exists():
        _write(path, make())
    return path.read_text().strip()


def _alertmanager_config(webhook: str) -> str:
    receiver = (f"    webhook_configs:\n      - url: {webhook}\n        send_resolved: true\n" if webhook else "")
    return ("# Where the alerts of deploy/prometheus/alerts.yml go. Made by python -m deploy.secrets.\n"
            "route:\n  receiver: operator-dinas\n  group_by: [alertname, service]\n"
            "  group_wait: 30s\n  group_interval: 5m\n  repeat_interval: 4h\n"
            "receivers:\n  - name: operator-dinas\n" + receiver)


def make_secrets(options: Options) -> dict[str, str]:
    """Make every missing secret; returns file -> "dibuat" (made) or "sudah ada" (kept)."""
    directory = options.directory
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    (directory / KAFKA_DIR).mkdir(exist_ok=True)
    (directory / KAFKA_DIR).chmod(0o755)
    existed = {name for name in SECRETS if (directory / name).exists()}
    ca = Authority(directory)

    def mongo_tls() -> bytes:
        key_pem, cert_pem = _pem_pair(*ca.issue("mongo", [*MONGO_HOSTS, *options.extra_hosts]))
        return key_pem + cert_pem

    def mongo_url() -> str:
        password = _kept(directory, "mongo-app-password", _password)
        return (f"mongodb://{MONGO_APP_USER}:{password}@mongo:27017/ektp?authSource=ektp&replicaSet=rs0"
                "&tls=true&tlsCAFile=/run/secrets/mongo_ca")

    def proxy_cert() -> bytes:
        key_pem, cert_pem = _pem_pair(*ca.issue(options.domain, [options.domain]))
        _write(directory / "proxy-key.pem", key_pem)
        return cert_pem

    if not (directory / "proxy-key.pem").exists():
        (directory / "proxy-cert.pem").unlink(missing_ok=True)  # a certificate is made with its key

    makers: dict[str, Callable[[], bytes | str]] = {
        "kafka-services-password": _password,
        **_kafka_files(ca, options),
        "mongo-keyfile": lambda: base64.b64encode(secrets.token_bytes(756)).decode(),
        "mongo-root-user": lambda: "dukcapil-admin",
        "mongo-root-password": _password,
        "mongo-app-password": _password,
        "mongo-tls.pem": mongo_tls,
        "mongo-url": mongo_url,
        "pseudonym-key": lambda: secrets.token_hex(32),
        "web-service-key": lambda: "ektp_" + secrets.token_urlsafe(32),
        "grafana-admin-password": _password,
        "proxy-cert.pem": proxy_cert,
        "alertmanager.yml": lambda: _alertmanager_config(options.alert_webhook),
    }
    for name, make in makers.items():
        path = directory / name
        if not path.exists():
            _write(path, make())
    return {name: "sudah ada" if name in existed else "dibuat" for name in SECRETS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.secrets", description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default="secrets", help="where to write (default ./secrets)")
    parser.add_argument("--domain", default="ektp.dukcapil.local",
                        help="the site's name in the HTTPS certificate (what people type in the browser)")
    parser.add_argument("--alert-webhook", default="",
                        help="URL Alertmanager posts alerts to (chat or paging webhook); empty: alerts are kept "
                             "in Alertmanager's page only")
    parser.add_argument("--extra-host", action="append", default=[],
                        help="another name or address the Kafka and MongoDB certificates must carry")
    args = parser.parse_args(argv)
    result = make_secrets(Options(Path(args.dir), domain=args.domain, alert_webhook=args.alert_webhook,
                                  extra_hosts=tuple(args.extra_host)))
    for name, state in result.items():
        print(f"  {state:<9} {args.dir}/{name}  ({SECRETS[name]})")
    if not args.alert_webhook and result["alertmanager.yml"] == "dibuat":
        print("  catatan: tanpa --alert-webhook, peringatan hanya tampil di halaman Alertmanager", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
