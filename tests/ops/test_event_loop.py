"""gateway.event_loop: the serve path runs on uvloop by default, on asyncio's loop when told."""

from __future__ import annotations

import asyncio

import pytest

from gateway.main import run
from usetix.config import Settings


async def _loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


@pytest.mark.parametrize(("choice", "module"), [("uvloop", "uvloop"), ("asyncio", "asyncio")])
def test_the_serve_path_runs_on_the_configured_loop(choice, module):
    pytest.importorskip("uvloop")
    settings = Settings().replace(gateway={"event_loop": choice})
    assert run(_loop_module(), settings).startswith(module)  # type: ignore[arg-type]
