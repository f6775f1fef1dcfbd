"""What the link publishes, decided without a broker: deltas on change, heartbeats, removals."""

from __future__ import annotations

from pathlib import Path

from protocol.cose import PublicKey
from protocol.keys import public_from_raw
from protocol.manifest import KeyUse, open_manifest, trusted_keys
from protocol.messages import open_config
from protocol.revocation import apply_delta, apply_full, open_delta, open_full
from protocol.topics import TopicKind, gate_topic, site_topic
from server.services.context import CLI_ACTOR, Env
from server.services.gates import policy as gate_policy
from server.services.gates import publishing
from server.services.passes import issuing as passes
from server.services.registry import places as registry
from server.services.registry import residents
from tests.faults.harness import SITE, build


async def _control_keys(env: Env, root_hex: str) -> dict[bytes, PublicKey]:
    """The manifest's control keys, as a gate learns them."""
    manifest = await publishing.manifest_update(env, SITE, published_seq=None, force=False)
    assert manifest is not None
    root = public_from_raw(bytes.fromhex(root_hex))
    keys = trusted_keys(open_manifest(manifest.messages[0].payload, root, site=SITE))
    return {kid: k.public for kid, k in keys.items() if k.use == KeyUse.CONTROL}


async def test_revocations_delta_on_change_and_heartbeat_when_due(tmp_path: Path) -> None:
    site = await build(tmp_path)
    env = site.env()
    try:
        first = await publishing.revocation_update(env, SITE, published=None, force=False)
        assert first is not None
        assert [m.topic for m in first.messages] == [
            str(site_topic(SITE, TopicKind.REVOCATIONS_FULL))
        ]
        await publishing.record(env, first)
        assert (
            await publishing.revocation_update(env, SITE, published=first.record, force=False)
            is None
        )
        again = await publishing.revocation_update(env, SITE, published=first.record, force=True)
        assert again is not None
        assert again.messages[0].payload == first.messages[0].payload  # a resend, not a new list
        household = await registry.save_household(
            env,
            CLI_ACTOR,
            None,
            registry.HouseholdFields(zone_id=1, building="1", unit="1", room="1"),
        )
        person = await residents.save(
            env,
            CLI_ACTOR,
            None,
            residents.ResidentFields(household_id=household.id, name="赵六", role="owner"),
        )
        issued = await passes.issue_resident(env, CLI_ACTOR, person.id)
        await passes.revoke(env, CLI_ACTOR, [issued.id], "lost")
        changed = await publishing.revocation_update(env, SITE, published=first.record, force=False)
        assert changed is not None
        assert [m.retain for m in changed.messages] == [False, True]  # the delta, then the list
        manifest = await publishing.manifest_update(env, SITE, published_seq=None, force=False)
        assert manifest is not None
        keys = trusted_keys(
            open_manifest(
                manifest.messages[0].payload,
                public_from_raw(bytes.fromhex(site.root_hex)),
                site=SITE,
            )
        )
        revlist = {kid: k.public for kid, k in keys.items() if k.use == KeyUse.REVLIST}
        state = apply_full(None, open_full(first.messages[0].payload, revlist, site=SITE))
        state = apply_delta(state, open_delta(changed.messages[0].payload, revlist, site=SITE))
        assert bytes.fromhex(issued.ref) in state.refs
        await publishing.record(env, changed)
        site.clock.advance(env.settings.revocation_next_update_s // 2)
        heartbeat = await publishing.revocation_update(
            env, SITE, published=changed.record, force=False
        )
        assert heartbeat is not None
        assert heartbeat.record.seq == changed.record.seq
        assert heartbeat.record.issued_at > changed.record.issued_at
        assert heartbeat.record.published_at == changed.record.published_at  # same seq
    finally:
        await env.db.close()


async def test_configs_rise_on_change_and_a_removed_gate_is_cleared(tmp_path: Path) -> None:
    site = await build(tmp_path)
    env = site.env()
    try:
        first = await publishing.config_updates(env, SITE, force=False)
        assert sorted(u.record.gate for u in first) == ["east-in", "east-out"]
        control = await _control_keys(env, site.root_hex)
        configs = [
            open_config(u.messages[0].payload, control, site=SITE, gate=u.record.gate)
            for u in sorted(first, key=lambda u: u.record.gate)
        ]
        assert [(c.gate, c.peer_ids) for c in configs] == [
            ("east-in", ["east-out"]),  # the other lane of its zone: the ACL names the same
            ("east-out", ["east-in"]),
        ]
        for update in first:
            await publishing.record(env, update)
        assert await publishing.config_updates(env, SITE, force=False) == []
        assert len(await publishing.config_updates(env, SITE, force=True)) == 2
        await registry.delete_gate(env, CLI_ACTOR, "east-out")
        removal = await publishing.config_updates(env, SITE, force=False)
        assert [(u.messages[0].topic, u.messages[0].payload) for u in removal][1:] == [
            (str(gate_topic(SITE, "east-out", TopicKind.CONFIG)), b"")
        ]
        # east-in lost its only peer: its new signed config names none
        assert removal[0].record.gate == "east-in"
        assert removal[0].record.version == 2
    finally:
        await env.db.close()


async def test_a_policy_changed_while_its_config_is_published_is_published_next(
    tmp_path: Path,
) -> None:
    """An admin changes a gate's policy between the link signing a config and recording it
    as published: the change is not overwritten, and the next round publishes it."""
    site = await build(tmp_path)
    env = site.env()
    try:
        (first,) = [
            u
            for u in await publishing.config_updates(env, SITE, force=False)
            if u.record.gate == "east-in"
        ]
        await gate_policy.set_policy(env, CLI_ACTOR, "east-in", {"apb_minutes": 3})
        await publishing.record(env, first)
        again = [
            u
            for u in await publishing.config_updates(env, SITE, force=False)
            if u.record.gate == "east-in"
        ]
    finally:
        await env.db.close()
    assert first.record.version == 1
    assert len(again) == 1
    assert (again[0].record.version, again[0].record.policy) == (2, {"apb_minutes": 3})
