"""Jinja filters for the admin templates (pure)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any


def when(value: datetime | None, empty: str = "never") -> str:
    """A timestamp as people read it, in UTC (the page does not know the viewer's zone)."""
    if value is None:
        return empty
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def iso(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).isoformat(timespec="seconds")


FILTERS: dict[str, Callable[..., Any]] = {"when": when, "iso": iso}
