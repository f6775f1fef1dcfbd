"""Clips for the voice tests: real WAV files written with the standard library."""

from __future__ import annotations

import math
import shutil
import struct
import wave
from pathlib import Path

import pytest


def write_tone(
    path: Path, *, seconds: float = 0.3, rate: int = 22050, amplitude: int = 8000
) -> Path:
    """A mono 16-bit sine tone (a stand-in for a recorded clip: real WAV, audible)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = b"".join(
        struct.pack("<h", int(amplitude * math.sin(2 * math.pi * 440 * i / rate)))
        for i in range(int(seconds * rate))
    )
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)
    return path


@pytest.fixture
def aplay() -> str:
    """The real aplay: make sysdeps installs alsa-utils, so a missing one fails, never skips."""
    found = shutil.which("aplay")
    assert found is not None, "aplay not found: make sysdeps installs alsa-utils"
    return found


needs_aplay = pytest.mark.usefixtures("aplay")
