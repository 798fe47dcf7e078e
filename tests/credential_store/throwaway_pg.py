"""A Postgres server of the test's own, to stop, kill and start again. Uses the binaries the
pip-installed pgserver package ships (so it works on a fresh machine without a system
Postgres); as root it runs them as pgserver's unprivileged user, as pgserver itself does."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import warnings
from pathlib import Path

SYSTEM_USER = "pgserver"


def binaries() -> Path:
    spec = importlib.util.find_spec("pgserver")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ThrowawayPostgres:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.port = _free_port()
        self.user: str | None = None
        if os.geteuid() == 0:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # platformdirs, on import of pgserver
                from pgserver.utils import ensure_user_exists

            ensure_user_exists(SYSTEM_USER)
            self.user = SYSTEM_USER
            shutil.chown(folder, SYSTEM_USER)
            folder.chmod(0o755)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, program: str, *args: str) -> None:
        subprocess.run(
            [str(binaries() / program), *args],
            check=True, user=self.user, capture_output=True, timeout=60,
        )

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "--auth=trust", "-U", "postgres", "-E", "utf8")

    def start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.folder} -F"
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.folder / "log"), "-o", options,
            "-w", "start",
        )

    def stop(self, mode: str = "fast") -> None:
        """fast: a clean shutdown; immediate: every process quits at once (a crash)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")
