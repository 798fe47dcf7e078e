"""The gateway's Prometheus metrics: one CollectorRegistry per app (tests build many apps).

Every label value comes from a small fixed set or from the configuration (route classes,
upstream names): never a path, account, credential or token, so the number of series is
bounded whatever clients send. Values that live elsewhere (cache and listener counters on the
verifier, the database pool) are read at scrape time by a collector instead of being copied on
the hot path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from usetix.config import ROUTE_CLASSES

# The `outcome` label: what the gateway decided (SPEC 2) or why it could not answer.
OUTCOMES = (
    "ok",
    "missing_token",
    "malformed_token",
    "invalid_token",
    "revoked",
    "insufficient_scope",
    "wrong_credential_kind",
    "not_json",
    "public",
    "bad_request",
    "upstream_error",
    "unavailable",
)
METHOD_CLASSES = ("read", "write", "other")
# route_class when no route was matched (refused before routing, or unparseable HTTP).
NO_ROUTE = "none"
UPSTREAM_ERROR_KINDS = ("connect", "timeout", "protocol", "broken")
# Requests refused by a server limit before or while reading them.
LIMITS = (
    "header_timeout",
    "header_too_large",
    "bad_http",
    "body_too_large",
    "body_timeout",
)

# Help for the credential path's counters (gateway/credential_stats.py); any other numeric
# field it grows is exported too, under its own name.
COUNTER_HELP = {
    "cache_hits": "Credential lookups answered from the cache.",
    "cache_misses": "Credential lookups the cache could not answer.",
    "cache_bypassed": "Lookups made while the cache was not trusted (listener down or stale).",
    "cache_evictions": "Cache entries removed by a revocation push or a flush.",
    "stale_fills_dropped": "Cache fills refused: the digest was invalidated mid-lookup.",
    "db_lookups": "Credential queries sent to the database (after coalescing).",
    "coalesced_lookups": "Requests that joined a lookup already in flight.",
    "store_errors": "Lookups the database could not answer (answered 503).",
    "notifications_received": "Revocation notifications received on the LISTEN connection.",
    "listener_connects": "Revocation listener connections established.",
    "listener_reconnects": "Times the revocation listener reconnected after losing its link.",
    "listener_failures": "Revocation listener connection attempts that failed.",
    "last_used_flushes": "Batched last-used writes.",
    "last_used_rows": "Credentials covered by last-used writes.",
}

_READ_METHODS = frozenset({"GET", "HEAD"})
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# Latency buckets from 0.5 ms (a cached pass-through) to 60 s (the upstream read timeout).
_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0,
)


def method_class(method: str) -> str:
    """read (GET, HEAD), write (POST, PUT, PATCH, DELETE) or other: never the raw method."""
    if method in _READ_METHODS:
        return "read"
    if method in _WRITE_METHODS:
        return "write"
    return "other"


class GatewayMetrics:
    """The metric objects, with label children resolved once (labels() costs a lock and a
    dict lookup per call; the hot path uses the cached child)."""

    def __init__(self, upstream_names: Iterable[str]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "gateway_requests",
            "Requests answered, by route class, method class and outcome.",
            ("route_class", "method_class", "outcome"),
            registry=r,
        )
        self.request_seconds = Histogram(
            "gateway_request_duration_seconds",
            "Time from the request head to the end of the answer (streams included).",
            ("route_class",),
            buckets=_BUCKETS,
            registry=r,
        )
        self.upstream_seconds = Histogram(
            "gateway_upstream_duration_seconds",
            "Time from sending a request upstream to its response head (or its failure).",
            ("upstream",),
            buckets=_BUCKETS,
            registry=r,
        )
        self.upstream_errors = Counter(
            "gateway_upstream_errors",
            "Upstream failures: connect (502), timeout (504), protocol (502), broken "
            "(the upstream failed mid-body; the client connection was aborted).",
            ("upstream", "kind"),
            registry=r,
        )
        self.limit_rejections = Counter(
            "gateway_limit_rejections",
            "Requests refused by a server limit: header_timeout (408/close), header_too_large "
            "(431), bad_http (400), body_too_large (413), body_timeout (408).",
            ("limit",),
            registry=r,
        )
        ProcessCollector(registry=r)
        route_classes = (*ROUTE_CLASSES, NO_ROUTE)
        self._requests = {
            (rc, mc, o): self.requests.labels(rc, mc, o)
            for rc in route_classes
            for mc in METHOD_CLASSES
            for o in OUTCOMES
        }
        self._request_seconds = {rc: self.request_seconds.labels(rc) for rc in route_classes}
        self._upstream_seconds = {u: self.upstream_seconds.labels(u) for u in upstream_names}
        for name in upstream_names:
            for kind in UPSTREAM_ERROR_KINDS:
                self.upstream_errors.labels(name, kind)
        for limit in LIMITS:
            self.limit_rejections.labels(limit)

    def observe_request(
        self, route_class: str, method: str, outcome: str, seconds: float | None
    ) -> None:
        key = (route_class, method_class(method), outcome)
        child = self._requests.get(key)
        if child is None:
            # Not a known value: counted under a fixed fallback so series stay bounded.
            child = self._requests[(NO_ROUTE, key[1], "bad_request")]
        child.inc()
        if seconds is not None:
            histogram = self._request_seconds.get(route_class, self._request_seconds[NO_ROUTE])
            histogram.observe(seconds)

    def observe_upstream(self, upstream: str, seconds: float, error: str | None) -> None:
        child = self._upstream_seconds.get(upstream)
        if child is None:
            return
        child.observe(seconds)
        if error in UPSTREAM_ERROR_KINDS:
            self.upstream_errors.labels(upstream, error).inc()

    def limit_refused(self, limit: str) -> None:
        if limit in LIMITS:
            self.limit_rejections.labels(limit).inc()


class StateCollector(Collector):
    """Gauges and counters owned by other objects, read when Prometheus scrapes."""

    def __init__(self, read: Callable[[], dict[str, Any]]) -> None:
        self._read = read

    def collect(self) -> Iterator[Metric]:
        state = self._read()
        yield _gauge("gateway_ready", "1 when /readyz answers 200.", state.get("ready"))
        yield _gauge(
            "gateway_draining", "1 once shutdown has begun (SIGTERM).", state.get("draining")
        )
        yield _gauge(
            "gateway_open_connections", "Client connections open.", state.get("connections")
        )
        yield _gauge("gateway_db_pool_size", "Database connections open.", state.get("pool_size"))
        yield _gauge(
            "gateway_db_pool_in_use",
            "Database connections checked out right now.",
            state.get("pool_in_use"),
        )
        yield _gauge(
            "gateway_db_pool_max", "Most database connections allowed.", state.get("pool_max")
        )
        yield _gauge(
            "gateway_credential_cache_entries",
            "Credentials (and negative answers) held in the cache.",
            state.get("cache_entries"),
        )
        yield _gauge(
            "gateway_revocation_listener_up",
            "1 while the LISTEN connection is up and the cache is trusted.",
            state.get("listener_up"),
        )
        for name, value in state.get("counters", {}).items():
            family = CounterMetricFamily(
                f"gateway_{name}", COUNTER_HELP.get(name, f"Credential path counter {name}.")
            )
            family.add_metric([], value)
            yield family

    def describe(self) -> Iterator[Metric]:
        # Known only at scrape time; an empty description keeps auto_describe from calling
        # collect() at registration, before the app has started.
        return iter(())


def _gauge(name: str, help_text: str, value: float | bool | None) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, help_text)
    if value is not None:
        family.add_metric([], float(value))
    return family
