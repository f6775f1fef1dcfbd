"""The gate's TOML configuration: one strict model, every error reported with its key.

``gatepass-gate check-config FILE`` prints every problem (not just the first) and exits
non-zero. Unknown sections and keys are errors, types are never coerced, secrets are redacted
whenever the effective configuration is logged. docs/gate.md lists every key.
"""

from __future__ import annotations

import ipaddress
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from protocol.messages import LaneDirection, Policy
from protocol.schema import ID_PATTERN

__all__ = ["ConfigError", "GateSettings", "load", "redacted", "validate"]

Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]
Pin = Annotated[int, msgspec.Meta(ge=0, le=27)]
SECRET_KEYS = {"password"}


class ConfigError(ValueError):
    """The configuration is invalid; ``problems`` lists every error as "key: reason"."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class _Section(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Base for config sections: immutable, unknown keys refused."""


class GateSection(_Section, frozen=True, kw_only=True):
    """Who this gate is."""

    site: Annotated[str, msgspec.Meta(pattern=ID_PATTERN)]
    id: Annotated[str, msgspec.Meta(pattern=ID_PATTERN)]
    zone: Annotated[int, msgspec.Meta(ge=0)]
    direction: LaneDirection
    data_dir: str = "/var/lib/gatepass"
    hardware: Literal["pi", "sim"] = "pi"


class BrokerSection(_Section, frozen=True, kw_only=True):
    """How to reach the broker with this gate's own account."""

    host: str
    port: Port = 1883
    username: str
    password: Annotated[str, msgspec.Meta(min_length=8)]
    tls_ca: str | None = None
    keepalive_s: Annotated[int, msgspec.Meta(ge=5, le=600)] = 8  # silence noticed in 2 x this
    session_expiry_s: Annotated[int, msgspec.Meta(ge=60, le=30 * 86400)] = 7 * 86400
    reconnect_max_s: Annotated[float, msgspec.Meta(ge=1.0, le=300.0)] = 30.0


class TrustSection(_Section, frozen=True, kw_only=True):
    """The site's root public key, pinned at provisioning (hex of the raw 32 bytes)."""

    root_key: Annotated[str, msgspec.Meta(pattern=r"\A[0-9a-f]{64}\Z")]


class ScannerSection(_Section, frozen=True, kw_only=True):
    """The QR scanner: model name and port URL (a device path, pty, or socket:// URL)."""

    model: Literal["grow-gm65", "grow-gm805", "grow-gm861", "line"]
    port: str
    baud: Annotated[int, msgspec.Meta(ge=1200, le=921600)] | None = None


class ThermometerSection(_Section, frozen=True, kw_only=True):
    """The IR thermometer: model, port URL, baud, and the skin-to-body distance offset."""

    model: Literal["gy-mcu90614", "gy-mcu90615", "modbus-ir"]
    port: str
    baud: Annotated[int, msgspec.Meta(ge=1200, le=921600)] | None = None
    offset_c: Annotated[float, msgspec.Meta(ge=-5.0, le=5.0)] = 0.0


class PinsSection(_Section, frozen=True, kw_only=True):
    """BCM pin numbers (docs/wiring.md); omitted keys keep the default map."""

    relay: Pin = 17
    relay_active_high: bool = True
    led_green: Pin = 27
    led_red: Pin = 22
    buzzer: Pin = 18
    button: Pin = 23
    door: Pin | None = 24
    lockdown_key: Pin | None = 25
    keypad_rows: tuple[Pin, ...] | None = (5, 6, 13, 19)
    keypad_cols: tuple[Pin, ...] | None = (16, 20, 21)


class OutboxSection(_Section, frozen=True, kw_only=True):
    """The bound on buffered events and how fast a backlog drains."""

    max_events: Annotated[int, msgspec.Meta(ge=100, le=10_000_000)] = 200_000
    drain_batch: Annotated[int, msgspec.Meta(ge=1, le=5000)] = 500
    drain_rate: Annotated[int, msgspec.Meta(ge=10, le=100_000)] = 3000  # events/s, at most
    resend_after_s: Annotated[float, msgspec.Meta(ge=1.0, le=600.0)] = 15.0


class ClockSection(_Section, frozen=True, kw_only=True):
    """What vouches for the clock (design.md 4.2 clock rules, docs/gate.md "Clock trust"): a
    battery-backed RTC (a Pi 4 has none), the OS's own synchronisation (``os_sync``: the
    kernel's NTP state, or ``none``), and the server's signed time answers, asked at connect,
    every ``resync_s`` and every few seconds while the clock is untrusted, taken only with a
    round trip up to ``max_rtt_s`` and a difference up to ``max_server_skew_s``."""

    rtc: bool = False
    os_sync: Literal["kernel", "none"] = "kernel"
    max_server_skew_s: Annotated[int, msgspec.Meta(ge=1, le=3600)] = 120
    max_rtt_s: Annotated[float, msgspec.Meta(ge=0.05, le=30.0)] = 2.0
    resync_s: Annotated[int, msgspec.Meta(ge=30, le=86400)] = 600


class VoiceSection(_Section, frozen=True, kw_only=True):
    """The lane's speaker (docs/lane.md "Voice prompts"): ``output`` is ``alsa`` (aplay on
    ``device``), ``sim`` (recorded in memory, the default with ``hardware = "sim"``) or
    ``off``; clips come from ``recorded_dir`` first, then ``clips_dir`` (the generated set,
    ``<data_dir>/voice`` unless set)."""

    output: Literal["alsa", "sim", "off"] | None = None  # None: by [gate] hardware
    device: Annotated[str, msgspec.Meta(min_length=1)] = "default"
    clips_dir: str | None = None
    recorded_dir: str = "/etc/gatepass/voice"


def listen_address(listen: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:port`` for IPv6) of a loopback address; ValueError otherwise: the
    lane display serves the kiosk on this Pi only (docs/lane.md "Screen and kiosk")."""
    host, colon, port = listen.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not colon or not port.isdecimal() or not 0 <= int(port) <= 65535:
        raise ValueError(f"listen {listen!r}: expected host:port (port 0: any free one)")
    if host != "localhost":
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ValueError(f"listen {listen!r}: the lane display listens on loopback only")
    return host, int(port)


class DisplaySection(_Section, frozen=True, kw_only=True):
    """The lane display's page for the kiosk screen: on by default, loopback only, a bounded
    number of live streams."""

    enabled: bool = True
    listen: str = "127.0.0.1:8090"
    max_streams: Annotated[int, msgspec.Meta(ge=1, le=64)] = 8

    def __post_init__(self) -> None:
        listen_address(self.listen)

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) to bind."""
        return listen_address(self.listen)


class GateSettings(_Section, frozen=True, kw_only=True):
    """The whole gate configuration file."""

    gate: GateSection
    broker: BrokerSection
    trust: TrustSection
    scanner: ScannerSection
    thermometer: ThermometerSection
    pins: PinsSection = PinsSection()
    policy: Policy = Policy()
    outbox: OutboxSection = OutboxSection()
    clock: ClockSection = ClockSection()
    voice: VoiceSection = VoiceSection()
    display: DisplaySection = DisplaySection()

    @property
    def client_id(self) -> str:
        """The MQTT client id: the account's username, the one the broker enforces anyway
        (``use_username_as_clientid``), so the persistent session keeps one stable id."""
        return self.broker.username

    @property
    def voice_output(self) -> str:
        """The speaker to build: as set, else ``sim`` for a simulated lane and ``alsa`` on a Pi."""
        if self.voice.output is not None:
            return self.voice.output
        return "sim" if self.gate.hardware == "sim" else "alsa"

    @property
    def voice_clips_dir(self) -> Path:
        """Where the generated clips are (``<data_dir>/voice`` unless set)."""
        return Path(self.voice.clips_dir or Path(self.gate.data_dir) / "voice")


def validate(raw: dict[str, Any]) -> GateSettings:
    """Check every section and key; raise ConfigError listing all problems."""
    problems: list[str] = []
    fields = {f.name: f for f in msgspec.structs.fields(GateSettings)}
    problems += [f"[{name}]: unknown section" for name in raw if name not in fields]
    for name, info in fields.items():
        if name not in raw:
            if info.required:
                problems.append(f"[{name}]: missing section")
            continue
        problems += _section_problems(name, raw[name], info.type)
    if problems:
        raise ConfigError(problems)
    return msgspec.convert(raw, GateSettings, strict=True)


def _section_problems(name: str, value: Any, section: Any) -> list[str]:
    """Every problem in one section, checked key by key so that none hides another."""
    if not isinstance(value, dict):
        return [f"[{name}]: must be a table"]
    fields = {f.name: f for f in msgspec.structs.fields(section)}
    problems = [f"{name}.{key}: unknown key" for key in value if key not in fields]
    for key, info in fields.items():
        if key not in value:
            if info.required:
                problems.append(f"{name}.{key}: missing")
            continue
        try:
            msgspec.convert(value[key], info.type, strict=True)
        except msgspec.ValidationError as exc:
            problems.append(f"{name}.{key}: {exc}")
    if not problems:
        try:
            msgspec.convert(value, section, strict=True)
        except msgspec.ValidationError as exc:
            problems.append(f"[{name}]: {exc}")
    return problems


def load(path: Path) -> GateSettings:
    """Read and validate a TOML file; ConfigError for unreadable files and bad TOML too."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: not valid TOML: {exc}"]) from None
    return validate(raw)


def redacted(settings: GateSettings) -> dict[str, Any]:
    """The effective configuration as plain data with every secret replaced."""
    data: dict[str, Any] = msgspec.to_builtins(settings)
    for section in data.values():
        if isinstance(section, dict):
            for key in SECRET_KEYS & section.keys():
                section[key] = "***"
    return data
