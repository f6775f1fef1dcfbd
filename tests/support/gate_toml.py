"""Write a gate's TOML config for a daemon started as a subprocess."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)  # a TOML basic string


def write_gate_toml(path: Path, sections: dict[str, dict[str, Any]]) -> Path:
    """Sections of plain values as TOML (enough for gate configs)."""
    lines: list[str] = []
    for name, values in sections.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {_value(value)}" for key, value in values.items()]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def sim_lane_sections(
    root: Path, *, site: str, gate: str, root_key: str, host: str, port: int, password: str
) -> dict[str, dict[str, Any]]:
    """A simulated entry lane's config: ``hardware = "sim"``, data in ``root/gate-data``, a Grow
        GM65 at ``root/scanner`` and a GY-MCU90614 at ``root/thermo`` (the simulators' links), and no
    vouching by the OS's clock synchronisation."""
    return {
        "gate": {
            "site": site,
            "id": gate,
            "zone": 1,
            "direction": "in",
            "data_dir": str(root / "gate-data"),
            "hardware": "sim",
        },
        "broker": {
            "host": host,
            "port": port,
            "username": gate,
            "password": password,
            "reconnect_max_s": 2.0,
        },
        "trust": {"root_key": root_key},
        "scanner": {"model": "grow-gm65", "port": str(root / "scanner")},
        "thermometer": {"model": "gy-mcu90614", "port": str(root / "thermo")},
        # the host's own NTP state must not decide a test: the server's answers vouch
        "clock": {"os_sync": "none"},
        # several lanes run at once in tests: each page on a free loopback port
        "display": {"listen": "127.0.0.1:0"},
    }
