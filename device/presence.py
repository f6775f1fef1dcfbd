"""Anti-passback across lanes, told only to and heard only from the peers the config names.

A grant here is published on this gate's ``presence`` topic: the pass ref, the lane's direction
and the time; no temperature, alarm or name. A peer's presence is taken only from a gate the
signed config lists in ``peers`` (the broker's ACL lets this gate read no other), never from a
retained message, and with its time clamped to this gate's clock, so a peer cannot place a
pass in the future. Presence older than the anti-passback window is dropped on both sides.
Nothing here locks or unlocks a pass: locks reach a gate only from the server, signed.

Best effort: a presence the broker cannot take while the link is down waits at most the
anti-passback window (bounded, ``MAX_PENDING``); the event itself is in the outbox as always.
"""

from __future__ import annotations

import logging
from collections import deque

from device.core.state import GateState
from device.link.mqtt import MqttClient
from device.runtime import Runtime
from protocol import messages, topics
from protocol.errors import PeerRefused, WrongSiteMessage
from protocol.messages import GateConfig, PeerPresence
from protocol.topics import Topic, TopicKind

logger = logging.getLogger(__name__)

MAX_PENDING = 256  # grants waiting for the link; older ones give way (the outbox keeps them)


def peer_filters(site: str, config: GateConfig | None) -> frozenset[str]:
    """The presence topics of the peers a signed config names (none before the first config)."""
    peers = () if config is None else config.peer_ids
    return frozenset(str(topics.gate_topic(site, p, TopicKind.PRESENCE)) for p in peers)


class PresenceSender:
    """Queues this lane's grants for its peers and publishes them while the link is up."""

    def __init__(self, rt: Runtime, link: MqttClient) -> None:
        self.rt, self.link = rt, link
        site, gate = rt.settings.gate.site, rt.settings.gate.id
        self.topic = str(topics.gate_topic(site, gate, TopicKind.PRESENCE))
        self.pending: deque[PeerPresence] = deque(maxlen=MAX_PENDING)
        self.sent = 0

    def share(self, ref: str) -> None:
        """A pass was just let through here: tell the peers, if any and anti-passback is on."""
        config = self.rt.trust.applied.config
        seen = self.rt.state.presence.get(ref)
        if config is None or not config.peer_ids or not self.rt.policy.apb_minutes or seen is None:
            return
        s = self.rt.settings.gate
        self.pending.append(
            PeerPresence(
                site=s.site, gate=s.id, pass_ref=ref, lane=seen.direction, at=seen.at * 1000
            )
        )
        self.flush()

    def flush(self) -> None:
        """Publish what waits, oldest first, while paho takes it; drop what is too old."""
        oldest = (self.rt.clock.wall() - self.rt.policy.apb_minutes * 60) * 1000
        while self.pending and self.link.connected.is_set():
            item = self.pending[0]
            if item.at >= oldest and not self.link.publish(self.topic, messages.encode(item)):
                return  # paho's queue is full: try again at the next grant or connect
            self.pending.popleft()
            self.sent += 1


def heard(rt: Runtime, topic: Topic, payload: bytes) -> tuple[str, GateState] | None:
    """The pass and the state with a peer's presence applied, or None if it is too old.

    Raises PeerRefused for a gate the config does not name, WrongSiteMessage for a message
    whose body names another gate than its topic."""
    config = rt.trust.applied.config
    if config is None or topic.gate not in config.peer_ids:
        raise PeerRefused(f"presence from {topic.gate}, which is not a peer of this gate")
    seen = messages.decode(TopicKind.PRESENCE, payload, PeerPresence)
    if (seen.site, seen.gate) != (topic.site, topic.gate):
        raise WrongSiteMessage(f"presence of {seen.site}/{seen.gate} on {topic.gate}'s topic")
    now = rt.clock_view().now
    at = min(seen.at // 1000, now)  # a peer's clock never places a pass in our future
    if now - at > rt.policy.apb_minutes * 60:
        return None
    return seen.pass_ref, rt.state.observe_peer_grant(seen.pass_ref, seen.lane, seen.gate, at)
