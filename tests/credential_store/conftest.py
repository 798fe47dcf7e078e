"""Credential-path fixtures: real gateway instances (served as `usetix gateway` serves them)
in front of a small counting upstream, all on the test's own schema."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from credpath import Instance, StartInstance, Upstream, instance_settings

from gateway.app import create_app
from gateway.server import serve_public
from usetix.config import Settings


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    up = Upstream()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", up.handle)
    up.server = TestServer(app, host="127.0.0.1")
    await up.server.start_server()
    yield up
    await up.server.close()


@pytest.fixture
async def start_instance(settings: Settings, upstream: Upstream) -> AsyncIterator[StartInstance]:
    instances: list[Instance] = []

    async def start(*, ready: bool = True, **sections: Any) -> Instance:
        configured = instance_settings(settings, upstream.url, **sections)
        instance = Instance(await serve_public(create_app(configured), configured.gateway),
                            configured)
        instances.append(instance)
        if ready:
            await instance.wait_ready()
        return instance

    yield start
    for instance in instances:
        await instance.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


