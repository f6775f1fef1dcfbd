"""A simulated speaker (``[voice] output = "sim"``): remembers what the lane said, in memory and
bounded, so tests and the demo can assert it; it makes no sound and writes nothing."""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

KEEP = 1000  # prompts remembered
CLIP_S = 0.6  # how long the simulator pretends one clip lasts


@dataclass(slots=True)
class Played:
    """One prompt: its clip ids, volume, monotonic start, and how it ended."""

    clips: tuple[str, ...]
    volume_percent: int
    started: float
    ended: str = "playing"  # then "finished" or "cut"


def clip_id(clip: Path | str) -> str:
    """A clip's id, from an id or from its file's name (``reason.expired.wav``)."""
    return Path(clip).stem if isinstance(clip, Path) else clip


class SimSpeaker:
    """Records each prompt; a new one cuts the one still "playing"."""

    def __init__(self, clip_s: float = CLIP_S, keep: int = KEEP) -> None:
        self.clip_s = clip_s
        self.played: deque[Played] = deque(maxlen=keep)
        self.counts: Counter[str] = Counter()  # clip id -> times played (never trimmed)
        self._end: asyncio.TimerHandle | None = None

    def play(self, clips: Sequence[Path | str], volume_percent: int) -> None:
        """Record the prompt and cut the one before it if it is still playing."""
        self._cut()
        ids = tuple(clip_id(c) for c in clips)
        prompt = Played(ids, volume_percent, time.monotonic())
        self.played.append(prompt)
        self.counts.update(ids)
        self._end = asyncio.get_running_loop().call_later(
            self.clip_s * len(ids), self._finish, prompt
        )

    def heard(self) -> list[str]:
        """Every clip id played, in order (the prompts kept)."""
        return [clip for prompt in self.played for clip in prompt.clips]

    async def close(self) -> None:
        """Cut the prompt playing, if any."""
        self._cut()

    def _finish(self, prompt: Played) -> None:
        prompt.ended = "finished"
        self._end = None

    def _cut(self) -> None:
        if self._end is not None:
            self._end.cancel()
            self._end = None
            if self.played and self.played[-1].ended == "playing":
                self.played[-1].ended = "cut"
