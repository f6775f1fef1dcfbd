"""Render the whole clip set with the real espeak-ng (both languages, into tmp_path): every clip
is a readable, mono 16-bit, non-silent WAV; a second render skips every unchanged clip."""

from __future__ import annotations

import array
import json
import math
import shutil
import sys
import wave
from pathlib import Path

import pytest

from device.voice.clips import clip_path
from device.voice.render import (
    MANIFEST,
    RenderError,
    espeak_input,
    pinyin_text,
    render,
    render_language,
)
from protocol.wording import LANGUAGES, clip_texts


@pytest.fixture(autouse=True)
def _espeak_ng() -> None:
    """Rendering needs the real espeak-ng: make sysdeps installs it, so a missing one fails."""
    assert shutil.which("espeak-ng") is not None, "espeak-ng not found: make sysdeps installs it"


MIN_SECONDS = 0.2
MIN_RMS = 300  # of 32767: espeak-ng speech is in the thousands, silence is 0


def rms(path: Path) -> tuple[float, float]:
    """Seconds and RMS level of a mono 16-bit WAV (fails if it is not one)."""
    with wave.open(str(path), "rb") as clip:
        assert (clip.getnchannels(), clip.getsampwidth()) == (1, 2), path.name
        seconds = clip.getnframes() / clip.getframerate()
        samples = array.array("h", clip.readframes(clip.getnframes()))
    if sys.byteorder == "big":
        samples.byteswap()
    level = math.sqrt(sum(s * s for s in samples) / max(1, len(samples)))
    return seconds, level


def test_the_whole_set_renders_audible_and_rerenders_only_what_changed(tmp_path: Path) -> None:
    done = render(tmp_path)
    assert [(d.language, d.skipped) for d in done] == [(lang, 0) for lang in LANGUAGES]
    for language in LANGUAGES:
        texts = clip_texts(language)
        assert {d.language: d.rendered for d in done}[language] == len(texts)
        for clip in texts:
            seconds, level = rms(clip_path(tmp_path, language, clip))
            assert seconds > MIN_SECONDS, (language, clip, seconds)
            assert level > MIN_RMS, (language, clip, level)
        assert not list((tmp_path / language).glob(".*.tmp"))  # nothing half-written left
    again = render(tmp_path)
    assert [(d.rendered, d.skipped) for d in again] == [
        (0, len(clip_texts(lang))) for lang in LANGUAGES
    ]
    # a changed line (here: its manifest entry) and a deleted file are rendered again
    manifest_path = tmp_path / "zh-CN" / MANIFEST
    manifest = json.loads(manifest_path.read_text())
    manifest["step.scan"] = "0" * 64
    manifest_path.write_text(json.dumps(manifest))
    clip_path(tmp_path, "zh-CN", "reason.expired").unlink()
    redone = render_language(tmp_path, "zh-CN")
    assert (redone.rendered, redone.skipped) == (2, len(clip_texts("zh-CN")) - 2)


def test_mandarin_goes_to_the_pinyin_voice_with_tone_numbers() -> None:
    assert espeak_input("请通行", "zh-CN") == ("cmn-latn-pinyin", "qing3 tong1 xing2")
    assert pinyin_text("银行") == "yin2 hang2"  # phrase-aware: not yin2 xing2
    assert pinyin_text("社区的，登记。") == "she4 qu1 de5, deng1 ji4."  # neutral tone: 5
    assert espeak_input("Please pass.", "en") == ("en", "Please pass.")


def test_text_pinyin_cannot_read_is_refused() -> None:
    with pytest.raises(RenderError, match="as pinyin"):
        pinyin_text("请出示QR码")


def test_a_missing_espeak_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RenderError, match="apt install espeak-ng"):
        render_language(tmp_path, "en")
