"""Run the admin UI as a service (`usetix admin-ui`, or started by `usetix run`)."""

from __future__ import annotations

from admin_ui.app import create_app
from usetix import service
from usetix.config import Settings


def serve(settings: Settings, dsn: str) -> None:
    """Serve until SIGINT/SIGTERM. Binds settings.admin_ui.host (127.0.0.1 by default): the
    admin UI must only be reachable through the gateway or on loopback, since it takes the
    peer address as the client address for rate limits and the audit log."""
    settings = settings.replace(database={"url": dsn})
    service.serve(create_app(settings), settings.admin_ui.host, settings.admin_ui.port, "admin_ui")
