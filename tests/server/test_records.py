"""The store's edge: records match their tables, the migrations build exactly the schema the
store queries, and driver errors arrive as the store's own (never SQLAlchemy's)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from server import records
from server.records import chat
from server.store import schema, schema_gates
from server.store.db import Database, sqlite_url
from server.store.errors import IntegrityViolation, StoreError, Unavailable
from server.store.migrate import upgrade

# record -> (table, columns the record adds from a join, columns it leaves out)
TABLE_RECORDS: dict[type[records.Record], tuple[sa.Table, set[str], set[str]]] = {
    records.Site: (schema.sites, set(), set()),
    records.Zone: (schema.zones, set(), set()),
    records.Gate: (schema.gates, set(), set()),
    records.Household: (schema.households, set(), set()),
    records.ResidentData: (schema.residents, set(), {"id"}),
    records.Resident: (schema.residents, {"zone_id", "label"}, set()),
    records.Visitor: (schema.visitors, {"zone_id", "label"}, set()),
    records.FollowupCall: (schema.followup_calls, set(), set()),
    records.DeletionReceipt: (schema.deletion_receipts, set(), set()),
    records.ImportBaseline: (schema.import_baselines, set(), set()),
    records.Staff: (schema.staff, set(), set()),
    records.StoredSession: (schema.sessions, set(), set()),
    records.LoginFailures: (schema.login_failures, set(), set()),
    records.AuditEntry: (schema.audit_log, set(), set()),
    records.Pass: (schema.passes, set(), set()),
    records.HeldPass: (schema.passes, set(), {"text", "pass_id"}),
    records.HouseholdCutoff: (schema.household_cutoffs, set(), set()),
    records.PassLock: (schema.pass_locks, set(), set()),
    records.CardPin: (schema.card_pins, set(), set()),
    records.Key: (schema.keys, set(), set()),
    records.PhoneKey: (schema.phone_keys, set(), set()),
    records.Manifest: (schema.manifests, set(), set()),
    records.EventData: (schema.events, set(), {"id"}),
    records.Event: (schema.events, set(), set()),
    records.IngestState: (schema_gates.gate_ingest, set(), set()),
    records.LaneStatus: (schema_gates.gate_status, set(), set()),
    records.SeqGap: (schema_gates.seq_gaps, set(), set()),
    records.DeadLetter: (schema_gates.dead_letters, set(), set()),
    records.Alert: (schema_gates.alerts, set(), set()),
    records.SentCommand: (schema_gates.commands, set(), set()),
    records.ConfigVersion: (schema_gates.gate_configs, set(), set()),
    records.BrokerAccount: (schema_gates.broker_accounts, set(), set()),
    records.Published: (schema_gates.link_published, set(), set()),
    records.FollowupCaller: (schema.followup_callers, set(), set()),
    records.AlertAction: (schema_gates.alert_actions, set(), set()),
    records.CheckRefusal: (schema_gates.refusals, set(), set()),
    chat.ChatChannel: (schema_gates.chat_channels, set(), set()),
    chat.ChatRoute: (schema_gates.chat_routes, set(), set()),
    chat.ChatNotice: (schema_gates.chat_notices, set(), set()),
    chat.ChatDelivery: (schema_gates.chat_deliveries, set(), set()),
    records.ZonePolicy: (schema_gates.zone_policies, set(), set()),
}


@pytest.mark.parametrize("record", list(TABLE_RECORDS), ids=lambda r: r.__name__)
def test_a_table_record_has_exactly_its_tables_columns(record: type[records.Record]) -> None:
    table, joined, left_out = TABLE_RECORDS[record]
    columns = {c.name for c in table.c}
    assert set(record.__struct_fields__) == (columns - left_out) | joined


def test_every_table_has_a_record() -> None:
    tables = {t.name for t in schema.metadata.sorted_tables}
    with_records = {t.name for t, _, _ in TABLE_RECORDS.values()}
    # key-value tables read as scalars, and the set of erased people's fingerprints
    assert tables - with_records == {"counters", "settings", "erased_fingerprints"}


def test_migrations_build_exactly_the_schema_the_store_queries(tmp_path: Path) -> None:
    async def differences() -> list[object]:
        db = Database(sqlite_url(tmp_path / "r.db"))
        await upgrade(db)
        async with db.read() as conn:
            found = await conn.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c), schema.metadata)
            )
        await db.close()
        return list(found)

    assert asyncio.run(differences()) == []


async def write_read_only(db: Database) -> None:
    """A write the database cannot take now (SQLite refuses it: a read-only connection)."""
    async with db.write() as conn:
        await conn.exec_driver_sql("PRAGMA query_only = 1")
        try:
            await conn.execute(sa.insert(schema.counters).values(name="x", value=1))
        finally:
            await conn.exec_driver_sql("PRAGMA query_only = 0")


async def read_missing_table(db: Database) -> None:
    """A statement the database refuses (SQLite reports it as an operational error too)."""
    async with db.read() as conn:
        await conn.exec_driver_sql("SELECT * FROM no_such_table")


def test_driver_errors_become_the_stores_own(tmp_path: Path) -> None:
    async def go() -> None:
        db = Database(sqlite_url(tmp_path / "r.db"))
        await upgrade(db)
        insert = sa.insert(schema.counters).values(name="seq", value=1)
        async with db.write() as conn:
            await conn.execute(insert)
        with pytest.raises(IntegrityViolation) as duplicate:
            async with db.write() as conn:
                await conn.execute(insert)
        assert isinstance(duplicate.value.__cause__, sa.exc.IntegrityError)
        with pytest.raises(Unavailable, match="readonly"):
            await write_read_only(db)
        with pytest.raises(StoreError):
            await read_missing_table(db)
        async with db.read() as conn:  # nothing half-written: only the first insert is there
            assert (await conn.execute(sa.select(schema.counters))).all() == [("seq", 1)]
        await db.close()

    asyncio.run(go())


def test_records_are_frozen_and_replaced_not_changed() -> None:
    zone = records.Zone(id=1, site_id="gw01", name="east", created_at=0)
    with pytest.raises(AttributeError):
        zone.name = "west"  # type: ignore[misc]
    assert msgspec.structs.replace(zone, name="west").name == "west"
    assert zone.name == "east"
