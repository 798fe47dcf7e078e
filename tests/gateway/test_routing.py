"""Request-target canonicalisation and the route table (SPEC 2.1; BH-014, BH-015, BI-14,
MH-06). Pure: the gateway authorises exactly the bytes it forwards, so a target is either
accepted unchanged or refused with 400 — never rewritten."""

from __future__ import annotations

import pytest

from gateway.outcomes import BadRequest
from gateway.routing import RouteTable, parse_target
from usetix.config import Route, load_settings

ACCEPTED = [
    "/",
    "/admin",
    "/admin/",
    "/admin/events",
    "/admin/events/",
    "/admin/events/42/tickets",
    "/admin/events?x=1",
    "/admin/events?",
    "/admin/events?a=1&b=2&a=3",
    "/admin/events?q=%2e%2e%2f..%2F",  # the query is not a path: escapes kept as they are
    "/admin/events?next=/a/../b",
    "/admin/events?q=a?b",
    "/admin/events?q=%00",
    # BH-014: escapes that are not dots, slashes, backslashes or controls pass through.
    "/admin/files/x%3Fadmin=1",
    "/admin/files/x%23frag",
    "/admin/files/hassio%255Fauth",
    "/admin/files/caf%C3%A9",
    "/admin/files/caf%c3%a9",
    "/admin/files/%20space",
    "/admin/;param",
    "/admin/a;b=c/d",
    "/admin/...",  # three dots is a name, not a dot-segment
    "/admin/.well-known",
    "/admin/a.b..c",
    "/admin/~user/!$&'()*+,=:@",
    "/SCANNER/report",  # accepted; the table decides its class (case-sensitive)
]

REFUSED = [
    # BH-015: dot-segments, plain and encoded, any case, with matrix params.
    "/scanner/../admin/users",
    "/scanner/./admin/users",
    "/scanner/./../admin/users",
    "/./admin/users",
    "/admin/..",
    "/admin/.",
    "/..",
    "/scanner/..;/admin/users",
    "/scanner/.;x/admin",
    "/scanner/%2e%2e/admin/users",
    "/scanner/%2E%2E/admin/users",
    "/scanner/%2e./admin/users",
    "/scanner/.%2E/admin/users",
    "/scanner/%2e/admin",
    "/admin/%2eenv",  # any encoded dot: no decoder downstream may turn it into a dot-segment
    # encoded slash and backslash, any case, and a raw backslash.
    "/scanner/%2E%2E%2Fadmin/users",
    "/scanner%2F..%2Fadmin",
    "/scanner%2f..%2fadmin",
    "/admin/files/a%2Fb",
    "/scanner/%5c..%5cadmin",
    "/scanner/%5C..%5Cadmin",
    "/scanner\\..\\admin",
    "/admin\\events",
    # control bytes, encoded or raw.
    "/admin/%00",
    "/admin/x%0d%0aX-Injected:1",
    "/admin/%1f",
    "/admin/%7f",
    "/admin/%7F",
    "/admin/a\x00b",
    "/admin/a\tb",
    "/admin/a b",
    # malformed escapes (BH-014 %ZZ: 400), in the path and in the query.
    "/admin/files/%ZZ",
    "/admin/files/%",
    "/admin/files/%4",
    "/admin/files/%4g",
    "/admin/events?q=%ZZ",
    "/admin/events?q=%",
    # double and empty segments.
    "//admin/users",
    "//scanner/",
    "/admin//users",
    "/scanner//pair",
    "/admin/events//",
    # non-ASCII (as aiohttp hands it over: UTF-8 decoded or surrogate-escaped).
    "/admin/café",
    "/admin/caf\udcc3\udca9",
    "/admin/events?q=café",
    # characters that are not in RFC 3986.
    '/admin/"quoted"',
    "/admin/<x>",
    "/admin/{x}",
    "/admin/x|y",
    "/admin/events#frag",
    "/admin/events?q=a b",
    "/admin/events?q=[1]",
    # MH-06: not origin-form.
    "http://evil.example/admin",
    "https://evil.example/admin",
    "evil.example:443",
    "*",
    "",
    "admin/events",
]


@pytest.mark.parametrize("target", ACCEPTED)
def test_canonical_targets_are_kept_byte_for_byte(target: str) -> None:
    parsed = parse_target(target)
    assert parsed.target == target
    assert parsed.path == target.partition("?")[0]


@pytest.mark.parametrize("target", REFUSED)
def test_ambiguous_targets_are_400(target: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_target(target)
    assert caught.value.status == 400


DEFAULT_TABLE = RouteTable(
    load_settings({}).gateway.routes, {"app": "http://app", "admin": "http://admin"}
)

CLASSES = [
    ("/", "public", "app"),
    ("/admin", "account", "app"),
    ("/admin/", "account", "app"),
    ("/admin/events", "account", "app"),
    ("/admin;x/events", "public", "app"),  # not the /admin segment: no identity, ever
    ("/administrator", "public", "app"),
    ("/admins/x", "public", "app"),
    ("/Admin/events", "public", "app"),
    ("/scanner", "scanner", "app"),
    ("/scanner/", "scanner", "app"),
    ("/scanner/events/1/tickets", "scanner", "app"),
    ("/SCANNER/report", "public", "app"),
    ("/Scanner/", "public", "app"),
    ("/scannerx", "public", "app"),
    ("/scanner/pair", "public", "admin"),
    ("/scanner/pair/", "public", "admin"),
    ("/scanner/pair/confirm", "public", "admin"),
    ("/scanner/pairing", "scanner", "app"),
    ("/scanner/Pair", "scanner", "app"),
    ("/settings", "session", "admin"),
    ("/settings/tokens", "session", "admin"),
    ("/settingsx", "public", "app"),
    ("/login", "session", "admin"),
    ("/logout", "session", "admin"),
    ("/tokens/revoke", "public", "admin"),
    ("/tokens", "public", "app"),
    ("/healthz", "public", "app"),
]


@pytest.mark.parametrize(("path", "route_class", "upstream"), CLASSES)
def test_default_route_table(path: str, route_class: str, upstream: str) -> None:
    matched = DEFAULT_TABLE.match(path)
    assert matched is not None
    assert (matched.route_class, matched.upstream_name) == (route_class, upstream)
    assert matched.upstream_base == f"http://{upstream}"


def test_longest_prefix_wins_whatever_the_order() -> None:
    routes = (
        Route("/a", "one", "public"),
        Route("/a/b/c", "three", "scanner"),
        Route("/a/b", "two", "account"),
    )
    table = RouteTable(routes, {"one": "u1", "two": "u2", "three": "u3"})
    found = {p: table.match(p) for p in ("/a", "/a/x", "/a/b", "/a/b/x", "/a/b/c", "/a/b/cd")}
    assert {p: m.upstream_name if m else None for p, m in found.items()} == {
        "/a": "one", "/a/x": "one", "/a/b": "two", "/a/b/x": "two", "/a/b/c": "three",
        "/a/b/cd": "two",
    }


def test_trailing_slash_in_a_configured_prefix_is_the_same_prefix() -> None:
    table = RouteTable((Route("/admin/", "app", "account"),), {"app": "u"})
    assert table.match("/admin") is not None
    assert table.match("/admin/x") is not None
    assert table.match("/adminx") is None


def test_no_catch_all_means_no_route() -> None:
    table = RouteTable((Route("/admin", "app", "account"),), {"app": "u"})
    assert table.match("/other") is None
