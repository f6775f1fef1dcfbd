"""The gate applies only verified, newer server messages, keeps them, and refuses the rest."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from device.store.outbox import GateStore
from device.trust import CommandRejected, TrustStore
from protocol import errors
from protocol.keys import generate_ed25519
from protocol.messages import CommandOutcome
from protocol.passes import verify
from protocol.revocation import pack_refs
from tests.support.site import TestSite

GATE = "east-in"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[GateStore]:
    made = await GateStore.open(tmp_path / "gate.db", max_events=1000, reseed=10**12)
    yield made
    await made.close()


@pytest.fixture
def site() -> TestSite:
    return TestSite()


def trust_store(site: TestSite, store: GateStore) -> TrustStore:
    return TrustStore(site.site, GATE, site.root.public_key(), store)


async def test_manifest_then_lists_then_config(site: TestSite, store: GateStore) -> None:
    trust = trust_store(site, store)
    with pytest.raises(errors.UntrustedMessage):
        await trust.on_full(site.full())  # no manifest yet: no revlist key is trusted
    await trust.on_manifest(site.manifest(1))
    text = site.pass_text()
    claims = verify(text, trust.for_passes(), site.now)
    await trust.on_full(site.full(1))
    await trust.on_delta(site.delta(1, 2, add_refs=pack_refs({claims.pass_id[:8]})))
    with pytest.raises(errors.PassRevoked):
        verify(text, trust.for_passes(), site.now)
    config = await trust.on_config(site.config(GATE, version=3, fever_threshold_c=37.5))
    assert config.policy.fever_threshold_c == 37.5


async def test_refusals_keep_the_last_good_state(site: TestSite, store: GateStore) -> None:
    trust = trust_store(site, store)
    await trust.on_manifest(site.manifest(2))
    await trust.on_full(site.full(5))
    await trust.on_config(site.config(GATE, version=3))
    before = (trust.applied.manifest, trust.applied.revocations, trust.applied.config)
    refused = [
        (trust.on_manifest, site.manifest(1), errors.StaleUpdate),
        (trust.on_manifest, TestSite(root=generate_ed25519()).manifest(9), errors.UntrustedMessage),
        (trust.on_manifest, b"\x00" * 20, errors.UntrustedMessage),
        (trust.on_full, site.full(4), errors.StaleUpdate),
        (trust.on_delta, site.delta(7, 8), errors.SequenceGap),
        (trust.on_config, site.config(GATE, version=2), errors.StaleUpdate),
        (trust.on_config, site.config("east-out", version=9), errors.WrongSiteMessage),
        (trust.on_config, b"x" * 100_000, errors.PayloadTooLarge),
    ]
    for apply, data, error in refused:
        with pytest.raises(error):
            await apply(data)
    assert (trust.applied.manifest, trust.applied.revocations, trust.applied.config) == before


async def test_restart_reverifies_what_was_stored(site: TestSite, store: GateStore) -> None:
    trust = trust_store(site, store)
    await trust.on_manifest(site.manifest(1))
    await trust.on_full(site.full(1))
    await trust.on_delta(site.delta(1, 2))
    await trust.on_config(site.config(GATE, version=4))
    again = trust_store(site, store)
    assert await again.restore() == []
    assert again.applied.revocations is not None
    assert again.applied.revocations.seq == 2
    assert again.applied.config is not None
    assert again.applied.config.version == 4


async def test_commands_expire_and_are_never_replayed(site: TestSite, store: GateStore) -> None:
    trust = trust_store(site, store)
    await trust.on_manifest(site.manifest(1))
    data = site.command(GATE)
    command = await trust.open_command(data, site.now)
    assert command.operator == "staff-li"
    with pytest.raises(CommandRejected) as replay:
        await trust.open_command(data, site.now + 1)
    assert replay.value.outcome == CommandOutcome.REPLAYED
    with pytest.raises(CommandRejected) as late:
        await trust.open_command(site.command(GATE), site.now + 61)
    assert late.value.outcome == CommandOutcome.EXPIRED
    restarted = trust_store(site, store)
    await restarted.restore()
    with pytest.raises(CommandRejected):
        await restarted.open_command(data, site.now + 2)  # the replay guard survives a restart
    with pytest.raises(errors.WrongSiteMessage):
        await trust.open_command(site.command("east-out"), site.now)
