"""The ALSA player: a prompt's clips, joined and volume-scaled into one raw PCM stream in the
clips' own format, piped into one ``aplay`` process; a new prompt kills the one playing (cut).
Nothing here blocks the event loop or raises into the lane: each kind of failure is logged
once, with its reason."""

from __future__ import annotations

import array
import asyncio
import contextlib
import functools
import logging
import sys
import time
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

APLAY = "aplay"
SAMPLE_MAX = 32767
SAMPLE_MIN = -32768
CHUNK_BYTES = 16384  # samples scaled and written at a time: aplay starts on the first chunk


class ClipFormatError(ValueError):
    """A clip the player cannot join into the prompt (not 16-bit PCM, another format)."""


@dataclass(frozen=True, slots=True)
class Format:
    """The WAV format every clip of one prompt must share (they are concatenated)."""

    channels: int
    rate: int


@functools.lru_cache(maxsize=8)
def _gain(volume_percent: int) -> array.array[int]:
    """Every 16-bit sample value at ``volume_percent``, indexed by the sample itself (negative
    samples index from the end, as Python sequences do): scaling becomes one C-level map."""
    factor = volume_percent / 100
    ups = (min(SAMPLE_MAX, int(s * factor)) for s in range(SAMPLE_MAX + 1))
    downs = (max(SAMPLE_MIN, int(s * factor)) for s in range(SAMPLE_MIN, 0))
    return array.array("h", [*ups, *downs])


def scaled(frames: bytes, volume_percent: int) -> bytes:
    """16-bit little-endian samples at ``volume_percent`` of their level (clipped)."""
    if volume_percent == 100:
        return frames
    samples = array.array("h", frames)
    if sys.byteorder == "big":
        samples.byteswap()
    out = array.array("h", map(_gain(volume_percent).__getitem__, samples))
    if sys.byteorder == "big":
        out.byteswap()
    return out.tobytes()


def read_clip(path: Path) -> tuple[Format, bytes]:
    """One clip's format and frames; ClipFormatError unless it is 16-bit PCM WAV."""
    try:
        with wave.open(str(path), "rb") as clip:
            if clip.getsampwidth() != 2:
                raise ClipFormatError(f"{path.name}: {8 * clip.getsampwidth()}-bit, not 16-bit")
            shape = Format(clip.getnchannels(), clip.getframerate())
            return shape, clip.readframes(clip.getnframes())
    except (wave.Error, EOFError) as exc:
        raise ClipFormatError(f"{path.name}: not a PCM WAV file ({exc})") from exc


def gathered(paths: Sequence[Path]) -> tuple[Format | None, bytes, list[str]]:
    """The clips' frames joined in the first readable clip's format, and why any was left out
    (unreadable, or another rate or channel count: joined, it would play at the wrong speed)."""
    problems: list[str] = []
    first: Format | None = None
    parts: list[bytes] = []
    for path in paths:
        try:
            shape, frames = read_clip(path)
        except (OSError, ClipFormatError) as exc:
            problems.append(str(exc))
            continue
        if first is None:
            first = shape
        elif shape != first:
            problems.append(
                f"{path.name}: {shape.rate} Hz x{shape.channels}, the prompt is "
                f"{first.rate} Hz x{first.channels}"
            )
            continue
        parts.append(frames)
    return first, b"".join(parts), problems


class AlsaPlayer:
    """Plays prompts through ``aplay -D <device>``; one playback at a time."""

    def __init__(self, device: str = "default", *, aplay: str = APLAY) -> None:
        self.device, self.aplay = device, aplay
        self.outcomes: list[str] = []  # "finished", "cut" or "failed", per prompt (bounded)
        # time.monotonic() when aplay took the current prompt's first bytes, and the event set
        # then (the bench measures prompt start with them)
        self.fed_at: float | None = None
        self.fed = asyncio.Event()
        self.process: asyncio.subprocess.Process | None = None  # the latest aplay started
        self._task: asyncio.Task[None] | None = None
        self._reported: set[str] = set()

    def play(self, clips: Sequence[Path | str], volume_percent: int) -> None:
        """Cut what is playing and start ``clips`` (WAV paths) in the background."""
        paths = [Path(c) for c in clips]
        self._cut()
        self.fed_at = None
        self.fed = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(
            self._play(paths, volume_percent), name="voice"
        )

    async def wait(self) -> None:
        """Until the current prompt has finished, been cut or failed (the CLI's ``say``)."""
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(self._task)

    async def close(self) -> None:
        """Stop the prompt playing, if any."""
        task = self._cut()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _cut(self) -> asyncio.Task[None] | None:
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
        return task

    def _outcome(self, outcome: str) -> None:
        self.outcomes.append(outcome)
        del self.outcomes[:-100]

    def _once(self, kind: str, message: str, *args: object) -> None:
        """Log a failure the first time its kind happens (a broken speaker must not flood)."""
        if kind not in self._reported:
            self._reported.add(kind)
            logger.error(message, *args)

    async def _play(self, paths: list[Path], volume_percent: int) -> None:
        try:
            shape, frames, problems = await asyncio.to_thread(gathered, paths)
            for problem in problems:
                self._once(f"clip:{problem}", "voice clip left out: %s", problem)
            if shape is None or not frames:
                self._outcome("failed")
                return
            await self._pipe(shape, frames, volume_percent)
        except asyncio.CancelledError:
            self._outcome("cut")
            raise

    async def _pipe(self, shape: Format, frames: bytes, volume_percent: int) -> None:
        """Feed one prompt to a new aplay and wait for it; kill it if cut."""
        command = [self.aplay, "-q", "-D", self.device, "-t", "raw", "-f", "S16_LE"]
        command += ["-r", str(shape.rate), "-c", str(shape.channels), "-"]
        try:
            process = await asyncio.create_subprocess_exec(
                *command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            self._once("spawn", "cannot start %s: %s", self.aplay, exc)
            self._outcome("failed")
            return
        self.process = process
        try:
            await self._feed(process, frames, volume_percent)
            _, err = await process.communicate()
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await asyncio.shield(process.wait())
            raise
        if process.returncode == 0:
            self._outcome("finished")
            return
        reason = err.decode("utf-8", "replace").strip().splitlines()
        self._once(
            f"exit:{process.returncode}",
            "aplay -D %s failed (exit %s): %s",
            self.device,
            process.returncode,
            reason[0] if reason else "no message",
        )
        self._outcome("failed")

    async def _feed(
        self, process: asyncio.subprocess.Process, frames: bytes, volume_percent: int
    ) -> None:
        """Scale and write the samples chunk by chunk (aplay starts on the first chunk);
        a closed pipe is aplay's failure, which its exit status and message report."""
        assert process.stdin is not None
        try:
            for start in range(0, len(frames), CHUNK_BYTES):
                part = frames[start : start + CHUNK_BYTES]
                process.stdin.write(await asyncio.to_thread(scaled, part, volume_percent))
                await process.stdin.drain()
                if self.fed_at is None:
                    self.fed_at = time.monotonic()
                    self.fed.set()
        except (BrokenPipeError, ConnectionResetError):
            pass  # aplay exited early: its exit status and message say why
        finally:
            process.stdin.close()
