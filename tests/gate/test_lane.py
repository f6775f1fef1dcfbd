"""End to end at one lane: simulated scanner and thermometer, the real daemon on mock pins,
a real broker, and a stand-in server. Grant, each denial class, override, lockdown, fever
re-test, phone digits and lock-out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from device import watchers
from protocol.claims import PassKind
from protocol.messages import AlarmKind, Mode
from protocol.reasons import ReasonCode
from protocol.revocation import pack_refs
from protocol.topics import TopicKind
from tests.gate.conftest import Lane

pytestmark = pytest.mark.broker


async def test_grant_opens_the_relay_after_the_event_is_committed(
    lane_factory: Callable[..., Any],
) -> None:
    lane: Lane = await lane_factory()
    relay_pin = lane.gate.gpio.factory.pin(lane.gate.rt.settings.pins.relay)
    lane.present(lane.site.pass_text())
    lane.step_in()
    event = await lane.decision()
    assert (event.granted, event.reason) == (True, ReasonCode.OK)
    assert 36.0 < event.temperatures[0].body_c < 37.3
    assert event.pass_kind == "resident"
    assert not event.offline
    await lane.until(lambda: lane.gate.rt.relay.opened == 1)
    assert any(state for _, state in relay_pin.states)  # the pin went high
    await lane.until(lambda: not lane.gate.panel.relay_on(), 6)  # and dropped after the pulse
    await lane.until(lambda: lane.gate.rt.store.depth == 0)  # acked by the server, deleted


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda s: "https://example.com/x", ReasonCode.UNKNOWN_FORMAT),
        (
            lambda s: s.pass_text(
                expires=s.now - 3600, issued_at=s.now - 7200, not_before=s.now - 7200
            ),
            ReasonCode.EXPIRED,
        ),
        (lambda s: s.pass_text(site="other"), ReasonCode.WRONG_SITE),
        (lambda s: s.pass_text(zones=(7,)), ReasonCode.WRONG_ZONE),
        (lambda s: s.pass_text()[:-3] + "AAA", ReasonCode.BAD_SIGNATURE),
    ],
    ids=["unknown-format", "expired", "wrong-site", "wrong-zone", "altered"],
)
async def test_denials(
    lane_factory: Callable[..., Any], make: Callable[[Any], str], reason: ReasonCode
) -> None:
    lane: Lane = await lane_factory()
    lane.present(make(lane.site))
    event = await lane.decision()
    assert (event.granted, event.reason) == (False, reason)
    assert lane.gate.rt.relay.opened == 0


async def test_revoked_pass_is_denied_once_the_list_arrives(
    lane_factory: Callable[..., Any],
) -> None:
    lane: Lane = await lane_factory()
    text = lane.site.pass_text()
    from protocol.passes import verify

    ref = verify(text, lane.gate.rt.trust.for_passes(), lane.site.now).pass_id[:8]
    lane.server.publish(
        lane.server.site_topic(TopicKind.REVOCATIONS_DELTA),
        lane.site.delta(1, 2, add_refs=pack_refs({ref})),
    )
    await lane.until(lambda: lane.gate.rt.trust.applied.revocations.seq == 2)
    lane.present(text)
    event = await lane.decision()
    assert event.reason == ReasonCode.REVOKED


async def test_fever_is_retested_then_denied_with_an_alarm(
    lane_factory: Callable[..., Any],
) -> None:
    lane: Lane = await lane_factory()
    lane.thermometer.command("fever 36.4 6")  # skin 36.4 + 2.3 offset = 38.7
    lane.present(lane.site.pass_text())
    event = await lane.decision(20)
    assert (event.granted, event.reason) == (False, ReasonCode.FEVER)
    assert len(event.temperatures) == 2  # first reading and the re-test
    alarm = await lane.alarm()
    assert alarm.alarm == AlarmKind.FEVER_CONFIRMED
    assert lane.gate.rt.relay.opened == 0


async def test_phone_digits_right_and_lock_out(lane_factory: Callable[..., Any]) -> None:
    lane: Lane = await lane_factory()
    panel = lane.gate.panel
    lane.step_in()
    lane.present(lane.site.pass_text(PassKind.VISITOR, digits="6688"))
    await lane.until(lambda: lane.gate.panel.leds()[0], 5)  # green blinks: enter digits
    await panel.type_keys("6688")
    event = await lane.decision()
    assert (event.granted, event.reason) == (True, ReasonCode.OK)

    lent = lane.site.pass_text(PassKind.VISITOR, digits="1357")
    lane.present(lent)
    for _ in range(3):
        await panel.type_keys("2468")
    event = await lane.decision()
    assert event.reason == ReasonCode.PASS_LOCKED
    assert (await lane.alarm()).alarm == AlarmKind.SUSPECTED_LENDING
    lane.scanner.command("remove")
    lane.present(lent)  # the right digits no longer help: the pass is locked
    assert (await lane.decision()).reason == ReasonCode.PASS_LOCKED


async def test_override_button_is_attributed_to_a_recent_staff_scan(
    lane_factory: Callable[..., Any],
) -> None:
    lane: Lane = await lane_factory(policy={"temperature_required": False})
    lane.present(lane.site.pass_text(PassKind.STAFF))
    assert (await lane.decision()).granted is True
    await lane.gate.panel.press()
    event = await lane.decision()
    assert (event.granted, event.reason) == (True, ReasonCode.OVERRIDE)
    assert (event.operator or "").startswith("staff-pass:")
    await lane.until(lambda: lane.gate.rt.relay.opened == 2)


async def test_lockdown_key_works_offline_and_denies(lane_factory: Callable[..., Any]) -> None:
    lane: Lane = await lane_factory()
    lane.broker.stop()
    lane.gate.panel.lockdown(True)
    await lane.until(lambda: lane.gate.rt.mode == Mode.LOCKDOWN)
    lane.present(lane.site.pass_text())
    await lane.until(lambda: lane.gate.lane.decisions == 1)
    lane.broker.start()
    first = await lane.decision(20)
    assert (first.reason, first.mode, first.offline) == (ReasonCode.LOCKDOWN, Mode.LOCKDOWN, True)


async def test_a_just_started_gate_waits_before_calling_its_clock_untrusted(
    lane_factory: Callable[..., Any],
) -> None:
    """The server's time and the retained lists arrive a second or two after connecting: an
    untrusted clock is an alarm only ``SETTLE_S`` after the daemon started."""
    lane: Lane = await lane_factory(policy={"temperature_required": False})
    rt = lane.gate.rt
    assert rt.started is not None
    lane.server.answer_time = False
    rt.server_synced = False  # nothing vouches for the clock any more
    await watchers.upkeep(rt)
    assert AlarmKind.CLOCK_UNTRUSTED not in rt._raised
    rt.started -= watchers.SETTLE_S
    await watchers.upkeep(rt)
    alarm = await lane.alarm()
    assert (alarm.alarm, alarm.note) == (AlarmKind.CLOCK_UNTRUSTED, "clock not vouched for")
