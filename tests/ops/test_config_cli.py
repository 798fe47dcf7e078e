"""Configuration through the real CLI: an invalid config refuses to start and names the key;
`usetix check-config` prints the effective config with secrets masked (SPEC 7)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ops_wire import cli_env, run_cli

BAD_CONFIGS = {
    "bad-toml": ("[gateway\nport = 1\n", "not valid TOML"),
    "unknown-key": ("[gateway]\nprot = 8080\n", "gateway.prot"),
    "unknown-section": ("[gatewya]\nport = 8080\n", "gatewya"),
    "wrong-type": ('[gateway]\nport = "eighty"\n', "gateway.port"),
    "negative": ("[gateway]\nmax_body_account = -1\n", "gateway.max_body_account"),
    "bad-timeout": ("[gateway]\nshutdown_grace = 0\n", "gateway.shutdown_grace"),
    "bad-event-loop": ('[gateway]\nevent_loop = "trio"\n', "gateway.event_loop"),
    "bad-route-class": (
        '[[gateway.routes]]\nprefix = "/x"\nupstream = "app"\nclass = "secret"\n',
        "gateway.routes[0].class",
    ),
    "unknown-upstream": (
        '[[gateway.routes]]\nprefix = "/x"\nupstream = "nowhere"\nclass = "public"\n',
        "gateway.routes[0].upstream",
    ),
}


@pytest.mark.parametrize("command", ["check-config", "gateway"])
@pytest.mark.parametrize("name", sorted(BAD_CONFIGS))
def test_an_invalid_config_refuses_to_start_naming_the_key(settings, tmp_path, command, name):
    text, key = BAD_CONFIGS[name]
    path = tmp_path / "bad.toml"
    path.write_text(text)
    result = run_cli(command, env=cli_env(settings, path), timeout=30)
    assert result.returncode != 0
    assert "invalid configuration" in result.stderr
    assert key in result.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [("USETIX_GATEWAY_PORT", "http"), ("USETIX_GATEWAY_SHUTDOWN_GRACE", "soon")],
)
def test_an_invalid_environment_override_names_the_variable(settings, variable, value):
    result = run_cli("gateway", env=cli_env(settings, **{variable: value}), timeout=30)
    assert result.returncode != 0
    assert variable in result.stderr


def test_check_config_prints_the_effective_config_with_secrets_masked(settings, tmp_path: Path):
    env = cli_env(
        settings,
        USETIX_SECRETS_IDENTITY_KEY="identity-secret-value",
        USETIX_SECRETS_SESSION_KEY="session-secret-value",
        DATABASE_URL="postgresql://usetix:db-password@db.internal:5432/usetix",
        USETIX_GATEWAY_SHUTDOWN_GRACE="12.5",
        USETIX_GATEWAY_MAX_BODY_SCANNER="2048",
    )
    result = run_cli("check-config", env=env, timeout=30)
    assert result.returncode == 0, result.stderr
    for secret in ("identity-secret-value", "session-secret-value", "db-password"):
        assert secret not in result.stdout
    config = json.loads(result.stdout)
    assert config["secrets"] == {"identity_key": "***", "session_key": "***"}
    assert config["database"]["url"] == "postgresql://usetix:***@db.internal:5432/usetix"
    assert config["gateway"]["shutdown_grace"] == 12.5
    assert config["gateway"]["max_body_scanner"] == 2048
    assert config["gateway"]["ops_port"] == 9180
