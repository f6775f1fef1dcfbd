"""The daemon's shared state and its one commit path: record first, then act.

``Runtime`` belongs to the event loop (no locks needed: one thread). Everything that happens
at the lane becomes events through ``record``, which commits them (and the decision state) to
the outbox before anyone may move the relay, and wakes the publisher. Each event is decoded
back before its commit (``device.core.events.settle``): one the server would refuse goes out
without the readings it cannot represent, or, if even that is refused, stays on the gate as a
dead letter (logged, counted in the status), never holding up the events after it.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from device.actuators import RelayOwner, Signals
from device.announce import Announcer
from device.config import GateSettings
from device.core.clock import Anchor, ClockView, anchored, judge
from device.core.events import Settled, Stamp, Unsendable, settle
from device.core.model import EventDraft, Lane
from device.core.state import GateState
from device.ports import Clock
from device.store.db import StoreError
from device.store.outbox import DeadLetter, GateStore, OutboxFull
from device.trust import TrustStore
from protocol.messages import AlarmKind, DeviceState, GateEvent, LaneDirection, Mode, Policy
from protocol.takeovers import Takeovers

logger = logging.getLogger(__name__)

HELD_MAX = 2000  # decisions kept in memory while the store cannot write (a full SD card)
STORE = "store"  # the name the store's health has in the status (a device among the others)


@dataclass(frozen=True, slots=True)
class Held:
    """Events the store could not take, kept to commit once it can (numbered then)."""

    drafts: Sequence[EventDraft]
    ids: list[str]
    stamp: Stamp
    touched: tuple[str, ...]


@dataclass
class Runtime:
    """What every task of the gate daemon shares."""

    settings: GateSettings
    store: GateStore
    trust: TrustStore
    relay: RelayOwner
    signals: Signals
    clock: Clock
    boot_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    state: GateState = field(default_factory=GateState)
    server_mode: Mode = Mode.NORMAL
    key_lockdown: bool = False
    link_up: bool = False
    takeovers: Takeovers = field(default_factory=Takeovers)  # of the broker session (the link's)
    anchor: Anchor | None = None  # the last signed time answer taken (device.timesync)
    os_synced: bool = False  # the OS said its clock is synchronised, at the last look
    floor: int = 0
    health: dict[str, tuple[DeviceState, str]] = field(default_factory=dict)
    # Per device: when it entered its current state (wall ms) and its last error ("" if none).
    health_marks: dict[str, tuple[int, str]] = field(default_factory=dict)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    status_changed: asyncio.Event = field(default_factory=asyncio.Event)
    _raised: set[AlarmKind] = field(default_factory=set)
    started: float | None = None  # clock.monotonic() when the daemon came up (app.run)
    # [1] One commit at a time: seqs are taken from the store's counter and must be the next ones
    # when the transaction runs, so an alarm cannot slip in between a decision's numbering and
    # its commit.
    _commit: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Set while no person's scan is being verified or committed; the backlog drain waits on it.
    calm: asyncio.Event = field(default_factory=asyncio.Event)
    _urgent: int = 0
    # Decisions made while the store could not write, oldest first; committed by flush_held.
    held: deque[Held] = field(default_factory=lambda: deque(maxlen=HELD_MAX))
    # What the lane says and shows (voice, display): the lane flow and the overrides tell it.
    announcer: Announcer = field(default_factory=Announcer)

    def __post_init__(self) -> None:
        self.calm.set()

    @contextmanager
    def urgent(self) -> Iterator[None]:
        """A person is waiting on this code: background work (the drain) holds back."""
        self._urgent += 1
        self.calm.clear()
        try:
            yield
        finally:
            self._urgent -= 1
            if not self._urgent:
                self.calm.set()

    # --- what the core needs -----------------------------------------------------------------

    @property
    def server_synced(self) -> bool:
        """A signed server answer still vouches for the wall clock (it has not moved away)."""
        skew = self.settings.clock.max_server_skew_s
        return anchored(self.anchor, self.clock.wall(), self.clock.monotonic(), skew)

    @server_synced.setter
    def server_synced(self, value: bool) -> None:
        """Only forgetting is possible (tests; nothing else takes trust away): trust comes
        from a signed answer's anchor or the OS, never from being told so."""
        if value:
            raise ValueError("set an anchor (a signed time answer) or os_synced instead")
        self.anchor = None

    def clock_view(self) -> ClockView:
        """The time to decide with, never below the persisted floor."""
        return judge(
            self.clock.wall(),
            self.floor,
            rtc=self.settings.clock.rtc,
            synced=self.os_synced or self.server_synced,
        )

    @property
    def mode(self) -> Mode:
        """The lockdown key wins over whatever the server asked for."""
        return Mode.LOCKDOWN if self.key_lockdown else self.server_mode

    @property
    def policy(self) -> Policy:
        """The server's signed policy once applied, the local file's until then."""
        config = self.trust.applied.config
        return config.policy if config is not None else self.settings.policy

    def lane(self, clock: ClockView) -> Lane:
        """This lane as the pure core sees it right now."""
        config = self.trust.applied.config
        return Lane(
            site=self.settings.gate.site,
            gate=self.settings.gate.id,
            zone=config.zone if config else self.settings.gate.zone,
            direction=self.direction,
            policy=self.policy,
            mode=self.mode,
            clock_trusted=clock.trusted,
            link_up=self.link_up,
            revocations=self.trust.applied.revocations,
            phone_keys=dict(config.phone_keys) if config else {},
        )

    @property
    def direction(self) -> LaneDirection:
        """The lane's direction (the signed config wins over the file)."""
        config = self.trust.applied.config
        return config.direction if config else self.settings.gate.direction

    async def apply_unlocks(self) -> list[str]:
        """Staff unlocked passes on the server: clear our own locks the applied signed list
        voids, and persist that (run after every list applied, and at start). Returns them."""
        rev = self.trust.applied.revocations
        if rev is None or not rev.unlocks or not self.state.locks:
            return []
        unlocks = {ref.hex(): at for ref, at in rev.unlocks.items()}
        state, cleared = self.state.unlocked_by(unlocks)
        if cleared:
            await self.store.save_state(state, cleared)
            self.state = state
            logger.info("locks cleared by the server's list: %s", ", ".join(cleared))
        return cleared

    # --- the commit path ---------------------------------------------------------------------

    async def record(
        self,
        drafts: Sequence[EventDraft],
        state: GateState | None = None,
        touched: Iterable[str] = (),
        *,
        priority: bool = False,
    ) -> list[str]:
        """Commit events (and the state they change) to the outbox; raises StoreError. Returns
        the events' ids in the drafts' order (an unsendable one is kept as a dead letter)."""
        ids = [str(uuid.uuid4()) for _ in drafts]
        await self._commit_drafts(drafts, ids, self._stamp(), state, touched, priority=priority)
        return ids

    async def record_or_hold(
        self,
        drafts: Sequence[EventDraft],
        state: GateState | None = None,
        touched: Iterable[str] = (),
        *,
        priority: bool = False,
    ) -> list[str]:
        """``record``, but a store that cannot write (a full disk, I/O errors) does not stop
        the lane: the events wait in memory (``held``, bounded), the state applies, the store
        shows as faulty in the status, and ``flush_held`` commits them once it can. A full
        outbox (the configured cap) still raises OutboxFull."""
        ids = [str(uuid.uuid4()) for _ in drafts]
        stamp, refs = self._stamp(), tuple(touched)
        try:
            await self._commit_drafts(drafts, ids, stamp, state, refs, priority=priority)
        except OutboxFull:
            raise
        except StoreError as exc:
            self._hold(Held(drafts, ids, stamp, refs), exc)
            if state is not None:
                self.state = state
        return ids

    def set_health(self, name: str, state: DeviceState, detail: str) -> DeviceState | None:
        """Record a device's health (and when it entered that state); returns the state before.

        A state other than ok keeps ``detail`` as the device's last error, shown after it
        recovers too."""
        before = self.health.get(name)
        since, error = self.health_marks.get(name, (0, ""))
        if before is None or before[0] != state:
            since = int(self.clock.wall() * 1000)
        if state != DeviceState.OK:
            error = detail
        self.health[name] = (state, detail)
        self.health_marks[name] = (since, error)
        if before is None or before != (state, detail):
            self.status_changed.set()
        return None if before is None else before[0]

    def _hold(self, held: Held, exc: StoreError) -> None:
        if len(self.held) == self.held.maxlen:
            logger.error("store still failing: the oldest held decision is dropped")
        self.held.append(held)
        if self.health.get(STORE, (DeviceState.OK, ""))[0] != DeviceState.FAULT:
            logger.error("the store cannot write (%s): holding decisions in memory", exc)
        self.set_health(STORE, DeviceState.FAULT, f"cannot write: {exc}"[:128])

    async def flush_held(self) -> None:
        """Commit what was held while the store failed, oldest first, renumbered now (nothing
        held was ever sent); the store is ok again once all is in."""
        while self.held:
            first = self.held[0]
            try:
                await self._commit_drafts(
                    first.drafts, first.ids, first.stamp, self.state, first.touched, priority=True
                )
            except StoreError as exc:
                self.set_health(STORE, DeviceState.FAULT, f"cannot write: {exc}"[:128])
                return
            self.held.popleft()
        if STORE in self.health:
            del self.health[STORE]  # listed while it fails only (the server ends its alert)
            self.health_marks.pop(STORE, None)
            logger.warning("the store writes again: every held decision is committed")
            self.status_changed.set()

    def _stamp(self) -> Stamp:
        clock = self.clock_view()
        return Stamp(
            site=self.settings.gate.site,
            gate=self.settings.gate.id,
            boot_id=self.boot_id,
            at_ms=int(self.clock.wall() * 1000) if clock.trusted else clock.now * 1000,
            clock_trusted=clock.trusted,
            lane=self.direction,
            offline=not self.link_up,
            mode=self.mode,
        )

    async def _commit_drafts(
        self,
        drafts: Sequence[EventDraft],
        ids: list[str],
        stamp: Stamp,
        state: GateState | None,
        touched: Iterable[str],
        *,
        priority: bool,
    ) -> None:
        async with self._commit:  # [1]
            events, refused = self._settle(drafts, ids, stamp)
            await self.store.record(events, state, touched, priority=priority, refused=refused)
        if state is not None:
            self.state = state
        self.wake.set()
        self.status_changed.set()

    def _settle(
        self, drafts: Sequence[EventDraft], ids: list[str], stamp: Stamp
    ) -> tuple[list[GateEvent], list[DeadLetter]]:
        """Number the drafts and check each as the server decodes it; an unsendable one takes
        no seq (the server never waits for it) and becomes a dead letter."""
        events: list[GateEvent] = []
        refused: list[DeadLetter] = []
        for draft, event_id in zip(drafts, ids, strict=True):
            seq = self.store.next_seq + len(events)
            got = settle(draft, stamp, seq=seq, event_id=event_id)
            if isinstance(got, Unsendable):
                refused.append(_refused(got, at=int(self.clock.wall() * 1000)))
                continue
            _log_correction(got)
            events.append(got.event)
        return events, refused

    async def alarm(self, kind: AlarmKind, note: str | None = None, *, once: bool = False) -> None:
        """Record an alarm (``once``: only on the transition into that condition)."""
        if once and kind in self._raised:
            return
        self._raised.add(kind)
        draft = EventDraft(granted=None, reason=None, alarm=kind, note=note)
        try:
            await self.record_or_hold([draft], priority=True)
        except OutboxFull:
            # even the reserve is used up: say so in the log; the status shows the depth
            logger.error("outbox full, %s alarm not recorded (%s)", kind.value, note or "")

    def clear_alarm(self, kind: AlarmKind) -> None:
        """The condition behind a once-only alarm is over; the next one is raised again."""
        self._raised.discard(kind)


def _log_correction(settled: Settled) -> None:
    """Say loudly what the check before the commit took out of an event, and why."""
    if settled.dropped:
        logger.warning(
            "event seq %d would be refused (%s): committed without its %s",
            settled.event.seq,
            settled.problem,
            " and ".join(settled.dropped),
        )


def _refused(unsendable: Unsendable, *, at: int) -> DeadLetter:
    """The dead letter of an event the gate's own check refused (it never took a seq)."""
    event, problem = unsendable.event, unsendable.problem
    logger.error(
        "event %s (%s, %s) would be refused by the server (%s): kept as a dead letter, not sent",
        event.event_id,
        event.kind.value,
        event.reason or event.alarm,
        problem,
    )
    return DeadLetter(
        event_id=event.event_id,
        boot_id=event.boot_id,
        payload=unsendable.payload,
        reason=problem.refusal,
        at=at,
    )
