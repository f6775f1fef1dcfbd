"""Nothing the server or broker sends can crash the gate (reliability-security 9.1 item 18):
malformed, unsigned, old, oversize or misaddressed messages are refused and the last good state
is kept; the lane keeps working."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from protocol import messages
from protocol.keys import generate_ed25519
from protocol.messages import Ack, CommandKind, Mode
from protocol.reasons import ReasonCode
from protocol.topics import TopicKind
from tests.gate.conftest import GATE, Lane
from tests.support.site import TestSite

pytestmark = pytest.mark.broker


def bad_messages(lane: Lane) -> list[tuple[str, bytes]]:
    site, server = lane.site, lane.server
    stranger = TestSite(site=site.site, now=site.now, root=generate_ed25519())
    own = lambda kind: server.gate_topic(GATE, kind)  # noqa: E731
    shared = server.site_topic
    return [
        (own(TopicKind.CONFIG), b"{not cbor"),
        (own(TopicKind.CONFIG), site.config(GATE, version=1)),  # not newer
        (own(TopicKind.CONFIG), site.config("east-out", version=9)),  # another gate's
        (own(TopicKind.CONFIG), stranger.config(GATE, version=9)),  # unknown control key
        (own(TopicKind.CONFIG), b"\x00" * 70_000),  # oversize
        (shared(TopicKind.MANIFEST), stranger.manifest(9)),  # not signed by our root
        (shared(TopicKind.MANIFEST), site.manifest(1)),  # replayed, not newer
        (shared(TopicKind.REVOCATIONS_FULL), site.full(0)),  # older list
        (shared(TopicKind.REVOCATIONS_DELTA), site.delta(5, 6)),  # gap
        (shared(TopicKind.REVOCATIONS_DELTA), stranger.delta(1, 2)),  # unknown revlist key
        (own(TopicKind.COMMANDS), stranger.command(GATE)),  # unsigned by us: no answer
        (
            own(TopicKind.COMMANDS),
            site.command(GATE, expires_at=site.now - 1, issued_at=site.now - 60),
        ),
        (own(TopicKind.ACKS), b'{"schema":1}'),
        (own(TopicKind.ACKS), messages.encode(Ack(site=site.site, gate="east-out", seq=99, at=1))),
        (own(TopicKind.ACKS), b"\xff" * 10),
        (shared(TopicKind.SERVER_STATUS), b'{"schema":1,"site":"gw01","state":"online","at":NaN}'),
        (server.gate_topic("east-out", TopicKind.EVENTS), b"[" * 3000),
    ]


async def test_bad_messages_change_nothing(lane_factory: Callable[..., Any]) -> None:
    lane: Lane = await lane_factory(policy={"temperature_required": False})
    applied = lane.gate.rt.trust.applied
    before = (applied.manifest, applied.revocations, applied.config, lane.gate.rt.mode)
    refused_before = lane.gate.router.refused
    for topic, payload in bad_messages(lane):
        lane.server.publish(topic, payload)
    await lane.until(lambda: lane.gate.router.refused >= refused_before + 13, 15)
    after = (applied.manifest, applied.revocations, applied.config, lane.gate.rt.mode)
    assert after == before
    await lane.until(lambda: any(r.outcome == "expired" for r in lane.server.results))
    lane.present(lane.site.pass_text())  # and the lane still works
    assert (await lane.decision()).reason == ReasonCode.OK


async def test_a_replayed_command_is_answered_but_not_run_twice(
    lane_factory: Callable[..., Any],
) -> None:
    lane: Lane = await lane_factory()
    data = lane.site.command(
        GATE, CommandKind.SET_MODE, mode=Mode.LOCKDOWN, request_id=str(uuid.uuid4())
    )
    topic = lane.server.gate_topic(GATE, TopicKind.COMMANDS)
    lane.server.publish(topic, data)
    await lane.until(lambda: lane.gate.rt.mode == Mode.LOCKDOWN)
    lane.server.publish(topic, data)
    await lane.until(lambda: len(lane.server.results) == 2)
    assert [r.outcome for r in lane.server.results] == ["done", "replayed"]
