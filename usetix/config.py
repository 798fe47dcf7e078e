"""Typed settings: config/default.toml, then the file named by USETIX_CONFIG, then the
environment. Validated once at start; an invalid value names its key and the problem."""

from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from usetix.client_address import LOOPBACK, parse_networks

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "config" / "default.toml"
ROUTE_CLASSES = ("account", "scanner", "session", "public")


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key."""


@dataclass(frozen=True)
class Route:
    prefix: str
    upstream: str
    route_class: str


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = ""
    pool_min_size: int = 1
    pool_max_size: int = 10
    acquire_timeout: float = 2.0
    command_timeout: float = 5.0
    statement_timeout: float = 5.0
    # Idle pool connections are closed after this many seconds.
    pool_max_inactive_lifetime: float = 300.0


@dataclass(frozen=True)
class SecretSettings:
    identity_key: str = ""
    session_key: str = ""


@dataclass(frozen=True)
class GatewaySettings:
    host: str = "127.0.0.1"
    port: int = 8080
    ops_host: str = "127.0.0.1"
    ops_port: int = 9180
    workers: int = 0
    allowed_hosts: tuple[str, ...] = ()
    # Load balancers whose X-Forwarded-For is believed; see usetix/client_address.py.
    trusted_proxies: tuple[str, ...] = ()
    via_name: str = "usetix-gateway"
    upstream_connect_timeout: float = 5.0
    upstream_read_timeout: float = 60.0
    upstream_pool_size: int = 100
    # "uvloop" (the default; falls back to asyncio where uvloop cannot be imported) or
    # "asyncio": the event loop the gateway's serve path runs on.
    event_loop: str = "uvloop"
    header_read_timeout: float = 15.0
    max_token_length: int = 256
    # Server limits and deadlines (issue 5); see config/default.toml for what each bounds.
    keepalive_timeout: float = 75.0
    max_header_line: int = 8190
    max_headers: int = 100
    body_idle_timeout: float = 30.0
    max_body_account: int = 1_048_576
    max_body_scanner: int = 65_536
    max_body_session: int = 1_048_576
    max_body_public: int = 1_048_576
    shutdown_grace: float = 30.0
    ready_check_timeout: float = 1.0
    # Credential cache and revocation listener (issue 4); see config/default.toml.
    cache_size: int = 10_000
    cache_ttl: float = 30.0
    negative_cache_ttl: float = 5.0
    listener_url: str = ""
    listener_heartbeat_interval: float = 2.0
    listener_heartbeat_timeout: float = 2.0
    listener_reconnect_max_delay: float = 5.0
    last_used_flush_interval: float = 60.0
    routes: tuple[Route, ...] = ()


@dataclass(frozen=True)
class UpstreamAppSettings:
    host: str = "127.0.0.1"
    port: int = 8081
    identity_max_age: int = 30
    login_url: str = "/login"


@dataclass(frozen=True)
class AdminUiSettings:
    host: str = "127.0.0.1"
    port: int = 8082
    secure_cookies: bool = True
    seed_demo: bool = False
    pairing_code_ttl: int = 600
    # Peers whose X-Forwarded-For is believed (the gateway); see usetix/client_address.py.
    trusted_proxies: tuple[str, ...] = LOOPBACK


@dataclass(frozen=True)
class Settings:
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    secrets: SecretSettings = field(default_factory=SecretSettings)
    gateway: GatewaySettings = field(default_factory=GatewaySettings)
    upstreams: Mapping[str, str] = field(default_factory=dict)
    upstream_app: UpstreamAppSettings = field(default_factory=UpstreamAppSettings)
    admin_ui: AdminUiSettings = field(default_factory=AdminUiSettings)

    def replace(self, **sections: Any) -> Settings:
        """A copy with some settings changed: replace(gateway={"port": 0})."""
        changed = {}
        for name, values in sections.items():
            current = getattr(self, name)
            if dataclasses.is_dataclass(current) and isinstance(values, Mapping):
                changed[name] = dataclasses.replace(current, **values)
            else:
                changed[name] = values
        return dataclasses.replace(self, **changed)


# Sections whose scalar keys get USETIX_<SECTION>_<KEY> overrides.
_SECTIONS: dict[str, type] = {
    "database": DatabaseSettings,
    "secrets": SecretSettings,
    "gateway": GatewaySettings,
    "upstream_app": UpstreamAppSettings,
    "admin_ui": AdminUiSettings,
}


def env_name(section: str, key: str) -> str:
    return f"USETIX_{section}_{key}".upper()


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Defaults, then USETIX_CONFIG's file, then the environment; raises ConfigError."""
    environ = os.environ if environ is None else environ
    raw = _read_toml(DEFAULT_CONFIG)
    extra = environ.get("USETIX_CONFIG")
    if extra:
        _merge(raw, _read_toml(Path(extra)))
    _apply_environment(raw, environ)
    return parse_settings(raw)


def parse_settings(raw: Mapping[str, Any]) -> Settings:
    unknown = set(raw) - set(_SECTIONS) - {"upstreams"}
    if unknown:
        raise ConfigError(f"unknown section [{sorted(unknown)[0]}]")
    upstreams = _parse_upstreams(raw.get("upstreams", {}))
    sections = {
        name: _build(cls, raw.get(name, {}), name) for name, cls in _SECTIONS.items()
    }
    settings = Settings(upstreams=upstreams, **sections)
    _check_routes(settings)
    _check_trusted_proxies(settings)
    _check_event_loop(settings)
    return settings


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


def _merge(base: dict[str, Any], layer: Mapping[str, Any]) -> None:
    for key, value in layer.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def _apply_environment(raw: dict[str, Any], environ: Mapping[str, str]) -> None:
    if environ.get("DATABASE_URL"):
        raw.setdefault("database", {})["url"] = environ["DATABASE_URL"]
    for section, cls in _SECTIONS.items():
        for f in dataclasses.fields(cls):
            name = env_name(section, f.name)
            if name in environ:
                raw.setdefault(section, {})[f.name] = _from_env(
                    environ[name], _field_types(cls)[f.name], name
                )


def _from_env(text: str, kind: Any, name: str) -> Any:
    if kind is bool:
        lowered = text.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name}: expected true or false, got {text!r}")
    if kind is int:
        try:
            return int(text)
        except ValueError:
            raise ConfigError(f"{name}: expected an integer, got {text!r}") from None
    if kind is float:
        try:
            return float(text)
        except ValueError:
            raise ConfigError(f"{name}: expected a number, got {text!r}") from None
    if typing.get_origin(kind) is tuple:
        return [item.strip() for item in text.split(",") if item.strip()]
    return text


def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _build(cls: type, values: Any, section: str) -> Any:
    if not isinstance(values, Mapping):
        raise ConfigError(f"[{section}] must be a table")
    types_by_name = _field_types(cls)
    unknown = set(values) - set(types_by_name)
    if unknown:
        raise ConfigError(f"unknown setting {section}.{sorted(unknown)[0]}")
    kwargs = {}
    for name, value in values.items():
        key = f"{section}.{name}"
        if name == "routes":
            kwargs[name] = _parse_routes(value)
        else:
            kwargs[name] = _check_type(value, types_by_name[name], key)
    return cls(**kwargs)


def _check_type(value: Any, kind: Any, key: str) -> Any:
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {value!r}")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        if value < 0:
            raise ConfigError(f"{key}: must not be negative, got {value}")
        return value
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        if value <= 0:
            raise ConfigError(f"{key}: must be positive, got {value}")
        return float(value)
    if kind is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {value!r}")
        return value
    if typing.get_origin(kind) is tuple:
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{key}: expected a list of strings, got {value!r}")
        return tuple(value)
    raise ConfigError(f"{key}: unsupported setting type {kind!r}")  # pragma: no cover


def _parse_upstreams(values: Any) -> dict[str, str]:
    if not isinstance(values, Mapping):
        raise ConfigError("[upstreams] must be a table of name = URL")
    parsed = {}
    for name, url in values.items():
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigError(f"upstreams.{name}: expected an http(s) URL, got {url!r}")
        parsed[name] = url.rstrip("/")
    return parsed


def _parse_routes(values: Any) -> tuple[Route, ...]:
    if not isinstance(values, list):
        raise ConfigError("gateway.routes: expected an array of tables")
    routes = []
    for index, item in enumerate(values):
        key = f"gateway.routes[{index}]"
        if not isinstance(item, Mapping) or set(item) != {"prefix", "upstream", "class"}:
            raise ConfigError(f"{key}: needs exactly prefix, upstream and class")
        prefix, upstream, route_class = item["prefix"], item["upstream"], item["class"]
        if not isinstance(prefix, str) or not prefix.startswith("/"):
            raise ConfigError(f"{key}.prefix: must start with '/', got {prefix!r}")
        if route_class not in ROUTE_CLASSES:
            raise ConfigError(
                f"{key}.class: must be one of {', '.join(ROUTE_CLASSES)}, got {route_class!r}"
            )
        routes.append(Route(prefix=prefix, upstream=upstream, route_class=route_class))
    return tuple(routes)


def _check_routes(settings: Settings) -> None:
    prefixes = set()
    for index, route in enumerate(settings.gateway.routes):
        if route.upstream not in settings.upstreams:
            raise ConfigError(
                f"gateway.routes[{index}].upstream: {route.upstream!r} is not in [upstreams]"
            )
        if route.prefix.rstrip("/") in prefixes:
            raise ConfigError(f"gateway.routes[{index}].prefix: {route.prefix!r} is listed twice")
        prefixes.add(route.prefix.rstrip("/"))


EVENT_LOOPS = ("uvloop", "asyncio")


def _check_event_loop(settings: Settings) -> None:
    if settings.gateway.event_loop not in EVENT_LOOPS:
        raise ConfigError(
            f"gateway.event_loop: must be one of {', '.join(EVENT_LOOPS)}, "
            f"got {settings.gateway.event_loop!r}"
        )


def _check_trusted_proxies(settings: Settings) -> None:
    for key, entries in (
        ("gateway.trusted_proxies", settings.gateway.trusted_proxies),
        ("admin_ui.trusted_proxies", settings.admin_ui.trusted_proxies),
    ):
        try:
            parse_networks(entries)
        except ValueError as exc:
            raise ConfigError(f"{key}: {exc}") from None


def masked(settings: Settings) -> dict[str, Any]:
    """The effective settings as plain data, secrets and passwords masked."""
    data = dataclasses.asdict(settings)
    for key, value in data["secrets"].items():
        data["secrets"][key] = "***" if value else ""
    data["database"]["url"] = _mask_url_password(data["database"]["url"])
    data["upstreams"] = dict(settings.upstreams)
    return data


def _mask_url_password(url: str) -> str:
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    userinfo, host = rest.rsplit("@", 1)
    if ":" in userinfo:
        userinfo = userinfo.split(":", 1)[0] + ":***"
    return f"{scheme}://{userinfo}@{host}"

