"""The ``[voice]`` section picks the speaker (sim on a simulated lane, aplay on a Pi, or none)
and the simulated speaker records prompts, cut or finished, within its bound."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from device.config import ConfigError, validate
from device.voice.output import build_speaker, library, voice
from device.voice.player import AlsaPlayer
from device.voice.sim import SimSpeaker
from protocol.messages import Policy
from tests.support.gate_toml import sim_lane_sections


def settings(tmp_path: Path, hardware: str = "sim", **voice_keys: Any) -> Any:
    raw = sim_lane_sections(
        tmp_path,
        site="s1",
        gate="g1",
        root_key="0" * 64,
        host="127.0.0.1",
        port=1883,
        password="x" * 8,
    )
    raw["gate"]["hardware"] = hardware
    if voice_keys:
        raw["voice"] = voice_keys
    return validate(raw)


def test_the_speaker_follows_the_hardware_unless_set(tmp_path: Path) -> None:
    assert isinstance(build_speaker(settings(tmp_path)), SimSpeaker)
    player = build_speaker(settings(tmp_path, "pi", device="plughw:1,0"))
    assert isinstance(player, AlsaPlayer)
    assert player.device == "plughw:1,0"
    assert build_speaker(settings(tmp_path, output="off")) is None
    assert isinstance(build_speaker(settings(tmp_path, output="alsa")), AlsaPlayer)


def test_clip_folders_default_to_the_data_dir(tmp_path: Path) -> None:
    found = library(settings(tmp_path))
    assert found.roots == (Path("/etc/gatepass/voice"), tmp_path / "gate-data" / "voice")
    mine = library(settings(tmp_path, clips_dir="/opt/clips", recorded_dir="/srv/rec"))
    assert mine.roots == (Path("/srv/rec"), Path("/opt/clips"))


def test_bad_voice_keys_are_reported_with_their_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        settings(tmp_path, output="loud", volume=3)
    assert any(p.startswith("voice.output:") for p in caught.value.problems)
    assert "voice.volume: unknown key" in caught.value.problems


def test_the_simulator_gets_clip_ids_and_the_player_files(tmp_path: Path) -> None:
    sim = settings(tmp_path)
    assert voice(sim, SimSpeaker(), Policy, lambda: 0.0).library is None
    pi = settings(tmp_path, "pi")
    assert voice(pi, AlsaPlayer(), Policy, lambda: 0.0).library is not None


async def test_the_simulator_records_cut_and_finished_prompts() -> None:
    speaker = SimSpeaker(clip_s=0.05, keep=3)
    speaker.play(["step.measure"], 80)
    speaker.play([Path("/x/zh-CN/reason.expired.wav")], 30)
    assert [(p.clips, p.ended) for p in speaker.played] == [
        (("step.measure",), "cut"),
        (("reason.expired",), "playing"),
    ]
    await asyncio.sleep(0.1)
    assert speaker.played[-1].ended == "finished"
    for _ in range(5):
        speaker.play(["step.scan"], 80)
    assert len(speaker.played) == 3  # bounded
    assert speaker.counts["step.scan"] == 5  # the counts are not
    assert speaker.played[0].started <= speaker.played[-1].started
    await speaker.close()
    assert speaker.played[-1].ended == "cut"


def test_the_pin_map_docs_wiring_gives_for_an_i2s_amplifier_is_valid() -> None:
    from device.hardware.gpio.pins import PinMap

    pins = PinMap(buzzer=12, keypad_rows=(5, 6, 13, 26), keypad_cols=(16, 4, 7))
    assert not set(pins.pins()) & {18, 19, 20, 21}  # the PCM group the I2S overlay takes
    assert {18, 19, 20, 21} <= set(PinMap().pins())  # the defaults do collide (docs/wiring.md)


async def test_said_needs_the_simulated_speaker() -> None:
    from device.sim.control import SimControl

    answer = await SimControl(None, None, AlsaPlayer()).command("said")  # type: ignore[arg-type]
    assert answer == 'error no simulated speaker ([voice] output = "sim")'
    speaker = SimSpeaker()
    speaker.play(["step.measure"], 80)
    speaker.play(["reason.expired"], 80)
    speaker.play(["step.measure"], 80)
    said = await SimControl(None, None, speaker).command("said")  # type: ignore[arg-type]
    assert said == "ok reason.expired=1 step.measure=2"
    await speaker.close()
