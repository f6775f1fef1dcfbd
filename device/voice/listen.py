"""The announcer's voice listener: each cue's clips, in the lane's language, at the volume the
signed policy sets for the local time now (quiet hours may wrap past midnight; 0 is silence)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from device.core.cues import Cue
from device.core.rules import local_minute
from device.ports import Speaker
from device.voice.clips import ClipLibrary
from protocol.messages import Policy


def in_window(minute: int, start: int, end: int) -> bool:
    """``minute`` falls in [start, end), a window that may wrap past midnight."""
    if start <= end:
        return start <= minute < end
    return minute >= start or minute < end


def volume_now(policy: Policy, wall_s: float) -> int:
    """The lane's voice volume in percent at ``wall_s``: the quiet volume within quiet hours."""
    minute = local_minute(int(wall_s), policy.utc_offset_minutes)
    if any(in_window(minute, start, end) for start, end in policy.quiet_list):
        return policy.quiet_volume_percent
    return policy.volume


class Voice:
    """Hands each cue's speech to the speaker; resolves clip files when a library is given
    (the ALSA player), passes clip ids as they are otherwise (the simulator)."""

    def __init__(
        self,
        speaker: Speaker,
        policy: Callable[[], Policy],
        wall: Callable[[], float],
        library: ClipLibrary | None = None,
    ) -> None:
        self.speaker, self.policy, self.wall, self.library = speaker, policy, wall, library

    def __call__(self, cue: Cue) -> None:
        """Speak ``cue`` (nothing for a cue without speech, or at volume 0)."""
        if not cue.speech:
            return
        policy = self.policy()
        volume = volume_now(policy, self.wall())
        if volume == 0:
            return
        clips: Sequence[Path | str] = cue.speech
        if self.library is not None:
            clips = self.library.resolve(cue.speech, policy.language)
        if clips:
            self.speaker.play(clips, volume)
