"""`usetix upstream-app`: serve the events application on its own listener."""

from __future__ import annotations

from upstream_app.app import create_app
from usetix import service
from usetix.config import Settings


def serve(settings: Settings, dsn: str) -> None:
    settings = settings.replace(database={"url": dsn})
    service.serve(
        create_app(settings),
        settings.upstream_app.host,
        settings.upstream_app.port,
        "upstream_app",
    )
