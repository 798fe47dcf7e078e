import aiohttp


async def test_json_request_with_token_is_forwarded_with_identity(gateway, recorder, tokens):
    async with aiohttp.ClientSession() as http:
        async with http.get(
            gateway.url + "/admin/events?x=1",
            headers={"Authorization": f"Bearer {tokens.read}", "Accept": "application/json"},
        ) as resp:
            assert resp.status == 200, await resp.text()
    got = recorder.last
    assert got.target == "/admin/events?x=1"
    assert got.values("X-Usetix-Account") == [str(tokens.account_a)]
    assert got.values("Authorization") == []


async def test_missing_token_is_401(gateway, recorder, tokens):
    async with aiohttp.ClientSession() as http:
        async with http.get(
            gateway.url + "/admin/events", headers={"Accept": "application/json"}
        ) as resp:
            assert resp.status == 401
            assert resp.headers["WWW-Authenticate"] == 'Bearer realm="usetix"'
            assert await resp.json() == {"error": "unauthorized", "reason": "missing_token"}
    assert recorder.received == []
