"""Which lanes hear each other's presence (anti-passback): the other lanes of the same zone.

One list feeds both the signed config (``GateConfig.peers``, what a gate accepts) and the
broker's ACL (``protocol.topics.peer_acl``, what a gate may read), so the two never disagree.
A zone with more lanes than ``MAX_PEERS`` + 1 gives each lane the first ``MAX_PEERS`` others.
"""

from __future__ import annotations

from protocol.messages import MAX_PEERS
from server.records import Gate


def peers_of(gates: list[Gate]) -> dict[str, list[str]]:
    """Each gate's peers: the other gates of its zone, by id."""
    by_zone: dict[int, list[str]] = {}
    for gate in gates:
        by_zone.setdefault(gate.zone_id, []).append(gate.id)
    return {g.id: sorted(p for p in by_zone[g.zone_id] if p != g.id)[:MAX_PEERS] for g in gates}
