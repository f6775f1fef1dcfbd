"""A real mosquitto for tests: free loopback port, auth on, an ACL, started and stopped per test.

The broker is the project's actual dependency, so tests speak to it instead of a fake. Either
the test gives accounts and ACL lines, or ``Mosquitto.from_project(workdir, config_dir)`` runs
the directory ``gatepass-server broker-config`` wrote, overriding only the listener ports and
the paths of persistence and log (and ``user root`` when the tests run as root).
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
    config_dir: Path | None = None  # a directory written by gatepass-server broker-config
    tls_port: int = 0  # the project config's second (TLS) listener, if it has one
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @classmethod
    def from_project(cls, workdir: Path, config_dir: Path) -> Mosquitto:
        """A broker running the project's own generated configuration."""
        return cls(workdir, {}, "", config_dir=config_dir)

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def log_path(self) -> Path:
        return self.workdir / "mosquitto.log"

    def write_config(self) -> Path:
        """Write mosquitto.conf, the password file and the ACL; return the config path."""
        if self.config_dir is not None:
            return self._project_config(self.config_dir)
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
            "log_type error",  # one type per line: mosquitto reads only the first word
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
        ]
        if os.geteuid() == 0:
            lines.append(
                "user root"
            )  # keep files readable; a root broker would drop to 'mosquitto'
        conf = self.workdir / "mosquitto.conf"
        conf.write_text("\n".join(lines) + "\n" + self.extra_conf)
        return conf

    def _project_config(self, config_dir: Path) -> Path:
        """The generated mosquitto.conf with this test's ports, persistence dir and log file."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "data").mkdir(exist_ok=True)
        listeners = 0
        lines = []
        for line in (config_dir / "mosquitto.conf").read_text().splitlines():
            key = line.split(" ", 1)[0]
            if key == "listener":
                listeners += 1
                if listeners == 2 and not self.tls_port:
                    self.tls_port = free_port()
                port = self.port if listeners == 1 else self.tls_port
                lines.append(f"listener {port} 127.0.0.1")
            elif key == "persistence_location":
                lines.append(f"persistence_location {self.workdir / 'data'}/")
            elif key == "log_dest":
                lines.append(f"log_dest file {self.log_path}")
            else:
                lines.append(line)
        if os.geteuid() == 0:
            lines.append("user root")  # a root broker would drop to 'mosquitto' otherwise
        conf = self.workdir / "mosquitto.conf"
        conf.write_text("\n".join(lines) + "\n" + self.extra_conf)
        return conf

    def reload(self, timeout: float = READY_TIMEOUT) -> None:
        """SIGHUP: the broker re-reads password file and ACL; wait until it logged the reload."""
        assert self.process is not None
        before = self.log().count("Reloading config")
        self.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while self.log().count("Reloading config") <= before:
            if time.monotonic() > deadline:
                raise TimeoutError(f"mosquitto did not reload; log:\n{self.log()[-2000:]}")
            time.sleep(0.02)

    @property
    def persistence_file(self) -> Path:
        """Where the broker saves its in-memory database."""
        return self.workdir / "data" / "mosquitto.db"

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
