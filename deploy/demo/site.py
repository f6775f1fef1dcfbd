"""Build the demo site with the operator's own commands (docs/operations.md, "A site in five
commands"): ``init``, ``import residents``, ``gate add`` for each lane, ``broker-config``.

Nothing here writes the server's database or the broker's files directly; the only file the
demo edits afterwards are each gate's TOML, to set a documented key a real installer may also set
(``[broker] reconnect_max_s``; docs/gate.md, "Configuration"), and, as root, one line of the
broker's configuration (``user root``: see ``broker_config``).
"""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass
from pathlib import Path

from deploy.demo.procs import venv_bin
from deploy.demo.register import BLOCK_ZONE, MAIN_ZONE, Person, write_csv

SITE = "demo"
SITE_NAME = "幸福里社区"
RECONNECT_MAX_S = 5.0  # the cut lane reconnects within seconds of the network coming back
# The demo's root key passphrase: a real site's is typed at `init` and kept off the server; the
# running server never needs it (only `keys rotate|retire|passphrase` do).
ROOT_PASSPHRASE = "quiet lantern by the east gate"  # noqa: S105 - a demo site's, on purpose


class CommandFailed(RuntimeError):
    """An operator command exited non-zero; the message has its output."""


@dataclass(frozen=True, slots=True)
class Gate:
    """One lane of the demo site."""

    id: str
    zone: str
    direction: str
    name: str


GATES = (
    Gate("main-in", MAIN_ZONE, "in", "东门入口"),
    Gate("main-out", MAIN_ZONE, "out", "东门出口"),
    Gate("block-in", BLOCK_ZONE, "in", "周转房入口"),
)
CUT_GATE = "block-in"  # the lane whose network the demo cuts (through the proxy)


@dataclass(frozen=True, slots=True)
class Layout:
    """Where everything of one demo run lives, under one folder that is wiped at start."""

    root: Path

    @property
    def data(self) -> Path:
        """The server's data directory (registry.db, keys)."""
        return self.root / "site"

    @property
    def broker(self) -> Path:
        """The broker configuration ``broker-config`` writes."""
        return self.root / "broker"

    @property
    def logs(self) -> Path:
        """One log file per process."""
        return self.root / "logs"

    def lane(self, gate: str) -> Path:
        """A simulated lane: its store, its device links and its control sockets."""
        return self.root / "lanes" / gate

    def gate_file(self, gate: str) -> Path:
        """The file ``gate add`` wrote for the installer (the gate's password is in it; it is
        never kept in the server's data directory)."""
        return self.root / "gates" / f"{gate}.toml"


async def operator(*args: str, secret: str | None = None) -> str:
    """Run one ``gatepass-server`` command; its stdout, or CommandFailed with its output.
    ``secret`` is the root key's passphrase, handed over on a pipe (``--passphrase-fd``)."""
    fds: tuple[int, ...] = ()
    if secret is not None:
        read_end, write_end = os.pipe()
        with os.fdopen(write_end, "w", encoding="utf-8") as pipe:
            pipe.write(secret + "\n")  # a few bytes: the pipe holds them until read
        fds = (read_end,)
        args = (*args, "--passphrase-fd", str(read_end))
    try:
        proc = await asyncio.create_subprocess_exec(
            venv_bin("gatepass-server"),
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "GATEPASS_LOG_LEVEL": "WARNING"},
            pass_fds=fds,
        )
    finally:
        for fd in fds:
            os.close(fd)
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise CommandFailed(
            f"gatepass-server {' '.join(args[:2])} failed ({proc.returncode}):\n"
            f"{out.decode()}{err.decode()}"
        )
    return out.decode()


async def init_site(layout: Layout) -> str:
    """``init`` with the two zones; returns the admin's one-time password."""
    out = await operator(
        "init",
        "--data",
        str(layout.data),
        "--site",
        SITE,
        "--name",
        SITE_NAME,
        "--zone",
        MAIN_ZONE,
        "--zone",
        BLOCK_ZONE,
        secret=ROOT_PASSPHRASE,
    )
    found = re.search(r"one-time password[^:]*: (\S+)", out)
    if found is None:
        raise CommandFailed(f"init printed no one-time password:\n{out}")
    return found.group(1)


async def import_register(layout: Layout, people: list[Person]) -> None:
    """The office's register, as a CSV file, through ``import residents``."""
    csv_file = layout.root / "居民登记表.csv"
    write_csv(people, csv_file)
    await operator("import", "residents", "--data", str(layout.data), str(csv_file))


async def add_gate(layout: Layout, gate: Gate, broker_port: int, display_port: int) -> None:
    """``gate add`` for a simulated lane (mock pins; devices on the simulators' links), with
    its lane display on a loopback port of its own."""
    lane = layout.lane(gate.id)
    await operator(
        "gate",
        "add",
        gate.id,
        "--data",
        str(layout.data),
        "--zone",
        gate.zone,
        "--direction",
        gate.direction,
        "--name",
        gate.name,
        "--broker-host",
        "127.0.0.1",
        "--broker-port",
        str(broker_port),
        "--hardware",
        "sim",
        "--gate-data-dir",
        str(lane / "data"),
        "--scanner-port",
        str(lane / "scanner"),
        "--thermometer-port",
        str(lane / "thermo"),
        "--out",
        str(layout.gate_file(gate.id)),
    )
    set_broker_key(layout.gate_file(gate.id), "reconnect_max_s", RECONNECT_MAX_S)
    with layout.gate_file(gate.id).open("a") as out:
        out.write(f'\n[display]\nlisten = "127.0.0.1:{display_port}"\n')


def set_broker_key(path: Path, key: str, value: float) -> None:
    """Add one key to the file's ``[broker]`` section (the file stays 0600)."""
    lines = path.read_text().splitlines()
    if any(line.startswith(f"{key} =") for line in lines):
        raise CommandFailed(f"{path} already sets {key}")
    at = lines.index("[broker]") + 1
    lines.insert(at, f"{key} = {value!r}")
    path.write_text("\n".join(lines) + "\n")


async def broker_config(layout: Layout, port: int) -> Path:
    """``broker-config`` on a loopback port; the demo's broker runs as whoever runs the demo."""
    args = ["broker-config", "--data", str(layout.data), "--out", str(layout.broker)]
    await operator(*args, "--bind", "127.0.0.1", "--port", str(port))
    conf = layout.broker / "mosquitto.conf"
    if os.geteuid() == 0:
        # Started as root, mosquitto drops to the 'mosquitto' user, which cannot enter a clone
        # under /root (0700). An installation uses --group mosquitto and the system service
        # (docs/operations.md); the demo's loopback-only broker stays the invoking user.
        with conf.open("a") as out:
            out.write("\n# make demo: keep the invoking user (deploy/demo/site.py)\nuser root\n")
    return conf


async def build(
    layout: Layout, people: list[Person], ports: tuple[int, int], displays: dict[str, int]
) -> str:
    """The whole site (broker and proxy ports, a display port per lane); returns the admin's
    one-time password."""
    broker_port, proxy_port = ports
    password = await init_site(layout)
    await import_register(layout, people)
    for gate in GATES:
        port = proxy_port if gate.id == CUT_GATE else broker_port
        await add_gate(layout, gate, port, displays[gate.id])
    await broker_config(layout, broker_port)
    return password
