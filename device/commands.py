"""Signed commands from the console: open once, set mode, resync; each one answered.

A command is carried out only if it verifies with a control key, is addressed to this gate,
has not expired and was never seen before (``TrustStore.open_command``). Opening the lane goes
through the same rule as the override button (no override right after a fever denial unless
the policy allows it) and is recorded before the relay moves.
"""

from __future__ import annotations

import logging

from device.actuators import STEADY_FREE, STEADY_IDLE, STEADY_LOCKDOWN, STEADY_MAINTENANCE
from device.core import cues
from device.core.model import Outcome
from device.core.override import override
from device.link.mqtt import MqttClient
from device.runtime import Runtime
from device.trust import CommandRejected
from protocol import messages, topics
from protocol.messages import (
    AlarmKind,
    Command,
    CommandKind,
    CommandOutcome,
    CommandResult,
    Mode,
)
from protocol.topics import TopicKind

logger = logging.getLogger(__name__)

STEADY = {
    Mode.NORMAL: STEADY_IDLE,
    Mode.LOCKDOWN: STEADY_LOCKDOWN,
    Mode.FREE_PASSAGE: STEADY_FREE,
    Mode.MAINTENANCE: STEADY_MAINTENANCE,
}


class CommandRunner:
    """Carries out verified commands and publishes their results."""

    def __init__(self, rt: Runtime, link: MqttClient) -> None:
        self.rt, self.link = rt, link
        site, gate = rt.settings.gate.site, rt.settings.gate.id
        self.results = str(topics.gate_topic(site, gate, TopicKind.COMMAND_RESULTS))

    async def handle(self, payload: bytes) -> None:
        """Verify, check, run and answer; an untrustworthy command gets no answer at all."""
        now = self.rt.clock_view().now
        try:
            command = await self.rt.trust.open_command(payload, now)
        except CommandRejected as exc:
            await self._answer(exc.command, exc.outcome, str(exc))
            return
        outcome, detail = await self._run(command)
        await self._answer(command, outcome, detail)

    async def _run(self, command: Command) -> tuple[CommandOutcome, str | None]:
        if command.kind == CommandKind.OPEN_ONCE:
            return await self._open_once(command)
        if command.kind == CommandKind.SET_MODE:
            assert command.mode is not None  # the model requires it for set_mode
            return await self.set_mode(command.mode, f"console:{command.operator}")
        self._resync()
        return CommandOutcome.DONE, "re-reading manifest, revocation list and config"

    async def _open_once(self, command: Command) -> tuple[CommandOutcome, str | None]:
        clock = self.rt.clock_view()
        decision, state = override(
            self.rt.state,
            self.rt.lane(clock),
            clock.now,
            operator=f"console:{command.operator}",
            reason=command.reason,
            note=command.note,
        )
        ids = await self.rt.record_or_hold(decision.events, state, priority=True)
        self.rt.signals.show(decision.signal)
        self.rt.announcer.tell(cues.for_override(decision))
        if decision.outcome != Outcome.GRANT:
            return CommandOutcome.REFUSED, f"refused: {decision.reason.value}"
        self.rt.relay.open(decision.open_ms, ids[0])
        return CommandOutcome.DONE, None

    async def set_mode(self, mode: Mode, operator: str) -> tuple[CommandOutcome, str | None]:
        """Change the server-set mode (the lockdown key, when turned, still wins)."""
        if self.rt.key_lockdown and mode != Mode.LOCKDOWN:
            return CommandOutcome.REFUSED, "the lockdown key is turned at the gate"
        self.rt.server_mode = mode
        await self.rt.store.put_blob("mode", mode.value.encode())
        await self.rt.alarm(AlarmKind.MODE_CHANGED, f"{mode.value} by {operator}")
        apply_mode(self.rt)
        return CommandOutcome.DONE, None

    def _resync(self) -> None:
        site = self.rt.settings.gate.site
        for kind in (TopicKind.MANIFEST, TopicKind.REVOCATIONS_FULL):
            self.link.subscribe(str(topics.site_topic(site, kind)))
        config = topics.gate_topic(site, self.rt.settings.gate.id, TopicKind.CONFIG)
        self.link.subscribe(str(config))

    async def _answer(self, command: Command, outcome: CommandOutcome, detail: str | None) -> None:
        result = CommandResult(
            site=command.site,
            gate=command.gate,
            request_id=command.request_id,
            at=int(self.rt.clock.wall() * 1000),
            outcome=outcome,
            detail=detail[:200] if detail else None,
        )
        if not await self.link.publish_wait(self.results, messages.encode(result)):
            logger.warning("result of command %s not delivered", command.request_id)


def apply_mode(rt: Runtime) -> None:
    """Show the mode's steady lights and hold or release the lane for free passage."""
    rt.signals.steady(STEADY[rt.mode])
    rt.announcer.set_mode(rt.mode)
    rt.relay.hold(rt.mode == Mode.FREE_PASSAGE)
    rt.status_changed.set()
