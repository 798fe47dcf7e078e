"""`usetix gateway`: serve the gateway."""

from __future__ import annotations

from gateway.app import create_app
from usetix import service
from usetix.config import Settings


def serve(settings: Settings, dsn: str) -> None:
    settings = settings.replace(database={"url": dsn})
    gw = settings.gateway
    service.serve(create_app(settings), gw.host, gw.port, "gateway")
