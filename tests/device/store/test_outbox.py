"""The gate's store on real SQLite files: durability settings, order, acks, limits, corruption."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from device.core.state import GateState, Presence
from device.store.db import StoreError, pragmas
from device.store.outbox import RESERVE, GateStore, OutboxFull
from protocol.messages import GateEvent, LaneDirection
from tests.device.store.helpers import events

_OPEN: list[GateStore] = []


async def open_store(path: Path, max_events: int = 100, reseed: int = 10**12) -> GateStore:
    store = await GateStore.open(path, max_events=max_events, reseed=reseed)
    _OPEN.append(store)
    return store


@pytest.fixture(autouse=True)
async def close_stores() -> AsyncIterator[None]:
    """A failing test must not leave aiosqlite's (non-daemon) thread running."""
    yield
    while _OPEN:
        await _OPEN.pop().close()


async def test_durable_pragmas(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "gate.db")
    assert await store.run(pragmas) == {
        "journal_mode": "wal",
        "synchronous": 2,
        "busy_timeout": 5000,
        "wal_autocheckpoint": 0,  # no person's commit copies the WAL back; checkpoint() does
    }
    await store.close()


async def test_acks_go_in_chunks_and_the_wal_is_checkpointed_beside_the_writer(
    tmp_path: Path,
) -> None:
    db = tmp_path / "gate.db"
    store = await open_store(db, max_events=1000)
    empty = db.stat().st_size
    await store.record(events(1, 250))
    assert db.stat().st_size == empty  # no commit copied the WAL back
    assert [await store.ack(240, limit=100) for _ in range(4)] == [100, 100, 40, 0]
    assert (store.depth, await store.floor_seq()) == (10, 241)
    assert await store.checkpoint() == 0  # everything is in the database file now
    assert db.stat().st_size > empty + 100_000
    await store.record(events(251, 1))
    assert await store.checkpoint() == 0
    assert [p.seq for p in await store.pending(0, 100)] == [*range(241, 252)]
    await store.close()


async def test_record_pending_ack_and_reopen(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "gate.db")
    batch = events(1, 5)
    await store.record(batch[:2])
    await store.record(batch[2:])
    pending = await store.pending(0, 10)
    assert [p.seq for p in pending] == [1, 2, 3, 4, 5]
    first = msgspec.json.decode(pending[0].payload, type=GateEvent)
    assert first.seq == 1
    assert await store.ack(3) == 3
    assert store.depth == 2
    assert await store.floor_seq() == 4
    assert [p.seq for p in await store.pending(4, 10)] == [5]
    await store.close()
    again = await open_store(tmp_path / "gate.db")
    assert (again.next_seq, again.depth) == (6, 2)  # seq survives; nothing acked comes back
    await again.ack(5)
    assert await again.floor_seq() == 6
    await again.close()


async def test_seqs_must_be_the_next_ones(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "gate.db")
    with pytest.raises(ValueError, match="seqs"):
        await store.record(events(2))
    assert await store.pending(0, 10) == []
    await store.close()


async def test_state_of_touched_refs_is_committed_with_the_events(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "gate.db")
    state = GateState().with_grant("aa" * 8, LaneDirection.IN, "east-in", 100)
    state = state.with_wrong_digits("bb" * 8, 2).with_lock("cc" * 8, 99)
    await store.record(events(1), state, ["aa" * 8, "bb" * 8, "cc" * 8])
    await store.close()
    loaded = await (store := await open_store(tmp_path / "gate.db")).load_state()
    assert loaded.presence == {"aa" * 8: Presence(LaneDirection.IN, 100, "east-in")}
    assert loaded.uses == {"aa" * 8: 1}
    assert loaded.wrong_digits == {"bb" * 8: 2}
    assert loaded.locks == {"cc" * 8: 99}
    await store.save_state(loaded.with_unlock("cc" * 8), ["cc" * 8])
    assert (await store.load_state()).locks == {}
    await store.close()


async def test_bounded_with_a_reserve_for_alarms(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "gate.db", max_events=10)
    await store.record(events(1, 8))
    assert store.high
    await store.record(events(9, 2))
    with pytest.raises(OutboxFull):
        await store.record(events(11))
    await store.record(events(11), priority=True)  # an alarm or override still gets a row
    assert store.room_for(RESERVE - 1, priority=True)
    assert not store.room_for(RESERVE, priority=True)
    await store.close()


async def test_blobs_and_time_floor(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "gate.db")
    assert await store.get_blob("manifest") is None
    await store.put_blob("manifest", b"\x01")
    await store.put_blob("manifest", b"\x02")
    assert await store.get_blob("manifest") == b"\x02"
    await store.raise_time_floor(500)
    await store.raise_time_floor(400)  # never moves down
    assert await store.time_floor() == 500
    await store.close()


def corrupt_header(path: Path) -> None:
    with path.open("r+b") as f:
        f.write(b"this is not a database at all, sorry" * 3)


def corrupt_page(path: Path) -> None:
    """Zero out the middle of the file: a damaged b-tree page."""
    size = path.stat().st_size
    with path.open("r+b") as f:
        f.seek(size // 2)
        f.write(b"\xff" * 4096)


def truncate(path: Path) -> None:
    with path.open("r+b") as f:
        f.truncate(path.stat().st_size // 3)


def empty(path: Path) -> None:
    path.write_bytes(b"")


@pytest.mark.parametrize("damage", [corrupt_header, corrupt_page, truncate, empty])
async def test_corrupt_store_is_quarantined_and_replaced(tmp_path: Path, damage: object) -> None:
    path = tmp_path / "gate.db"
    store = await open_store(path, max_events=1000)
    for i in range(40):  # enough rows for several pages
        await store.record(events(1 + i * 10, 10))
    await store.close()
    damage(path)  # type: ignore[operator]
    fresh = await open_store(path, reseed=5_000_000)
    assert fresh.quarantined is not None, "a damaged store was reused"
    assert fresh.quarantined.exists()
    assert (fresh.next_seq, fresh.depth) == (5_000_000, 0)
    await fresh.record(events(5_000_000))
    await fresh.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


async def test_disk_full_fails_cleanly_and_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "gate.db"
    store = await open_store(path, max_events=10**6)
    await store.record(events(1, 3))
    pages = await store.run(lambda c: c.execute("PRAGMA page_count").fetchone()[0])
    await store.run(lambda c: c.execute(f"PRAGMA max_page_count = {pages + 1}"))

    async def fill() -> None:
        for _ in range(200):
            await store.record(events(store.next_seq, 50))

    with pytest.raises(StoreError):
        await fill()
    committed = store.next_seq - 1
    await store.close()
    again = await open_store(path)
    assert [p.seq for p in await again.pending(0, 10**6)] == list(range(1, committed + 1))
    await again.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
