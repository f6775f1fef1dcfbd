"""reliability-security.md 9.2 items 1-4, sent with mosquitto_pub under a gate's own account:
each ends as one row, a flagged row, a dead letter, or a refusal by the broker, and the server
goes on ingesting."""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from server.services.live import Hub
from server.store.schema import audit_log, events
from server.store.schema_gates import dead_letters
from tests.faults.harness import SITE, LinkSite, build, running_link, until

pytestmark = [pytest.mark.slow, pytest.mark.broker, pytest.mark.timeout(120)]
GATE = "east-in"
TOPIC = f"gatepass/v1/{SITE}/gates/{GATE}/events"
HUGE = 6 * 1024 * 1024  # above the broker's message_size_limit (5 MiB)


def event(now_ms: int, seq: int, **changes: Any) -> dict[str, Any]:
    body = {
        "schema": 1,
        "kind": "decision",
        "event_id": str(uuid.uuid4()),
        "site": SITE,
        "gate": GATE,
        "seq": seq,
        "boot_id": "ab" * 16,
        "at": now_ms,
        "clock_trusted": True,
        "lane": "in",
        "offline": False,
        "granted": True,
        "reason": "ok",
    }
    return body | changes


def pub(site: LinkSite, payload: bytes, topic: str = TOPIC) -> int:
    """mosquitto_pub with the gate's credentials, QoS 1, the payload from stdin."""
    command = [
        "mosquitto_pub",
        "-h",
        "127.0.0.1",
        "-p",
        str(site.broker.port),
        "-u",
        GATE,
        "-P",
        site.passwords[GATE],
        "-q",
        "1",
        "-t",
        topic,
        "-s" if payload else "-n",
    ]
    done = subprocess.run(command, input=payload, capture_output=True, timeout=30, check=False)
    return done.returncode


def bad_payloads(now_ms: int) -> dict[str, bytes]:
    """Each item-4 input, keyed by the dead-letter reason it must get."""
    nan = json.dumps(
        event(
            now_ms,
            90,
            temperatures=[{"object_c": 36.0, "ambient_c": 20.0, "offset_c": 0.5, "body_c": 0.0}],
        )
    )
    return {
        "time_in_future": json.dumps(event(now_ms + 10 * 365 * 86400_000, 91)).encode(),
        "time_too_old": json.dumps(event(now_ms - 400 * 86400_000, 92)).encode(),
        "wrong_type": json.dumps(
            {k: v for k, v in event(now_ms, 93).items() if k != "event_id"}
        ).encode(),
        "unknown_field": json.dumps(event(now_ms, 94, colour="red")).encode(),
        "malformed_message": nan.replace('"body_c": 0.0', '"body_c": NaN').encode(),
        "out_of_range": json.dumps(event(now_ms, 0)).encode(),
        "payload_too_large": b"[" * 100_000 + b"]" * 100_000,
        "unsupported_version": json.dumps(event(now_ms, 96, schema=9)).encode(),
        "gate_mismatch": json.dumps(event(now_ms, 97, gate="east-out")).encode(),
    }


async def test_every_bad_input_is_refused_or_dead_lettered_and_ingest_goes_on(
    tmp_path: Path,
) -> None:
    site = await build(tmp_path)
    site.broker.start()
    hub = Hub()
    now_ms = site.clock.now() * 1000
    try:
        async with running_link(site, hub), hub.subscribe() as inbox:
            first = json.dumps(event(now_ms, 1)).encode()
            for _ in range(3):  # item 1: duplicate deliveries
                assert await asyncio.to_thread(pub, site, first) == 0
            replay = json.dumps(event(now_ms, 1)).encode()  # item 2: old seq, new id
            assert await asyncio.to_thread(pub, site, replay) == 0
            for payload in bad_payloads(now_ms).values():  # items 3 and 4
                assert await asyncio.to_thread(pub, site, payload) == 0
            for payload in (
                b"{not json",
                b"",
                json.dumps(event(now_ms, 98) | {"seq": "98"}).encode(),
                b"[" * 1000 + b"]" * 1000,
            ):
                assert await asyncio.to_thread(pub, site, payload) == 0
            other_topic = f"gatepass/v1/{SITE}/gates/east-out/events"  # item 3: ACL refuses
            await asyncio.to_thread(
                pub, site, json.dumps(event(now_ms, 5, gate="east-out")).encode(), other_topic
            )
            await asyncio.to_thread(pub, site, b"x" * HUGE)  # above message_size_limit: refused
            last = event(now_ms, 2)
            assert await asyncio.to_thread(pub, site, json.dumps(last).encode()) == 0
            await until(
                inbox,
                lambda n: n["type"] == "event" and n["event"].event_id == last["event_id"],
                within=30,
            )
        env = site.env()
        try:
            async with env.db.read() as conn:
                stored = [
                    dict(r._mapping)
                    for r in await conn.execute(sa.select(events).order_by(events.c.id))
                ]
                letters = [dict(r._mapping) for r in await conn.execute(sa.select(dead_letters))]
                audits = [r.action for r in await conn.execute(sa.select(audit_log.c.action))]
        finally:
            await env.db.close()
    finally:
        site.broker.kill()
    assert [(r["seq"], r["flag"]) for r in stored] == [(1, None), (1, "seq_replay"), (2, None)]
    reasons = sorted(r["reason"] for r in letters)
    wanted = sorted(
        [
            *bad_payloads(now_ms),
            "malformed_message",
            "malformed_message",
            "wrong_type",
            "wrong_type",
        ]
    )
    assert reasons == wanted
    assert max(r["size"] for r in letters) < HUGE  # the broker refused the huge one
    assert "ingest.gate_mismatch" in audits
    assert "ingest.seq_replay" in audits
