"""Accounts of the web app's people: create, disable, enable, unlock and list them.

    python -m services.web.users create --username siti --name "Siti Aminah" --office kec-17.02.06
    python -m services.web.users disable --username siti
    python -m services.web.users enable --username siti
    python -m services.web.users unlock --username siti
    python -m services.web.users list

An account belongs to an office of `python -m shared.offices office list`: its role and kecamatan are
the office's. The password is asked twice (or read from standard input with --password-stdin).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import getpass
import sys

from services.web.accounts import ACCOUNTS_COLLECTION, AccountError, Accounts
from services.web.config import WebSettings
from services.web.formatting import ROLE_NAMES
from services.web.sessions import SESSIONS_COLLECTION, Sessions
from shared.auth import OFFICES_COLLECTION, OfficeDirectory
from shared.clock import system_clock
from shared.mongo import make_client


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Kata sandi baru: ")
    if getpass.getpass("Ulangi kata sandi: ") != first:
        raise AccountError("Kedua kata sandi tidak sama.")
    return first


async def _run(args: argparse.Namespace) -> int:
    settings = WebSettings()
    client = make_client(settings.infra, app_name="web-users-cli")
    db = client[settings.infra.mongo_database]
    accounts = Accounts(db[ACCOUNTS_COLLECTION], lockout_after=settings.lockout_after,
                        lockout=dt.timedelta(minutes=settings.lockout_minutes))
    now = system_clock()
    try:
        if args.command == "create":
            office = await OfficeDirectory(db[OFFICES_COLLECTION]).active(args.office)
            if office is None:
                print(f"error: kantor {args.office} tidak ada atau kuncinya dicabut "
                      "(lihat `python -m shared.offices office list`)", file=sys.stderr)
                return 2
            account = await accounts.create(username=args.username, full_name=args.name, password=_password(args),
                                            office=office, now=now)
            print(f"Akun {account.username} ({ROLE_NAMES[account.role]}, kantor {account.office_id}) siap dipakai.")
        elif args.command == "list":
            for account in await accounts.list():
                state = "nonaktif" if account.disabled else (
                    "terkunci" if account.locked_until and account.locked_until > now else "aktif")
                print(f"{account.username:<20} {account.role.value:<18} {account.office_id:<24} "
                      f"{account.kecamatan_code or '-':<10} {state:<9} {account.full_name}")
        else:
            return await _change(args, accounts, Sessions(db[SESSIONS_COLLECTION], idle=dt.timedelta(0)), now)
    except AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        await client.close()
    return 0


async def _change(args: argparse.Namespace, accounts: Accounts, sessions: Sessions, now: dt.datetime) -> int:
    if args.command == "unlock":
        found = await accounts.unlock(args.username, now=now)
    else:
        found = await accounts.set_disabled(args.username, args.command == "disable", now=now)
        if found and args.command == "disable":
            await sessions.end_all_of(args.username)
    if not found:
        print(f"error: akun {args.username} tidak ada", file=sys.stderr)
        return 1
    done = {"unlock": "kuncinya dibuka", "disable": "dinonaktifkan (sesi yang terbuka diakhiri)",
            "enable": "diaktifkan lagi"}
    print(f"Akun {args.username} {done[args.command]}.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.web.users",
                                     description="Kelola akun pengguna aplikasi web.")
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="create an account, or set a new password and office for one")
    create.add_argument("--username", required=True, help="e.g. siti (lower case letters, digits, . _ -)")
    create.add_argument("--name", required=True, help="the person's full name")
    create.add_argument("--office", required=True, help="office id the person works for, e.g. kec-17.02.06")
    create.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    for command, text in (("disable", "disable an account and end its sessions"), ("enable", "enable it again"),
                          ("unlock", "unlock an account locked after wrong passwords")):
        sub.add_parser(command, help=text).add_argument("--username", required=True)
    sub.add_parser("list", help="list accounts (never a password)")
    return asyncio.run(_run(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
