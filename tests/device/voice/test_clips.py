"""The clip folders: a recorded clip replaces the generated one, a missing clip is logged once
and left out while the rest of the prompt still plays."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from device.core.cues import Cue, Phase
from device.voice.clips import ClipLibrary, clip_path
from device.voice.listen import Voice
from device.voice.sim import SimSpeaker
from protocol.messages import Policy
from tests.device.voice.conftest import write_tone


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    recorded, generated = tmp_path / "recorded", tmp_path / "generated"
    for clip in ("step.measure", "reason.expired", "temperature.unit"):
        write_tone(clip_path(generated, "zh-CN", clip))
    write_tone(clip_path(recorded, "zh-CN", "reason.expired"))
    return recorded, generated


def test_a_recorded_clip_wins(folders: tuple[Path, Path]) -> None:
    recorded, generated = folders
    library = ClipLibrary((recorded, generated))
    assert library.find("reason.expired", "zh-CN") == recorded / "zh-CN" / "reason.expired.wav"
    assert library.find("step.measure", "zh-CN") == generated / "zh-CN" / "step.measure.wav"
    assert library.find("step.measure", "en") is None  # per language


async def test_a_missing_clip_is_logged_once_and_the_rest_plays(
    folders: tuple[Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    library = ClipLibrary(folders)
    speaker = SimSpeaker()
    voice = Voice(speaker, Policy, lambda: 0.0, library)
    cue = Cue(Phase.RESULT, "reason.expired", ("temperature.whole.36", "reason.expired"))
    with caplog.at_level(logging.WARNING, logger="device.voice.clips"):
        voice(cue)
        voice(cue)
    assert [p.clips for p in speaker.played] == [("reason.expired",), ("reason.expired",)]
    missing = [r for r in caplog.records if "temperature.whole.36" in r.getMessage()]
    assert len(missing) == 1


def test_clip_ids_cannot_leave_their_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a clip id"):
        clip_path(tmp_path, "zh-CN", "../etc/passwd")
