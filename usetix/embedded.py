"""The database URL every command uses: DATABASE_URL when set, otherwise an embedded real
Postgres (the pgserver package) with its data under var/pgdata, started on demand and shared
by every process of the project. pgserver stops it when the last process using it exits."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from usetix.config import PROJECT_ROOT, Settings

DATA_DIR = PROJECT_ROOT / "var" / "pgdata"
DATABASE_NAME = "usetix"


def database_url(settings: Settings) -> str:
    if settings.database.url:
        return settings.database.url
    return start_embedded(DATA_DIR)


# Handles kept alive for the life of the process: dropping one lets pgserver stop the server.
_servers: dict[Path, Any] = {}


def start_embedded(data_dir: Path, database: str = DATABASE_NAME) -> str:
    """Start (or join) the embedded server in data_dir; returns a URL for `database`."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset; pgserver copes.
        warnings.simplefilter("ignore")
        import pgserver

        data_dir.mkdir(parents=True, exist_ok=True)
        server = _servers.get(data_dir) or pgserver.get_server(data_dir, cleanup_mode="stop")
    _servers[data_dir] = server
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    return server.get_uri(database)


def stop_embedded(data_dir: Path) -> None:
    """Stop the embedded server this process started in data_dir (before its folder goes)."""
    server = _servers.pop(data_dir, None)
    if server is not None:
        server.cleanup()
