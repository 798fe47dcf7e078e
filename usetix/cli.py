"""The `usetix` command: database, accounts, users, tokens, and the services."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from usetix import accounts, credential_store, db
from usetix.config import ConfigError, Settings, load_settings, masked
from usetix.credentials import Kind, Tier
from usetix.embedded import database_url

TIERS = {"read": Tier.READ, "write": Tier.READ_WRITE, "read_write": Tier.READ_WRITE}


def main(argv: list[str] | None = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        sys.exit(f"usetix: invalid configuration: {exc}")
    try:
        args.handler(args, settings)
    except ConfigError as exc:
        sys.exit(f"usetix: invalid configuration: {exc}")
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        # `usetix list-tokens ... | head`: the reader left; nothing more to say.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="usetix", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: Callable[..., Any], help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        return sub

    command("migrate", _migrate, "apply pending database migrations")
    command("check-config", _check_config, "print the effective configuration, secrets masked")

    sub = command("create-account", _create_account, "create an account; prints its id")
    sub.add_argument("name")

    sub = command("create-user", _create_user, "create an admin user (password on stdin)")
    sub.add_argument("--account", type=int, required=True)
    sub.add_argument("--email", required=True)

    sub = command("create-token", _create_token, "create a token; prints it, the only time")
    sub.add_argument("--account", type=int, required=True)
    sub.add_argument("--tier", choices=sorted(TIERS), required=True)
    sub.add_argument("--kind", choices=[k.value for k in Kind], default=Kind.API.value)
    sub.add_argument("--description", required=True)

    sub = command("list-tokens", _list_tokens, "list an account's credentials")
    sub.add_argument("--account", type=int, required=True)

    sub = command("revoke-token", _revoke_token, "revoke a credential by id")
    sub.add_argument("id", type=int)

    command(
        "import-legacy-tokens",
        _import_legacy_tokens,
        "hash the old system's plaintext api_tokens into credentials, then drop that table",
    )

    command("run", _run, "start Postgres (embedded unless DATABASE_URL), migrate, all services")

    sub = command("gateway", _gateway, "run the gateway")
    sub.add_argument("--host")
    sub.add_argument("--port", type=int)
    sub.add_argument("--ops-port", type=int)
    sub.add_argument("--workers", type=int, help="worker processes (default: one per CPU)")

    sub = command("upstream-app", _upstream_app, "run the events and scanner application")
    sub.add_argument("--host")
    sub.add_argument("--port", type=int)

    sub = command("admin-ui", _admin_ui, "run the admin UI")
    sub.add_argument("--host")
    sub.add_argument("--port", type=int)
    return parser


def _with_connection(
    settings: Settings, work: Callable[[asyncpg.Connection], Awaitable[Any]]
) -> Any:
    async def go() -> Any:
        options = db.connect_options(settings.database)
        conn = await asyncpg.connect(database_url(settings), **options)
        try:
            return await work(conn)
        finally:
            await conn.close()

    try:
        return asyncio.run(go())
    except (OSError, asyncpg.PostgresConnectionError) as exc:
        sys.exit(f"usetix: cannot reach the database: {exc}")


def _migrate(args: argparse.Namespace, settings: Settings) -> None:
    applied = _with_connection(settings, db.migrate)
    print(f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else ""))


def _check_config(args: argparse.Namespace, settings: Settings) -> None:
    print(json.dumps(masked(settings), indent=2, default=str))


def _create_account(args: argparse.Namespace, settings: Settings) -> None:
    name = args.name.strip()
    if not name:
        sys.exit("usetix: the account name must not be empty")
    print(_with_connection(settings, lambda conn: accounts.create_account(conn, name)))


def _create_user(args: argparse.Namespace, settings: Settings) -> None:
    password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < 8:
        sys.exit("usetix: the password (read from stdin) must have at least 8 characters")

    async def work(conn: asyncpg.Connection) -> int:
        await _require_account(conn, args.account)
        try:
            return await accounts.create_user(
                conn, account_id=args.account, email=args.email, password=password
            )
        except accounts.DuplicateEmail:
            sys.exit(f"usetix: a user with email {args.email} already exists")

    print(_with_connection(settings, work))


def _create_token(args: argparse.Namespace, settings: Settings) -> None:
    async def work(conn: asyncpg.Connection) -> str:
        await _require_account(conn, args.account)
        _, token = await credential_store.create(
            conn,
            account_id=args.account,
            kind=Kind(args.kind),
            tier=TIERS[args.tier],
            description=args.description,
            actor="cli",
        )
        return token

    print(_with_connection(settings, work))


def _list_tokens(args: argparse.Namespace, settings: Settings) -> None:
    async def work(conn: asyncpg.Connection) -> list[credential_store.CredentialRow]:
        await _require_account(conn, args.account)
        return await credential_store.list_for_account(conn, args.account)

    rows = _with_connection(settings, work)
    for row in rows:
        print(
            "\t".join(
                [
                    str(row.id),
                    row.kind.value,
                    row.tier.value,
                    row.display_prefix,
                    _when(row.created_at),
                    "last used " + _when(row.last_used_at) if row.last_used_at else "never used",
                    "revoked " + _when(row.revoked_at) if row.revoked_at else "active",
                ]
            )
        )


def _revoke_token(args: argparse.Namespace, settings: Settings) -> None:
    revoked = _with_connection(
        settings, lambda conn: credential_store.revoke(conn, args.id, actor="cli")
    )
    if not revoked:
        sys.exit(f"usetix: no active credential with id {args.id}")
    print(f"revoked {args.id}")


def _import_legacy_tokens(args: argparse.Namespace, settings: Settings) -> None:
    created = _with_connection(
        settings,
        # One transaction however large the table: no statement or command time limit.
        lambda conn: credential_store.import_legacy_tokens(conn, unbounded=True),
    )
    if created is None:
        print("no api_tokens table: nothing to import")
    else:
        print(f"imported {created} legacy token(s); the api_tokens table is dropped")


async def _require_account(conn: asyncpg.Connection, account_id: int) -> None:
    if not await accounts.account_exists(conn, account_id):
        sys.exit(f"usetix: no account with id {account_id}")


def _when(value: Any) -> str:
    return value.isoformat(timespec="seconds")


def _run(args: argparse.Namespace, settings: Settings) -> None:
    from usetix.supervisor import run_all

    sys.exit(run_all(settings))


def _gateway(args: argparse.Namespace, settings: Settings) -> None:
    from gateway.main import serve

    settings = settings.replace(gateway=_overrides(args, "host", "port", "ops_port", "workers"))
    serve(settings, database_url(settings))


def _upstream_app(args: argparse.Namespace, settings: Settings) -> None:
    from upstream_app.main import serve

    settings = settings.replace(upstream_app=_overrides(args, "host", "port"))
    serve(settings, database_url(settings))


def _admin_ui(args: argparse.Namespace, settings: Settings) -> None:
    from admin_ui.main import serve

    settings = settings.replace(admin_ui=_overrides(args, "host", "port"))
    serve(settings, database_url(settings))


def _overrides(args: argparse.Namespace, *names: str) -> dict[str, Any]:
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


if __name__ == "__main__":
    main()
