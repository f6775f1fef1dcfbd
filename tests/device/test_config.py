"""The gate's TOML configuration is strict and reports every error with its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from device.config import ConfigError, load, redacted, validate

GOOD = """
[gate]
site = "gw01"
id = "east-in"
zone = 1
direction = "in"

[broker]
host = "127.0.0.1"
username = "east-in"
password = "a-long-secret"

[trust]
root_key = "{key}"

[scanner]
model = "grow-gm65"
port = "/dev/ttyUSB0"

[thermometer]
model = "gy-mcu90614"
port = "/dev/serial0"
offset_c = 2.3

[policy]
fever_threshold_c = 37.5
""".replace("{key}", "ab" * 32)


def test_good_file(tmp_path: Path) -> None:
    path = tmp_path / "gate.toml"
    path.write_text(GOOD)
    settings = load(path)
    assert settings.client_id == "east-in"
    assert settings.policy.fever_threshold_c == 37.5
    assert settings.policy.retests == 1  # default kept
    assert settings.pins.relay == 17
    assert redacted(settings)["broker"]["password"] == "***"
    assert "a-long-secret" not in repr(redacted(settings))


def test_every_error_is_reported_with_its_key() -> None:
    raw = {
        "gate": {"site": "GW", "id": "east-in", "zone": "1", "direction": "sideways", "x": 1},
        "broker": {"host": "h", "username": "u", "password": "short", "port": 70000},
        "scanner": {"model": "acme", "port": 3},
        "thermometer": {"model": "gy-mcu90614", "port": "p", "offset_c": float("nan")},
        "policy": {"fever_threshold_c": 50},
        "bogus": {},
    }
    with pytest.raises(ConfigError) as caught:
        validate(raw)
    keys = [p.split(":")[0] for p in caught.value.problems]
    in_order = ["[bogus]", "gate.x", "gate.site", "gate.zone", "gate.direction"]
    in_order += ["broker.port", "broker.password", "[trust]", "scanner.model", "scanner.port"]
    in_order += ["thermometer.offset_c", "policy.fever_threshold_c"]
    assert keys == in_order


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[gate\nsite=1", "not valid TOML"),
        ("gate = 3", r"\[gate\]: must be a table"),
        ("\xff", "not valid TOML"),
    ],
)
def test_unreadable_files(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "gate.toml"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(ConfigError, match=match):
        load(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load(tmp_path / "nope.toml")


def test_check_config_command(tmp_path: Path) -> None:
    import subprocess
    import sys

    good, bad = tmp_path / "good.toml", tmp_path / "bad.toml"
    good.write_text(GOOD)
    bad.write_text(GOOD.replace("zone = 1", 'zone = "one"').replace("grow-gm65", "acme"))
    exe = Path(sys.executable).parent / "gatepass-gate"
    ok = subprocess.run([exe, "check-config", good], capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    assert '"password": "***"' in ok.stdout
    no = subprocess.run([exe, "check-config", bad], capture_output=True, text=True, check=False)
    assert no.returncode == 1
    assert "gate.zone: Expected `int`, got `str`" in no.stderr
    assert "scanner.model: Invalid enum value 'acme'" in no.stderr


@pytest.mark.parametrize(("rate", "ok"), [(3000, True), (10, True), (0, False), (10**6, False)])
def test_the_drain_rate_is_bounded(tmp_path: Path, rate: int, ok: bool) -> None:
    path = tmp_path / "gate.toml"
    path.write_text(GOOD + f"\n[outbox]\ndrain_rate = {rate}\n")
    if ok:
        assert load(path).outbox.drain_rate == rate
    else:
        with pytest.raises(ConfigError, match=r"outbox\.drain_rate"):
            load(path)
