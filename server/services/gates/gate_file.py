"""The gate's TOML configuration file, written by ``gatepass-server gate add`` and ``rekey``.

The server never imports the gate's code: this module writes the sections and keys that
docs/gate.md and ``gatepass-gate check-config`` define (``[gate]``, ``[broker]``, ``[trust]``,
``[scanner]``, ``[thermometer]``, ``[policy]``), and the tests run that command on the result.
Python has no TOML writer in its standard library; the values here are only strings, integers,
floats, booleans and lists of those, which this small writer renders exactly.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import msgspec

from protocol.messages import Policy


@dataclass(frozen=True, slots=True)
class Hardware:
    """Which devices the gate reads and where (defaults: a Pi with a GM65 and a GY-MCU90614)."""

    hardware: str = "pi"
    data_dir: str = "/var/lib/gatepass"
    scanner_model: str = "grow-gm65"
    scanner_port: str = "/dev/gate-scanner"
    thermometer_model: str = "gy-mcu90614"
    thermometer_port: str = "/dev/serial0"


@dataclass(frozen=True, slots=True)
class GateFile:
    """Everything one gate's file holds."""

    site: str
    gate: str
    zone: int
    direction: str
    broker_host: str
    broker_port: int
    password: str
    root_key_hex: str
    policy: Policy
    hardware: Hardware
    tls_ca: str | None = None
    session_expiry_s: int = 2 * 86400


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("TOML floats here must be finite")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=True)  # a JSON string is a TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _section(name: str, values: dict[str, Any]) -> str:
    lines = [f"[{name}]"] + [f"{k} = {_value(v)}" for k, v in values.items() if v is not None]
    return "\n".join(lines) + "\n"


def render(spec: GateFile) -> str:
    """The whole file; the password is in it, so the caller writes it 0600."""
    hw = spec.hardware
    header = (
        f"# gatepass gate {spec.gate} of site {spec.site}, written by gatepass-server gate add.\n"
        "# Holds this gate's broker password: keep it 0600, copy it to the gate's\n"
        "# /etc/gatepass/gate.toml, check it with `gatepass-gate check-config FILE`,\n"
        "# then delete this copy (the server keeps only the password's hash).\n\n"
    )
    sections = [
        _section(
            "gate",
            {
                "site": spec.site,
                "id": spec.gate,
                "zone": spec.zone,
                "direction": spec.direction,
                "data_dir": hw.data_dir,
                "hardware": hw.hardware,
            },
        ),
        _section(
            "broker",
            {
                "host": spec.broker_host,
                "port": spec.broker_port,
                "username": spec.gate,
                "password": spec.password,
                "tls_ca": spec.tls_ca,
                "session_expiry_s": spec.session_expiry_s,
            },
        ),
        _section("trust", {"root_key": spec.root_key_hex}),
        _section("scanner", {"model": hw.scanner_model, "port": hw.scanner_port}),
        _section("thermometer", {"model": hw.thermometer_model, "port": hw.thermometer_port}),
        _section("policy", msgspec.to_builtins(spec.policy)),
    ]
    return header + "\n".join(sections)
