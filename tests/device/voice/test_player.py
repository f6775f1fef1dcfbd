"""The ALSA player with the real aplay on ALSA's null device: a prompt is joined and fed, a new
prompt cuts the one before it, a failing device is logged once and never raised."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import wave
from pathlib import Path

import pytest

from device.voice.player import AlsaPlayer, gathered, scaled
from tests.device.voice.conftest import needs_aplay, write_tone

pytestmark = needs_aplay


async def test_a_prompt_plays_to_the_end(tmp_path: Path) -> None:
    clips = [write_tone(tmp_path / f"{n}.wav") for n in range(3)]
    player = AlsaPlayer("null")
    player.play(clips, 80)
    await player.wait()
    assert player.outcomes == ["finished"]
    assert player.fed_at is not None
    await player.close()


async def test_a_new_prompt_cuts_the_one_playing(tmp_path: Path) -> None:
    first = [write_tone(tmp_path / "long.wav", seconds=3.0)]
    second = [write_tone(tmp_path / "short.wav")]
    player = AlsaPlayer("null")
    player.play(first, 80)
    await asyncio.sleep(0)  # the first prompt's task has started
    player.play(second, 80)
    await player.wait()
    assert player.outcomes == ["cut", "finished"]
    await player.close()


async def test_a_new_prompt_kills_the_aplay_playing(tmp_path: Path) -> None:
    """ALSA's file plugin writing into a FIFO nobody reads yet holds aplay mid-prompt (a real
    aplay, blocked as on a slow card); the next prompt kills it, then plays to the reader."""
    fifo = tmp_path / "speaker.fifo"
    os.mkfifo(fifo)
    long_clip = write_tone(tmp_path / "long.wav", seconds=3.0)
    short_clip = write_tone(tmp_path / "short.wav", seconds=0.5)
    player = AlsaPlayer(f"file:FILE={fifo},FORMAT=raw")
    player.play([long_clip], 100)
    await asyncio.wait_for(player.fed.wait(), 10)
    first = player.process
    assert first is not None
    player.play([short_clip], 100)
    assert await asyncio.wait_for(first.wait(), 10) == -signal.SIGKILL
    heard = await asyncio.wait_for(asyncio.to_thread(fifo.read_bytes), 10)
    await player.wait()
    assert player.outcomes == ["cut", "finished"]
    with wave.open(str(short_clip), "rb") as clip:
        expected = clip.readframes(clip.getnframes())
    assert heard[: len(expected)] == expected  # the second prompt, whole, and not the first


async def test_a_failing_device_is_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clip = [write_tone(tmp_path / "a.wav")]
    player = AlsaPlayer("no-such-device")
    with caplog.at_level(logging.ERROR, logger="device.voice.player"):
        for _ in range(3):
            player.play(clip, 80)
            await player.wait()
    assert player.outcomes == ["failed"] * 3
    errors = [r.getMessage() for r in caplog.records]
    assert len(errors) == 1
    assert "no-such-device" in errors[0]


async def test_a_missing_aplay_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    player = AlsaPlayer("null", aplay=str(tmp_path / "no-aplay"))
    with caplog.at_level(logging.ERROR, logger="device.voice.player"):
        player.play([write_tone(tmp_path / "a.wav")], 80)
        await player.wait()
    assert player.outcomes == ["failed"]
    assert "cannot start" in caplog.text


def test_clips_of_another_format_are_left_out(tmp_path: Path) -> None:
    a = write_tone(tmp_path / "a.wav", rate=22050)
    b = write_tone(tmp_path / "b.wav", rate=16000)
    broken = tmp_path / "c.wav"
    broken.write_bytes(b"not a wav")
    shape, frames, problems = gathered([a, b, broken, tmp_path / "gone.wav", a])
    assert len(problems) == 3
    assert "b.wav: 16000 Hz" in problems[0]
    assert (shape.rate, shape.channels) == (22050, 1)
    with wave.open(str(a), "rb") as clip:
        assert frames == clip.readframes(clip.getnframes()) * 2


def test_a_prompt_of_no_readable_clip_is_not_played(tmp_path: Path) -> None:
    assert gathered([tmp_path / "gone.wav"])[:2] == (None, b"")


def test_volume_scales_and_clips_samples() -> None:
    import array

    samples = array.array("h", [1000, -1000, 32767, -32768]).tobytes()
    assert array.array("h", scaled(samples, 50)).tolist() == [500, -500, 16383, -16384]
    assert scaled(samples, 100) == samples
    assert array.array("h", scaled(samples, 0)).tolist() == [0, 0, 0, 0]
    assert array.array("h", scaled(samples, 80)).tolist() == [800, -800, 26213, -26214]


async def test_a_prompt_longer_than_one_chunk_is_fed_whole(tmp_path: Path) -> None:
    player = AlsaPlayer("null")
    player.play([write_tone(tmp_path / "long.wav", seconds=2.0)], 50)
    await player.wait()
    assert player.outcomes == ["finished"]
