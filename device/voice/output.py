"""The speaker ``[voice] output`` names, and the voice listener wired to the gate's policy."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from device.config import GateSettings
from device.ports import Speaker
from device.voice.clips import ClipLibrary
from device.voice.listen import Voice
from device.voice.player import AlsaPlayer
from device.voice.sim import SimSpeaker
from protocol.messages import Policy


def build_speaker(settings: GateSettings) -> Speaker | None:
    """The ALSA player, the simulator, or None when the voice is off."""
    output = settings.voice_output
    if output == "alsa":
        return AlsaPlayer(settings.voice.device)
    if output == "sim":
        return SimSpeaker()
    return None


def library(settings: GateSettings) -> ClipLibrary:
    """The operator's recordings first, then the generated set."""
    return ClipLibrary((Path(settings.voice.recorded_dir), settings.voice_clips_dir))


def voice(
    settings: GateSettings,
    speaker: Speaker,
    policy: Callable[[], Policy],
    wall: Callable[[], float],
) -> Voice:
    """The announcer's listener; the simulator is handed clip ids, the player clip files."""
    files = None if isinstance(speaker, SimSpeaker) else library(settings)
    return Voice(speaker, policy, wall, files)
