"""The morning at the gates: residents going out and in, and the scenes the demo shows.

Each lane plays its own script, one person at a time, with ordinary residents in between:

* main-in: the volunteer badges in; a tenant refuses the check and is let in by the
  volunteer's override (button held, reason 1 "registered by hand"); a fever, re-tested and
  confirmed; a walk-in visitor registered at the desk who then enters with the phone digits.
* main-out: residents leaving; one under home observation is stopped.
* block-in (phone digits always): a lent pass, three wrong tries; then the lane loses its
  network for ``cut_s`` seconds and keeps deciding offline; its events arrive afterwards.

The gate decides; this module only plays the people and watches the relay.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from deploy.demo.api import Api
from deploy.demo.lane import Lane
from deploy.demo.proxy import CutProxy
from deploy.demo.register import BLOCK_ZONE, MAIN_ZONE
from deploy.demo.seed import Cast, Holder, register_visitor

logger = logging.getLogger(__name__)

APB_S = 11 * 60  # the lanes refuse the same pass the same way within 10 minutes
OPEN_WAIT_S = 4.0
WALK_GAP_S = (1.0, 3.5)
FEVER_C = 38.2
WALK_IN = ("赵敏", "13912340004", "看望外婆")
FOREVER = float("inf")  # after its scenes, each lane keeps its residents walking until stopped
GUESSES = ("1234", "8888", "0000", "6666", "2580")


@dataclass
class Script:
    """When the scenes happen, in seconds after the morning starts."""

    cut_at_s: float = 14.0
    cut_s: float = 60.0


@dataclass
class Presence:
    """Where the generator believes each main-estate resident is, and when they last passed."""

    where: dict[str, str] = field(default_factory=dict)  # pass text -> "in" or "out"
    retired: set[str] = field(default_factory=set)  # a locked pass, someone sent home ill
    last_pass: dict[tuple[str, str], float] = field(default_factory=dict)

    def ready(self, holder: Holder, direction: str) -> bool:
        """Still walking about, and not through this direction within the anti-passback window."""
        if holder.text in self.retired:
            return False
        return time.monotonic() - self.last_pass.get((holder.text, direction), -1e9) > APB_S

    def passed(self, holder: Holder, direction: str, opened: bool) -> None:
        """Remember a try at a lane, and where the person is if the lane opened."""
        self.last_pass[(holder.text, direction)] = time.monotonic()
        if opened:
            self.where[holder.text] = direction

    def at(self, holder: Holder) -> str | None:
        """Where a lane last let the person through to (in or out); None if none has."""
        return self.where.get(holder.text)


class Morning:
    """Plays the three lanes: the scenes, then ordinary residents until cancelled."""

    def __init__(
        self,
        lanes: dict[str, Lane],
        cast: Cast,
        proxy: CutProxy,
        desk: Api,
        *,
        script: Script,
        say: Callable[[str], None],
        seed: int = 8,
    ) -> None:
        self.lanes, self.cast, self.proxy, self.desk = lanes, cast, proxy, desk
        self.script, self.say = script, say
        self.rng = random.Random(seed)  # noqa: S311 - who walks when, not security
        self.presence = Presence()
        self.start = 0.0
        self.scenes_left = 7
        self.lending_done = asyncio.Event()  # the lane is cut only after the lent-pass scene

    def at(self) -> float:
        """Seconds since the morning started."""
        return time.monotonic() - self.start

    async def run(self) -> None:
        """All lanes at once, until cancelled (the demo's stop) or a lane fails."""
        self.start = time.monotonic()
        async with asyncio.TaskGroup() as group:
            group.create_task(self.main_in(), name="main-in")
            group.create_task(self.main_out(), name="main-out")
            group.create_task(self.block_in(), name="block-in")
            group.create_task(self.network(), name="network")

    def scene_done(self, what: str) -> None:
        """Count the scenes; the last one prints the line tests and people wait for."""
        self.scenes_left -= 1
        self.say(f"[{self.at():5.1f}s] {what}")
        if self.scenes_left == 0:
            self.say(f"[{self.at():5.1f}s] every scene of the morning has played")

    # -- one person at a lane -------------------------------------------------------------

    async def walk(self, lane: Lane, who: Holder, body_c: float | None = None) -> bool:
        """Present the pass, type the digits if asked, stand before the sensor; opened?"""
        before = await lane.opened()
        await lane.present(who.text)
        for _attempt in range(2):  # a second try if the gate asked for digits a little late
            await asyncio.sleep(0.9)
            if who.last4 is not None:
                await lane.keys(who.last4)
            await asyncio.sleep(0.3)
            await lane.stand(body_c or self.normal_c())
            if await lane.wait_opened(before, OPEN_WAIT_S):
                return True
        return False

    def normal_c(self) -> float:
        """A healthy body temperature: 36.0-37.0 °C (the fever scene is the only fever)."""
        return round(min(max(self.rng.gauss(36.4, 0.2), 36.0), 37.0), 1)

    async def stroll(self, lane: Lane, who: Holder, direction: str) -> None:
        """An ordinary resident; logged briefly."""
        opened = await self.walk(lane, who)
        self.presence.passed(who, direction, opened)
        verdict = "through" if opened else "stays shut"
        self.say(f"[{self.at():5.1f}s] {lane.gate:8} {who.label:9} {who.name}: {verdict}")
        await asyncio.sleep(self.rng.uniform(*WALK_GAP_S))

    async def fill(
        self, lane: Lane, until_s: float, pick: Callable[[], Holder | None], direction: str
    ) -> None:
        """Ordinary residents until ``until_s`` (or forever if it is infinite)."""
        while self.at() < until_s:
            who = pick()
            if who is None:
                await asyncio.sleep(1.0)
                continue
            await self.stroll(lane, who, direction)

    # -- who comes next -------------------------------------------------------------------

    def leaving(self) -> Holder | None:
        """A main-estate resident going out."""
        here = self.cast.in_zone(MAIN_ZONE)
        ready = [h for h in here if self.presence.at(h) != "out" and self.presence.ready(h, "out")]
        return self.rng.choice(ready) if ready else None

    def returning(self) -> Holder | None:
        """Someone who went out earlier (first out, first back), or one back from a night shift."""
        here = self.cast.in_zone(MAIN_ZONE)
        back = [h for h in here if self.presence.at(h) == "out" and self.presence.ready(h, "in")]
        if back and self.rng.random() < 0.6:
            return min(back, key=lambda h: self.presence.last_pass[(h.text, "out")])
        fresh = [h for h in here if self.presence.at(h) is None and self.presence.ready(h, "in")]
        return self.rng.choice(fresh) if fresh else None

    def block_resident(self) -> Holder | None:
        """A resident of the turnover block coming home."""
        ready = [h for h in self.cast.in_zone(BLOCK_ZONE) if self.presence.ready(h, "in")]
        return self.rng.choice(ready) if ready else None

    # -- the lanes ------------------------------------------------------------------------

    async def main_in(self) -> None:
        """The main estate's entry lane and its scenes."""
        lane = self.lanes["main-in"]
        await self.badge_in(lane)
        await self.refusal_and_override(lane)
        await self.fill(lane, self.at() + 3, self.returning, "in")
        await self.fever(lane)
        await self.fill(lane, self.at() + 3, self.returning, "in")
        await self.walk_in_visitor(lane)
        await self.fill(lane, FOREVER, self.returning, "in")

    async def main_out(self) -> None:
        """The main estate's exit lane: people going to work; one may not leave."""
        lane = self.lanes["main-out"]
        await self.fill(lane, 8.0, self.leaving, "out")
        who = self.cast.observed[0]
        opened = await self.walk(lane, who)
        verdict = "let out (unexpected)" if opened else "stopped: under home observation"
        self.scene_done(f"main-out  {who.label} {who.name} tries to go out: {verdict}")
        await self.fill(lane, FOREVER, self.leaving, "out")

    async def block_in(self) -> None:
        """The turnover block's lane: a lent pass, then ordinary residents (also offline)."""
        lane = self.lanes["block-in"]
        await self.lent_pass(lane)
        await self.fill(lane, FOREVER, self.block_resident, "in")

    async def network(self) -> None:
        """The block's lane loses its network for a while, then catches up."""
        await asyncio.sleep(max(0.0, self.script.cut_at_s - self.at()))
        await self.lending_done.wait()
        self.proxy.cut()
        self.say(
            f"[{self.at():5.1f}s] block-in  network cut for {self.script.cut_s:.0f} s "
            "(the lane keeps deciding offline)"
        )
        await asyncio.sleep(self.script.cut_s)
        self.proxy.restore()
        self.scene_done("block-in  network back: the lane sends what it decided meanwhile")

    # -- the scenes -----------------------------------------------------------------------

    async def badge_in(self, lane: Lane) -> None:
        """The volunteer starts the shift: badge at the scanner, temperature like everyone."""
        opened = await self.walk(lane, self.cast.guard)
        self.scene_done(
            f"main-in   {self.cast.guard.name} badges in: {'through' if opened else 'stays shut'}"
        )

    async def refusal_and_override(self, lane: Lane) -> None:
        """A tenant refuses the temperature check; the volunteer holds the button, reason 1."""
        here = self.cast.in_zone(MAIN_ZONE)
        who = self.rng.choice([h for h in here if h.role == "租户" and self.presence.at(h) is None])
        before = await lane.opened()
        await lane.present(who.text)
        self.say(
            f"[{self.at():5.1f}s] main-in   tenant {who.label} {who.name} refuses the "
            "check and waits..."
        )
        await _until(lambda: self._refused(lane, before), 30.0)
        await lane.hold()
        await lane.keys("1")  # reason 1: registered by hand (temperature taken by hand)
        opened = await lane.wait_opened(before, OPEN_WAIT_S)
        self.presence.passed(who, "in", opened)
        self.scene_done(
            f"main-in   volunteer overrides for {who.name}: {'through' if opened else 'stays shut'}"
        )
        await asyncio.sleep(3.5)

    async def server_saw(self, gate: str, reason: str, within: float = 3.0) -> bool:
        """Whether the server has recorded a decision of ``reason`` at ``gate`` (staff API)."""
        path = f"/api/v1/events?gate={gate}&reason={reason}&size=1"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while loop.time() < deadline:
            if (await asyncio.to_thread(self.desk.call, "GET", path))["total"] > 0:
                return True
            await asyncio.sleep(0.3)
        return False

    async def _refused(self, lane: Lane, before: int) -> bool:
        """The step timed out (20 s): the gate shows red and the relay never opened."""
        await asyncio.sleep(1.0)
        answer = await lane.panel.send("leds")
        return "red=on" in answer and await lane.opened() == before

    async def fever(self, lane: Lane) -> None:
        """A resident with a fever: measured, re-tested a second later, confirmed, refused."""
        who = self.returning() or self.cast.in_zone(MAIN_ZONE)[0]
        self.presence.retired.add(who.text)  # sent home to the health office's care
        opened = await self.walk(lane, who, body_c=FEVER_C)
        await lane.stand(FEVER_C, 3.0)  # still standing there, puzzled
        verdict = "let in (unexpected)" if opened else "refused, fever alert raised"
        self.scene_done(f"main-in   {who.label} {who.name} {FEVER_C} °C, re-tested: {verdict}")
        await asyncio.sleep(4.0)

    async def walk_in_visitor(self, lane: Lane) -> None:
        """A visitor registered at the desk (the staff account, as the UI's desk does)."""
        name, phone, purpose = WALK_IN
        visitor = await asyncio.to_thread(
            register_visitor, self.desk, self.cast.desk_household, name, phone, purpose
        )
        self.say(f"[{self.at():5.1f}s] desk      visitor {name} registered for {visitor.label}")
        await asyncio.sleep(2.0)  # walks from the desk to the gate
        opened = await self.walk(lane, visitor)
        self.scene_done(
            f"main-in   visitor {name} types the phone digits: "
            f"{'through' if opened else 'stays shut'}"
        )

    async def lent_pass(self, lane: Lane) -> None:
        """A stranger with a neighbour's pass: three wrong tries lock it."""
        owner = self.rng.choice([h for h in self.cast.in_zone(BLOCK_ZONE) if h.last4 is not None])
        self.presence.retired.add(owner.text)  # locked until staff clear it
        before = await lane.opened()
        await lane.present(owner.text)
        locked = False
        for guess in GUESSES:  # three should do; more if a try was typed before the gate asked
            await asyncio.sleep(1.2)
            await lane.keys(guess if guess != owner.last4 else "9999")
            if guess in GUESSES[2:] and await self.server_saw(lane.gate, "pass_locked"):
                locked = True
                break
        self.lending_done.set()
        opened = await lane.wait_opened(before, 1.0)
        verdict = "pass locked, lending alert raised" if locked and not opened else "unexpected"
        self.scene_done(f"block-in  someone with {owner.name}'s pass guesses the digits: {verdict}")
        await asyncio.sleep(3.0)


async def _until(check: Callable[[], Awaitable[bool]], within: float) -> None:
    """Poll ``check`` until it is true or ``within`` seconds passed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline and not await check():
        pass
