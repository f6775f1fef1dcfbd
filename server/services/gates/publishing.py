"""What the server publishes to its gates, signed: manifest, revocation lists, per-gate config.

* ``trust/manifest`` (retained): the newest root-signed manifest, whenever its seq changes.
* ``revocations/full`` (retained): on every change of the revocation seq and as a heartbeat
  (same seq, new ``issued_at``/``next_update``) at half the ``next_update`` period, so a gate
  never goes stale while the server runs; ``revocations/delta`` (not retained) from the last
  published list to the new one, so connected gates apply a revocation in well under 2 s.
* ``gates/{gate}/config`` (retained): policy (the site defaults, its zone's overrides, then
  its own), zone, direction, the phone-tag keys and the peers
  (the other lanes of its zone, whose presence it may hear), for that gate only, with a version
  that rises whenever any of them changes. A removed gate's retained
  config is cleared (an empty retained message).

Each function returns what to publish; the link publishes it and then records it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Generic, TypeVar

import msgspec
from msgspec.structs import replace

from protocol import messages
from protocol.manifest import KeyUse
from protocol.messages import GateConfig, LaneDirection
from protocol.revocation import RevocationFull, diff, sign_revocations
from protocol.topics import SPECS, TopicKind, gate_topic, site_topic
from server.records import ConfigVersion, Gate, JSONObject, Published
from server.services.context import Env
from server.services.gates.peers import peers_of
from server.services.gates.policy import effective_policy, merge_overrides
from server.services.passes.keys import signing_key
from server.services.passes.phone_keys import gate_keys as gate_phone_keys
from server.services.passes.phone_keys import versions_for as phone_key_versions
from server.services.passes.revocations import build_full
from server.store import gate_state, registry
from server.store import keys as key_store
from server.store import passes as pass_store
from server.store import published as published_store
from server.store import zone_policies as zone_store
from server.store.db import Connection

MANIFEST, REVOCATIONS = "manifest", "revocations"
REMOVED = "removed"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to publish (QoS 1)."""

    topic: str
    payload: bytes
    retain: bool


R = TypeVar("R", Published, ConfigVersion)


@dataclass(frozen=True, slots=True)
class Update(Generic[R]):
    """Messages to publish, then the bookkeeping to store once the broker took them."""

    messages: list[Outgoing]
    record: R


async def last_published(env: Env, name: str) -> Published | None:
    """What was last published under ``name`` (MANIFEST or REVOCATIONS), if anything."""
    async with env.db.read() as conn:
        return await published_store.get_published(conn, name=name)


async def manifest_update(
    env: Env, site: str, *, published_seq: int | None, force: bool
) -> Update[Published] | None:
    """The newest manifest, if it is not the one published (or ``force``)."""
    async with env.db.read() as conn:
        latest = await key_store.latest_manifest(conn)
    if latest is None or (latest.seq == published_seq and not force):
        return None
    topic = str(site_topic(site, TopicKind.MANIFEST))
    record = Published(
        name=MANIFEST,
        seq=latest.seq,
        issued_at=latest.issued_at,
        payload=latest.signed,
        body=None,
        published_at=env.clock.now(),
    )
    return Update([Outgoing(topic, latest.signed, True)], record)


async def revocation_update(
    env: Env, site: str, *, published: Published | None, force: bool
) -> Update[Published] | None:
    """A new full list (and delta) when the seq changed or a heartbeat is due; else a resend."""
    now = env.clock.now()
    period = env.settings.revocation_next_update_s
    async with env.db.read() as conn:
        seq = await pass_store.read_counter(conn, name=pass_store.REVOCATION_SEQ)
    full_topic = str(site_topic(site, TopicKind.REVOCATIONS_FULL))
    due = published is None or seq != published.seq or now >= published.issued_at + period // 2
    if not due:
        if not force:
            return None
        assert published is not None
        return Update([Outgoing(full_topic, published.payload, True)], published)
    async with env.db.read() as conn:
        full = await build_full(conn, now=now, next_update_s=period)
        _row, key = await signing_key(conn, env.keys_dir, use=KeyUse.REVLIST, now=now)
    out: list[Outgoing] = []
    previous = _previous_full(published)
    if previous is not None and full.seq > previous.seq:
        delta = sign_revocations(diff(previous, full), key)
        if len(delta) <= SPECS[TopicKind.REVOCATIONS_DELTA].max_payload:
            out.append(Outgoing(str(site_topic(site, TopicKind.REVOCATIONS_DELTA)), delta, False))
    signed = sign_revocations(full, key)
    out.append(Outgoing(full_topic, signed, True))
    first_at = now if published is None or published.seq != full.seq else published.published_at
    record = Published(
        name=REVOCATIONS,
        seq=full.seq,
        issued_at=full.issued_at,
        payload=signed,
        body=msgspec.msgpack.encode(full),
        published_at=first_at,
    )
    return Update(out, record)


def _previous_full(published: Published | None) -> RevocationFull | None:
    if published is None or published.body is None:
        return None
    return msgspec.msgpack.decode(published.body, type=RevocationFull)


def _fingerprint(
    zone: int, direction: str, overrides: JSONObject, phones: list[int], peers: list[str]
) -> str:
    facts = [zone, direction, overrides, phones] + ([peers] if peers else [])
    text = json.dumps(facts, sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


async def config_updates(env: Env, site: str, *, force: bool) -> list[Update[ConfigVersion]]:
    """Signed configs for gates whose config changed (all with ``force``), and removals."""
    now = env.clock.now()
    async with env.db.read() as conn:
        gates = await registry.list_gates(conn, scope=None)
        configs = await gate_state.all_configs(conn)
        phone_keys = await key_store.list_phone_keys(conn)
        zones = await zone_store.all_zones(conn)
    due: list[tuple[Gate, ConfigVersion]] = []
    peers = peers_of(gates)
    merged: dict[str, JSONObject] = {}
    for gate in gates:
        row = configs.get(gate.id)
        zone = zones.get(gate.zone_id)
        overrides = merge_overrides(
            None if zone is None else zone.policy, None if row is None else row.policy
        )
        merged[gate.id] = overrides
        versions = [r.version for r in phone_key_versions(phone_keys, gate.zone_id)]
        fingerprint = _fingerprint(
            gate.zone_id, gate.direction, overrides, versions, peers[gate.id]
        )
        if row is None or row.fingerprint != fingerprint:
            version = (0 if row is None else row.version) + 1
            config = ConfigVersion(
                gate=gate.id,
                version=version,
                fingerprint=fingerprint,
                issued_at=now,
                policy={} if row is None else row.policy,  # the lane's own overrides
            )
            due.append((gate, config))
        elif force:
            due.append((gate, row))
    updates = await _sign_configs(env, site, due, now, peers=peers, merged=merged) if due else []
    known = {g.id for g in gates}
    for gate_id, row in configs.items():
        if gate_id not in known and (row.fingerprint != REMOVED or force):
            topic = str(gate_topic(site, gate_id, TopicKind.CONFIG))
            updates.append(Update([Outgoing(topic, b"", True)], replace(row, fingerprint=REMOVED)))
    return updates


async def _sign_configs(
    env: Env,
    site: str,
    due: list[tuple[Gate, ConfigVersion]],
    now: int,
    *,
    peers: dict[str, list[str]],
    merged: dict[str, JSONObject],
) -> list[Update[ConfigVersion]]:
    async with env.db.read() as conn:
        zones = {gate.zone_id for gate, _record in due}
        phones = {z: await gate_phone_keys(conn, env.keys_dir, z) for z in zones}
        _row, key = await signing_key(conn, env.keys_dir, use=KeyUse.CONTROL, now=now)
    updates = []
    for gate, record in due:
        config = GateConfig(
            site=site,
            gate=gate.id,
            version=record.version,
            issued_at=record.issued_at,
            zone=gate.zone_id,
            direction=LaneDirection(gate.direction),
            policy=effective_policy(merged[gate.id]),
            phone_keys=phones[gate.zone_id],
            peers=peers[gate.id] or msgspec.UNSET,
        )
        topic = str(gate_topic(site, gate.id, TopicKind.CONFIG))
        updates.append(Update([Outgoing(topic, messages.seal_config(config, key), True)], record))
    return updates


async def _record_config(conn: Connection, record: ConfigVersion) -> None:
    """The version, fingerprint and time just published; the policy stays as it is now, not
    as it was when the config was signed: an admin may have changed it meanwhile, and the
    fingerprint that no longer matches makes the next round publish that change."""
    current = await gate_state.get_config(conn, gate=record.gate)
    policy = record.policy if current is None else current.policy
    await gate_state.put_config(conn, replace(record, policy=policy))


async def record(env: Env, update: Update[Published] | Update[ConfigVersion]) -> None:
    """Remember what was published (manifest, revocations) or the config version."""
    async with env.db.write() as conn:
        if isinstance(update.record, ConfigVersion):
            await _record_config(conn, update.record)
        else:
            await published_store.put_published(conn, update.record)
