"""Message framing both ways, on raw sockets (SPEC 2.8 and 4; BH-001, BH-005, BH-006,
BH-007, BH-009, BH-019, BH-028, BH-030, BI-08, BI-09, MH-01..04, MH-06..08)."""

from __future__ import annotations

import asyncio
import gzip
import json
import zlib

import pytest
from gateway_wire import BIG_JSON, REPORT, exchange, parse_responses, request_bytes

JSON = ("Accept", "application/json")
CLOSE = ("Connection", "close")


def bearer(token: str) -> tuple[str, str]:
    return ("Authorization", f"Bearer {token}")


# BH-001 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "accept_encoding", "decode"),
    [
        ("/admin/big.json", "gzip", gzip.decompress),
        ("/admin/big.json", "gzip, deflate", gzip.decompress),
        ("/admin/big-gzip-deflate.json", "gzip, deflate",
         lambda b: gzip.decompress(zlib.decompress(b))),
    ],
    ids=["gzip", "gzip asked as 'gzip, deflate'", "chained gzip, deflate"],
)
async def test_bh001_compressed_bodies_pass_unchanged(gateway, recorder, tokens, path,
                                                     accept_encoding, decode):
    """Decision (form a): bytes forwarded unchanged with the upstream's Content-Encoding and a
    Content-Length that matches them; the client decodes."""
    data = request_bytes("GET", path, [JSON, bearer(tokens.read),
                                       ("Accept-Encoding", accept_encoding), CLOSE])
    [response] = parse_responses((await exchange(gateway.port, data)).data, ["GET"])
    assert response.status == 200
    assert response.values("content-encoding") == [recorder_ce(path)]
    assert response.one("content-length") == str(len(response.body))
    assert json.loads(decode(response.body)) == json.loads(BIG_JSON)
    assert recorder.last.values("Accept-Encoding") == [accept_encoding]


def recorder_ce(path: str) -> str:
    return "gzip, deflate" if "deflate" in path else "gzip"


async def test_bh001_no_accept_encoding_gets_no_compressed_body(gateway, recorder, tokens):
    data = request_bytes("GET", "/admin/negotiated.json", [JSON, bearer(tokens.read), CLOSE])
    [response] = parse_responses((await exchange(gateway.port, data)).data, ["GET"])
    assert response.status == 200
    assert response.values("content-encoding") == []
    assert response.body == BIG_JSON
    # The gateway's client added nothing: no Accept-Encoding, Accept or User-Agent of its own.
    for name in ("Accept-Encoding", "User-Agent"):
        assert recorder.last.values(name) == []
    assert recorder.last.values("Accept") == ["application/json"]


# BH-005 ------------------------------------------------------------------------------------


async def test_bh005_chunked_response_has_one_framing_and_the_connection_stays_usable(
    gateway, recorder, tokens
):
    first = request_bytes("GET", "/admin/chunked", [JSON, bearer(tokens.read)])
    second = request_bytes("GET", "/admin/report.json", [JSON, bearer(tokens.read), CLOSE])
    raw = (await exchange(gateway.port, first + second)).data
    chunked, report = parse_responses(raw, ["GET", "GET"])  # h11: strict framing
    assert chunked.status == 200
    assert chunked.values("transfer-encoding") == ["chunked"]
    assert chunked.values("content-length") == []
    assert chunked.body == b'{"parts": [1, 2, 3]}'
    assert report.body == REPORT
    assert [r.target for r in recorder.received] == ["/admin/chunked", "/admin/report.json"]


# BH-006 ------------------------------------------------------------------------------------

COOKIES = ["a=1; Path=/; Expires=Wed, 21 Oct 2037 07:28:00 GMT", "b=2; Path=/"]


@pytest.mark.parametrize(
    ("path", "accept", "token"),
    [("/login/callback", "text/html", None), ("/admin/cookies", "application/json", "read")],
)
async def test_bh006_repeated_response_headers_keep_count_order_and_bytes(
    gateway, recorder, tokens, path, accept, token
):
    headers = [("Accept", accept), CLOSE]
    if token:
        headers.append(bearer(getattr(tokens, token)))
    raw = (await exchange(gateway.port, request_bytes("GET", path, headers))).data
    [response] = parse_responses(raw, ["GET"])
    assert response.status == 200
    assert response.values("set-cookie") == COOKIES
    assert response.values("link") == ['</a>; rel="next"', '</b>; rel="prev"']
    assert response.values("vary") == ["Accept", "Accept-Encoding"]
    for cookie in COOKIES:
        assert raw.count(b"Set-Cookie: " + cookie.encode() + b"\r\n") == 1


# BH-007 ------------------------------------------------------------------------------------


async def test_bh007_head_then_get_on_one_connection(gateway, recorder, tokens):
    head = request_bytes("HEAD", "/admin/report.json", [JSON, bearer(tokens.read)])
    get = request_bytes("GET", "/admin/report.json", [JSON, bearer(tokens.read), CLOSE])
    raw = (await exchange(gateway.port, head + get)).data
    head_response, get_response = parse_responses(raw, ["HEAD", "GET"])
    assert (head_response.status, get_response.status) == (200, 200)
    assert head_response.body == b""
    assert get_response.body == REPORT
    assert head_response.values("content-length") in ([str(len(REPORT))], [])
    for name in ("content-type", "etag"):
        assert head_response.values(name) == get_response.values(name)
    assert [r.method for r in recorder.received] == ["HEAD", "GET"]


async def test_bh007_bh030_head_without_token_is_401(gateway, recorder):
    data = request_bytes("HEAD", "/admin/report.json", [JSON, CLOSE])
    [response] = parse_responses((await exchange(gateway.port, data)).data, ["HEAD"])
    assert response.status == 401
    assert response.one("www-authenticate") == 'Bearer realm="usetix"'
    assert recorder.received == []


# BH-009 ------------------------------------------------------------------------------------


async def expect_exchange(port: int, head: bytes) -> tuple[bytes, bool]:
    """Send only the headers, then read what the gateway answers without any body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head)
        await writer.drain()
        data = b""
        while True:
            chunk = await asyncio.wait_for(reader.read(65536), 10)
            if not chunk:
                return data, True
            data += chunk
            if data.endswith(b"}") or data.endswith(b"100 Continue\r\n\r\n"):
                return data, False
    finally:
        writer.close()


@pytest.mark.parametrize("token", ["read", None, "revoked"])
async def test_bh009_refused_upload_gets_its_401_without_100_continue(gateway, recorder,
                                                                     tokens, token):
    headers = [JSON, ("Content-Type", "application/json"), ("Content-Length", "104857600"),
               ("Expect", "100-continue")]
    if token:
        headers.append(bearer(getattr(tokens, token)))
    data, _ = await expect_exchange(gateway.port, request_bytes("POST", "/admin/items", headers))
    assert b"100 Continue" not in data
    [response] = parse_responses(data + b"", ["POST"])
    assert response.status == 401
    assert response.one("www-authenticate").startswith('Bearer realm="usetix"')
    assert response.values("connection") == ["close"]  # the uninvited body is never read
    assert recorder.received == []


async def test_bh009_allowed_upload_is_invited_once_then_forwarded(gateway, recorder, tokens):
    body = b'{"name": "x"}'
    head = request_bytes("POST", "/admin/items", [
        JSON, bearer(tokens.rw), ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))), ("Expect", "100-continue"), CLOSE,
    ])
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
    try:
        writer.write(head)
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        assert recorder.received == []  # decided and invited before the upstream is asked
        writer.write(body)
        rest = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    [response] = parse_responses(rest, ["POST"])
    assert response.status == 200
    assert recorder.last.body == body
    assert recorder.last.values("Expect") == []


async def test_bh009_get_with_expect_gets_exactly_one_final_response(gateway, recorder, tokens):
    data = request_bytes("GET", "/admin/items", [JSON, bearer(tokens.read),
                                                 ("Expect", "100-continue"), CLOSE])
    got = await exchange(gateway.port, data)
    finals = [s for s in got.statuses if s >= 200]
    assert finals == [200]
    assert len(recorder.received) == 1
    assert recorder.last.values("Expect") == []


async def test_unknown_expectation_is_417(gateway, recorder, tokens):
    data = request_bytes("POST", "/admin/items", [JSON, bearer(tokens.rw), ("Expect", "magic"),
                                                  ("Content-Length", "0"), CLOSE])
    got = await exchange(gateway.port, data)
    assert got.statuses == [417]
    assert recorder.received == []


# BH-019 / MH-01..04 / MH-06: the gateway refuses what it cannot frame, before the upstream ----

SMUGGLED = b"GET /admin/users HTTP/1.1\r\nHost: up\r\n\r\n"


def framed(extra: list[tuple[str, str]], body: bytes, token: str) -> bytes:
    return request_bytes("POST", "/admin/items", [JSON, bearer(token), *extra], body)


AMBIGUOUS = {
    "BH-019 CL+TE": ([("Content-Length", "44"), ("Transfer-Encoding", "chunked")],
                     b"0\r\n\r\n" + SMUGGLED),
    "MH-02 two different CLs": ([("Content-Length", "5"), ("Content-Length", "6")],
                                b"hello!" + SMUGGLED),
    "two equal CLs": ([("Content-Length", "5"), ("Content-Length", "5")], b"hello" + SMUGGLED),
    "MH-02 CL +5": ([("Content-Length", "+5")], b"hello" + SMUGGLED),
    "MH-02 CL -1": ([("Content-Length", "-1")], SMUGGLED),
    "MH-02 CL 0x10": ([("Content-Length", "0x10")], SMUGGLED),
    "MH-02 CL 1_0": ([("Content-Length", "1_0")], SMUGGLED),
    "MH-02 CL full-width digit": ([("Content-Length", "\uff15".encode().decode("latin-1"))],
                                  b"hello" + SMUGGLED),
    "MH-03 TE chunked, chunked": ([("Transfer-Encoding", "chunked, chunked")],
                                  b"0\r\n\r\n" + SMUGGLED),
    "MH-03 TE chunked twice": ([("Transfer-Encoding", "chunked"),
                                ("Transfer-Encoding", "chunked")], b"0\r\n\r\n" + SMUGGLED),
    "MH-03 TE xchunked": ([("Transfer-Encoding", "xchunked")], b"0\r\n\r\n" + SMUGGLED),
    "MH-03 TE chunked, identity": ([("Transfer-Encoding", "chunked, identity")],
                                   b"0\r\n\r\n" + SMUGGLED),
    "MH-03 TE identity": ([("Transfer-Encoding", "identity")], b"0\r\n\r\n" + SMUGGLED),
    "MH-03 TE gzip only": ([("Transfer-Encoding", "gzip")], b"0\r\n\r\n" + SMUGGLED),
    "MH-03 TE non-ASCII case fold": ([("Transfer-Encoding", "chunKed".replace("K", "\u212a")
                                       .encode().decode("latin-1"))], b"0\r\n\r\n" + SMUGGLED),
    "MH-07 chunk size overflow": ([("Transfer-Encoding", "chunked")],
                                  b"ffffffffffffffffff\r\nx\r\n0\r\n\r\n" + SMUGGLED),
    "MH-07 chunk extension with LF": ([("Transfer-Encoding", "chunked")],
                                      b"5;ext=a\nb\r\nhello\r\n0\r\n\r\n" + SMUGGLED),
    "bad chunk size": ([("Transfer-Encoding", "chunked")], b"zz\r\nhello\r\n0\r\n\r\n"),
    "chunk data longer than its size": ([("Transfer-Encoding", "chunked")],
                                        b"2\r\nhello\r\n0\r\n\r\n" + SMUGGLED),
}


@pytest.mark.parametrize(("extra", "body"), list(AMBIGUOUS.values()), ids=list(AMBIGUOUS))
async def test_bh019_mh01_03_ambiguous_framing_is_400_and_closed(gateway, recorder, tokens,
                                                                 extra, body):
    got = await exchange(gateway.port, framed(extra, body, tokens.rw))
    assert got.statuses and got.statuses[0] in (400, 501)
    assert got.statuses == got.statuses[:1], "the pipelined request was answered"
    assert got.closed
    assert [r.target for r in recorder.received if r.target == "/admin/users"] == []
    assert all(r.method != "POST" for r in recorder.received)


async def test_bh019_get_with_a_body_is_forwarded_with_the_same_framing(gateway, recorder,
                                                                        tokens):
    """Decision: a GET with a well-formed Content-Length body is forwarded as it is (same
    body, same Content-Length), never re-framed."""
    data = request_bytes("GET", "/admin/items", [JSON, bearer(tokens.read), CLOSE],
                         b'{"filter": 1}')
    got = await exchange(gateway.port, data)
    assert got.statuses == [200]
    assert recorder.last.body == b'{"filter": 1}'
    assert recorder.last.values("Content-Length") == ["13"]
    assert recorder.last.values("Transfer-Encoding") == []


async def test_chunked_request_body_is_streamed_upstream(gateway, recorder, tokens):
    body = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    data = request_bytes("POST", "/admin/items", [JSON, bearer(tokens.rw),
                                                  ("Transfer-Encoding", "chunked"), CLOSE], body)
    got = await exchange(gateway.port, data)
    assert got.statuses == [200]
    assert recorder.last.body == b"hello world"


MALFORMED_HEAD = {
    "MH-04 bare LF line endings": b"GET /admin/items HTTP/1.1\nHost: gw.test\n"
                                  b"Accept: application/json\n\n",
    "MH-04 bare CR in a value": b"GET /admin/items HTTP/1.1\r\nHost: gw.test\r\n"
                                b"X-A: a\rb\r\n\r\n",
    "MH-04 obs-fold": b"GET /admin/items HTTP/1.1\r\nHost: gw.test\r\nX-A: a\r\n b\r\n\r\n",
    "MH-04 whitespace before colon": b"GET /admin/items HTTP/1.1\r\nHost: gw.test\r\n"
                                     b"X-A : b\r\n\r\n",
    "MH-04 NUL in a header name": b"GET /admin/items HTTP/1.1\r\nHost: gw.test\r\n"
                                  b"X-\x00A: b\r\n\r\n",
    "MH-06 HTTP/2.0": b"GET /admin/items HTTP/2.0\r\nHost: gw.test\r\n\r\n",
    "MH-06 HTTP/0.9": b"GET /admin/items\r\n\r\n",
    "MH-06 HTTP/1.2": b"GET /admin/items HTTP/1.2\r\nHost: gw.test\r\n\r\n",
    "BH-030 lowercase method": b"get /admin/items HTTP/1.1\r\nHost: gw.test\r\n\r\n",
    "BH-030 mixed-case method": b"gEt /admin/items HTTP/1.1\r\nHost: gw.test\r\n\r\n",
    "BH-030 unknown method FOO": b"FOO /admin/items HTTP/1.1\r\nHost: gw.test\r\n\r\n",
}


@pytest.mark.parametrize("data", list(MALFORMED_HEAD.values()), ids=list(MALFORMED_HEAD))
async def test_mh04_mh06_unparseable_requests_are_refused_and_closed(gateway, recorder, data):
    got = await exchange(gateway.port, data + SMUGGLED)
    assert got.statuses[:1] in ([400], [505]), got.data[:200]
    assert len(got.statuses) == 1
    assert got.closed
    assert recorder.received == []


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE",
                                    "PROPFIND"])
async def test_bh030_read_token_never_sends_another_method_upstream(gateway, recorder, tokens,
                                                                   method):
    data = request_bytes(method, "/admin/items", [JSON, bearer(tokens.read), CLOSE])
    [response] = parse_responses((await exchange(gateway.port, data)).data, [method])
    assert response.status == 401
    assert response.one("www-authenticate") == (
        'Bearer realm="usetix", error="insufficient_scope", scope="read+write"'
    )
    assert recorder.received == []


# BH-028, BI-08, BI-09: odd Authorization bytes -------------------------------------------


@pytest.mark.parametrize(
    "value",
    [b"Bearer \xff\xfeTOKEN_READ_0123456789", b"Bearer t\xc3\xa9st0123456789abcdef",
     b"Bearer \xe2\x80\x9c{t}\xe2\x80\x9d", b"Bearer {t}\xc3\xa9", b"B\xc3\xa9arer {t}"],
)
async def test_bh028_non_ascii_authorization_is_401_never_500(gateway, recorder, tokens, value):
    header = value.replace(b"{t}", tokens.read.encode())
    data = request_bytes("GET", "/admin/items", [JSON, ("Authorization", header), CLOSE])
    [response] = parse_responses((await exchange(gateway.port, data)).data, ["GET"])
    assert response.status == 401
    assert response.one("www-authenticate").startswith('Bearer realm="usetix"')
    assert recorder.received == []
    # ...and the gateway is still healthy.
    data = request_bytes("GET", "/admin/items", [JSON, bearer(tokens.read), CLOSE])
    assert (await exchange(gateway.port, data)).statuses == [200]


BAD_BYTES = {
    "BH-028 NUL": b"Bearer {a}\x00{b}",
    "BI-09 NUL at the end": b"Bearer {t}\x00",
    "BI-09 bare CR": b"Bearer {a}\r{b}",
    "BI-09 DEL": b"Bearer {t}\x7f",
    "BI-08 8 KiB": b"Bearer {t}" + b"A" * 8192,
    "BI-08 64 KiB": b"Bearer {t}" + b"A" * 65536,
}


def bad_request(tokens, template: bytes) -> bytes:
    token = tokens.read.encode()
    value = (template.replace(b"{t}", token).replace(b"{a}", token[:12])
             .replace(b"{b}", token[12:]))
    return request_bytes("GET", "/admin/items", [JSON, ("Authorization", value)])


@pytest.mark.parametrize("template", list(BAD_BYTES.values()), ids=list(BAD_BYTES))
async def test_bi08_bi09_unparseable_authorization_is_refused_by_the_parser(
    gateway, recorder, tokens, template
):
    got = await exchange(gateway.port, bad_request(tokens, template) + SMUGGLED)
    assert got.statuses[:1] in ([400], [431])
    assert len(got.statuses) == 1
    assert got.closed
    assert recorder.received == []


@pytest.mark.parametrize(
    "template",
    [BAD_BYTES["BH-028 NUL"], BAD_BYTES["BI-09 NUL at the end"], BAD_BYTES["BI-09 DEL"]],
    ids=["NUL", "NUL at the end", "DEL"],
)
async def test_parser_400_never_echoes_the_token(gateway, recorder, tokens, template):
    got = await exchange(gateway.port, bad_request(tokens, template))
    assert got.statuses == [400]
    token = tokens.read.encode()
    assert token[:12] not in got.data and token[12:] not in got.data


# MH-07, MH-08: bounded small loops -------------------------------------------------------


async def test_mh07_many_one_byte_chunks_are_forwarded_intact(gateway, recorder, tokens):
    count = 5000
    body = b"1\r\nx\r\n" * count + b"0\r\n\r\n"
    data = request_bytes("POST", "/admin/items", [JSON, bearer(tokens.rw),
                                                  ("Transfer-Encoding", "chunked"), CLOSE], body)
    got = await exchange(gateway.port, data)
    assert got.statuses == [200]
    assert recorder.last.body == b"x" * count


async def test_mh07_a_thousand_trailer_fields(gateway, recorder, tokens):
    trailers = b"".join(b"X-T%d: v\r\n" % i for i in range(1000))
    body = b"5\r\nhello\r\n0\r\n" + trailers + b"\r\n"
    data = request_bytes("POST", "/admin/items", [JSON, bearer(tokens.rw),
                                                  ("Transfer-Encoding", "chunked"), CLOSE], body)
    got = await exchange(gateway.port, data)
    # Either refused, or forwarded without any of them (trailers are not passed on).
    assert got.statuses[:1] in ([200], [400], [431])
    for received in recorder.received:
        assert not [k for k, _ in received.headers if k.startswith("X-T")]


@pytest.mark.parametrize("count", [129, 10_000])
async def test_mh08_many_headers(gateway, recorder, tokens, count):
    extra = [(f"X-H{i}", "v") for i in range(count)]
    data = request_bytes("GET", "/admin/items", [JSON, bearer(tokens.read), *extra, CLOSE])
    got = await exchange(gateway.port, data)
    # Decision: aiohttp's limits decide (it has no header-count limit; the total size does).
    if got.statuses == [200]:
        assert len(recorder.last.values("X-H0")) == 1
    else:
        assert got.statuses[:1] in ([400], [431])
        assert got.closed
        assert recorder.received == []


async def test_mh08_a_9kb_line_in_small_segments_is_refused(gateway, recorder, tokens):
    data = request_bytes("GET", "/admin/items", [JSON, ("X-Long", "a" * 9 * 1024), CLOSE])
    got = await exchange(gateway.port, data, segment=10)
    assert got.statuses[:1] in ([400], [431])
    assert got.closed
    assert recorder.received == []


async def test_mh06_http2_request_line_with_a_valid_token_is_505(gateway, recorder, tokens):
    """The parser reads "HTTP/2.0" as a version number; the gateway speaks only HTTP/1.x and
    must not answer (or forward) such a request as if it were one."""
    data = request_bytes(
        "GET", "/admin/items", [JSON, bearer(tokens.read), CLOSE]
    ).replace(b"HTTP/1.1", b"HTTP/2.0", 1)
    got = await exchange(gateway.port, data)
    assert got.statuses == [505]
    assert got.closed
    assert recorder.received == []
