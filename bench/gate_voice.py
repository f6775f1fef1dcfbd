"""Gate voice (issue 18): how soon a prompt starts after the lane's decision.

The clip set is rendered with espeak-ng into a temporary folder; the gate's real announcer,
voice listener (policy volume, clip lookup) and ALSA player run in one event loop, and ``aplay``
is the real one, on ALSA's null device (no sound card here). Each sample tells the announcer a
granted result with its temperature (four clips: 三十六 / 点五 / 度 / 体温正常请通行) and ends
when aplay has taken the prompt's first bytes from its pipe; the next sample waits until the
prompt has finished. The baseline, sampled in between, is the time to start and reap the
``true`` program through asyncio: the floor of any prompt that starts a new process.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.gate import pct, row
from device.announce import Announcer
from device.core.cues import Cue, Phase
from device.voice.clips import ClipLibrary
from device.voice.listen import Voice
from device.voice.player import AlsaPlayer
from device.voice.render import render_language
from protocol.messages import Policy
from protocol.wording import temperature_clips

PROMPTS = int(os.environ.get("GATEPASS_BENCH_PROMPTS", "300"))
PROMPT_TIMEOUT_S = 10.0
GRANT = Cue(
    Phase.RESULT,
    "step.granted_normal",
    (*temperature_clips(36.5), "step.granted_normal"),
    granted=True,
    reason="ok",
    temperature_c=36.5,
)


async def _spawn_true() -> float:
    """One start-and-reap of ``true``, in ms."""
    start = time.perf_counter()
    process = await asyncio.create_subprocess_exec("true")
    await process.wait()
    return (time.perf_counter() - start) * 1000


async def _prompt(announcer: Announcer, player: AlsaPlayer) -> float:
    """One decision told to the announcer, until aplay has the first bytes, in ms."""
    start = time.monotonic()
    announcer.tell(GRANT)
    await asyncio.sleep(0)  # the announcer hands the cue out on the loop's next turn
    async with asyncio.timeout(PROMPT_TIMEOUT_S):  # a bench that fails says so, never hangs
        await player.fed.wait()  # the event of this prompt (play() made it)
    assert player.fed_at is not None
    fed = player.fed_at - start
    await player.wait()
    if player.outcomes[-1] != "finished":
        raise RuntimeError(f"aplay did not play the prompt: {player.outcomes[-1]}")
    return fed * 1000


async def measure(clips: Path) -> tuple[list[float], list[float]]:
    """Prompt start latencies and the spawn baseline, interleaved."""
    player = AlsaPlayer("null")
    announcer = Announcer()
    announcer.listen(Voice(player, Policy, time.time, ClipLibrary((clips,))))
    latencies: list[float] = []
    baseline: list[float] = []
    for _ in range(PROMPTS):
        latencies.append(await _prompt(announcer, player))
        baseline.append(await _spawn_true())
    await player.close()
    return latencies, baseline


def run() -> list[dict[str, Any]]:
    """``python -m bench gate_voice``."""
    with tempfile.TemporaryDirectory() as tmp:
        render_language(Path(tmp), "zh-CN")
        latencies, baseline = asyncio.run(measure(Path(tmp)))
    floor = f"spawn of `true`: p50 {pct(baseline, 0.5):.2f} ms, p99 {pct(baseline, 0.99):.2f} ms"
    name = f"prompt start after decision (aplay has the first bytes), {{}} ({len(latencies)})"
    return [
        row(name.format("p50"), pct(latencies, 0.5), "ms", "≤ 150 ms", floor),
        row(name.format("p99"), pct(latencies, 0.99), "ms", "≤ 150 ms", floor),
    ]
