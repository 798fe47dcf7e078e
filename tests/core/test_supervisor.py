import os
import socket
import subprocess
import sys

from usetix.config import load_settings
from usetix.supervisor import busy_ports


def test_a_held_port_is_reported_with_its_setting():
    with socket.create_server(("127.0.0.1", 0)) as held:
        port = held.getsockname()[1]
        settings = load_settings({}).replace(admin_ui={"port": port})
        assert busy_ports(settings) == [(f"127.0.0.1:{port}", "admin_ui.port")]


def test_usetix_run_refuses_to_start_on_a_busy_port_and_names_the_setting():
    """Before anything starts: a busy port would otherwise fool the readiness check into
    printing a false 'running' banner."""
    with socket.create_server(("127.0.0.1", 0)) as held:
        port = held.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "usetix.cli", "run"],
            env={**os.environ, "USETIX_GATEWAY_PORT": str(port)},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"127.0.0.1:{port} is already in use (gateway.port)" in result.stderr
    assert "USETIX_GATEWAY_PORT=" in result.stderr
    assert "Usetix is running" not in result.stdout
