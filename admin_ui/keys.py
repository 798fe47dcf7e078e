"""Typed keys for what admin_ui keeps on its app and on each request (no globals)."""

from __future__ import annotations

from aiohttp import web

from admin_ui.once import UsedFormIds
from admin_ui.ratelimit import Limiters
from usetix.client_address import Network
from usetix.sessions import BrowserUser

LIMITERS = web.AppKey("limiters", Limiters)
# Create-token and pair forms already submitted: a replayed POST must not create again.
USED_FORM_IDS = web.AppKey("used_form_ids", UsedFormIds)
# HMAC key binding CSRF tokens to a session (or to the login form's nonce).
CSRF_KEY = web.AppKey("csrf_key", bytes)
# admin_ui.trusted_proxies, parsed once: peers whose X-Forwarded-For names the client.
TRUSTED_PROXIES: web.AppKey[tuple[Network, ...]] = web.AppKey("trusted_proxies")

USER = web.RequestKey("user", BrowserUser)
CSRF_TOKEN = web.RequestKey("csrf_token", str)
