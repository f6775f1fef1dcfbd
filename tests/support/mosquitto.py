"""A real mosquitto for tests: free loopback port, auth on, an ACL, started and stopped per test.

The broker is the project's actual dependency, so tests speak to it instead of a fake. Accounts
and ACL lines come from the test (later: from the server's own broker-config generator).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

READY_TIMEOUT = 10.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_password_file(path: Path, accounts: dict[str, str]) -> None:
    """Hash each account into a mosquitto password file with mosquitto_passwd."""
    path.write_text("")
    for username, password in accounts.items():
        subprocess.run(
            ["mosquitto_passwd", "-b", str(path), username, password],
            check=True,
            capture_output=True,
        )


def acl_text(
    user_rules: dict[str, Iterable[tuple[str, str]]], patterns: Iterable[tuple[str, str]]
) -> str:
    """An ACL file: ``user`` blocks with ``topic`` lines, then ``pattern`` lines for everyone."""
    lines: list[str] = []
    for access, topic in patterns:
        lines.append(f"pattern {access} {topic}")
    for user, rules in user_rules.items():
        lines += ["", f"user {user}"] + [f"topic {access} {topic}" for access, topic in rules]
    return "\n".join(lines) + "\n"


@dataclass
class Mosquitto:
    """One broker process bound to 127.0.0.1 on its own port, with its files in ``workdir``."""

    workdir: Path
    accounts: dict[str, str]
    acl: str
    persistence: bool = True
    extra_conf: str = ""
    port: int = 0
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def log_path(self) -> Path:
        return self.workdir / "mosquitto.log"

    def write_config(self) -> Path:
        """Write mosquitto.conf, the password file and the ACL; return the config path."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "data").mkdir(exist_ok=True)
        write_password_file(self.workdir / "passwd", self.accounts)
        (self.workdir / "acl").write_text(self.acl)
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous false",
            f"password_file {self.workdir / 'passwd'}",
            f"acl_file {self.workdir / 'acl'}",
            f"persistence {'true' if self.persistence else 'false'}",
            f"persistence_location {self.workdir / 'data'}/",
            f"log_dest file {self.log_path}",
            "log_type error warning notice information",
            "connection_messages true",
        ]
        if os.geteuid() == 0:
            lines.append(
                "user root"
            )  # keep files readable; a root broker would drop to 'mosquitto'
        conf = self.workdir / "mosquitto.conf"
        conf.write_text("\n".join(lines) + "\n" + self.extra_conf)
        return conf

    def start(self) -> None:
        """Start the broker and wait until it accepts TCP connections; retry on a port clash."""
        for _attempt in range(3):
            if not self.port:
                self.port = free_port()
            conf = self.write_config()
            self.process = subprocess.Popen(
                ["mosquitto", "-c", str(conf)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            if self._wait_ready():
                return
            self.stop()
            self.port = 0
        raise RuntimeError(f"mosquitto did not start; log:\n{self.log()}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                return False
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return True
            except OSError:
                time.sleep(0.02)
        return False

    def stop(self) -> None:
        """Graceful stop (SIGTERM): the broker saves its persistence file."""
        self._end(signal.SIGTERM)

    def kill(self) -> None:
        """Crash stop (SIGKILL): whatever was only in memory is lost."""
        self._end(signal.SIGKILL)

    def restart(self) -> None:
        """Start again on the same port with the same files."""
        self.stop()
        self.start()

    def _end(self, sig: signal.Signals) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.process.stderr is not None:
            self.process.stderr.close()
        self.process = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
