"""Office keys of every service: create, rotate, revoke and list them (one directory, shared by all five).

    python -m shared.offices office create --id kec-17.02.06 --name "Kecamatan Kota Padang" \
        --role kecamatan_office --kecamatan 17.02.06
    python -m shared.offices office revoke --id kec-17.02.06
    python -m shared.offices office list
    python -m shared.offices office web-key --id aplikasi-web
    python -m shared.offices office web-key --key-file secrets/web-service-key

`web-key` makes the web app's own key (EKTP_WEB_SERVICE_KEY): it acts only for the office of the
person signed in to the web app, never as an office of its own. With `--key-file` it registers the
key that file holds instead (compose's web-key job, from the secret `python -m deploy.secrets` made).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from shared.areas import load_areas
from shared.auth import OFFICES_COLLECTION, OfficeDirectory
from shared.clock import system_clock
from shared.contracts import Role
from shared.mongo import make_client
from shared.settings import InfraSettings

MIN_KEY_LENGTH = 32


async def _run(args: argparse.Namespace) -> int:
    infra = InfraSettings()
    client = make_client(infra, app_name="offices-cli")
    directory = OfficeDirectory(client[infra.mongo_database][OFFICES_COLLECTION])
    try:
        await directory.ensure_indexes()
        if args.command == "create":
            role = Role(args.role)
            if role in (Role.KECAMATAN_OFFICE, Role.FIELD_TEAM, Role.PRINT_STATION):
                if args.kecamatan not in load_areas().kecamatan:
                    print(f"error: --kecamatan harus kode kecamatan Rejang Lebong (mis. 17.02.06) "
                          f"untuk peran {role.value}", file=sys.stderr)
                    return 2
            key = await directory.create(
                office_id=args.id, name=args.name, role=role,
                kecamatan_code=args.kecamatan, now=system_clock(),
            )
            print(f"Kunci API untuk {args.id} ({role.value}); simpan sekarang, tidak ditampilkan lagi:")
            print(key)
        elif args.command == "web-key":
            given = args.given_key
            if given is not None and len(given) < MIN_KEY_LENGTH:
                print(f"error: {args.key_file} harus berisi kunci minimal {MIN_KEY_LENGTH} karakter", file=sys.stderr)
                return 2
            key = await directory.create(office_id=args.id, name="Aplikasi web", role=Role.SYSTEM,
                                         kecamatan_code=None, now=system_clock(), on_behalf=True, key=given)
            if given is None:
                print(f"Kunci aplikasi web {args.id}; isi EKTP_WEB_SERVICE_KEY dengan kunci ini "
                      "(tidak ditampilkan lagi):")
                print(key)
            else:
                print(f"Kunci aplikasi web {args.id} dari {args.key_file} terdaftar.")
        elif args.command == "revoke":
            if not await directory.revoke(args.id, now=system_clock()):
                print(f"error: kantor {args.id} tidak ada atau kuncinya sudah dicabut", file=sys.stderr)
                return 1
            print(f"Kunci {args.id} dicabut.")
        else:
            for office in await directory.list():
                state = "dicabut" if office.revoked else "aktif"
                kind = "aplikasi_web" if office.on_behalf else office.role.value
                print(f"{office.office_id:<24} {kind:<18} "
                      f"{office.kecamatan_code or '-':<10} {state:<8} {office.name}")
    finally:
        await client.close()
    return 0


def _read_key_file(args: argparse.Namespace) -> argparse.Namespace:
    """The key a --key-file holds, read before the event loop starts."""
    args.given_key = Path(args.key_file).read_text().strip() if getattr(args, "key_file", None) else None
    return args


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.offices",
                                     description="Kelola kunci API kantor (office keys).")
    sub = parser.add_subparsers(dest="group", required=True)
    office = sub.add_parser("office", help="office keys").add_subparsers(dest="command", required=True)
    create = office.add_parser("create", help="create or rotate an office key")
    create.add_argument("--id", required=True, help="office id, e.g. kec-17.02.06")
    create.add_argument("--name", required=True, help="office name")
    create.add_argument("--role", required=True, choices=[r.value for r in Role if r != Role.SYSTEM])
    create.add_argument("--kecamatan", help="kecamatan code the office belongs to, e.g. 17.02.06")
    web_key = office.add_parser("web-key", help="create or rotate the web app's key (acts for its signed-in people)")
    web_key.add_argument("--id", default="aplikasi-web", help="office id of the web app's key")
    web_key.add_argument("--key-file", help="register the key this file holds (a deployment's secret) instead of "
                                           "making one")
    revoke = office.add_parser("revoke", help="revoke an office key")
    revoke.add_argument("--id", required=True)
    office.add_parser("list", help="list offices (never their keys)")
    return asyncio.run(_run(_read_key_file(parser.parse_args(argv))))


if __name__ == "__main__":
    sys.exit(main())
