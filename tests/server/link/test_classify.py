"""Validation of single messages (pure): every bad input of 9.2 item 4 has its own reason."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from server.services.ingest.classify import classify
from server.services.ingest.model import Accepted, Message, Rejected

NOW_MS = 1_790_000_000_000
OLDEST_MS = NOW_MS - 180 * 86400 * 1000
TOPIC = "gatepass/v1/gw01/gates/east-in/events"


def good(**changes: Any) -> dict[str, Any]:
    body = {
        "schema": 1,
        "kind": "decision",
        "event_id": str(uuid.uuid4()),
        "site": "gw01",
        "gate": "east-in",
        "seq": 7,
        "boot_id": "ab" * 16,
        "at": NOW_MS,
        "clock_trusted": True,
        "lane": "in",
        "offline": False,
        "granted": True,
        "reason": "ok",
    }
    return body | changes


def check(payload: bytes, topic: str = TOPIC) -> Accepted | Rejected:
    return classify("gw01", Message(topic, payload), now_ms=NOW_MS, oldest_ms=OLDEST_MS)


def test_a_good_event_is_accepted() -> None:
    result = check(json.dumps(good()).encode())
    assert isinstance(result, Accepted)
    assert result.gate == "east-in"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (json.dumps(good(at=NOW_MS + 10 * 365 * 86400 * 1000)).encode(), "time_in_future"),
        (json.dumps(good(at=NOW_MS - 400 * 86400 * 1000)).encode(), "time_too_old"),
        (json.dumps({k: v for k, v in good().items() if k != "seq"}).encode(), "wrong_type"),
        (json.dumps(good(extra=1)).encode(), "unknown_field"),
        (json.dumps(good(seq="7")).encode(), "wrong_type"),
        (json.dumps(good(granted=1)).encode(), "wrong_type"),
        (
            json.dumps(
                good(
                    temperatures=[
                        {"object_c": 36.0, "ambient_c": 20.0, "offset_c": 0.5, "body_c": 36.5}
                    ]
                )
            )
            .replace("36.5", "NaN")
            .encode(),
            "malformed_message",
        ),
        (
            json.dumps(
                good(
                    temperatures=[
                        {"object_c": 1e999, "ambient_c": 20.0, "offset_c": 0.5, "body_c": 36.5}
                    ]
                )
            ).encode(),
            "malformed_message",
        ),
        (b"{not json", "malformed_message"),
        (b"[" * 10_000 + b"]" * 10_000, "payload_too_large"),
        (b"[" * 1000 + b"]" * 1000, "wrong_type"),
        (json.dumps(good(note="x" * 5000)).encode(), "payload_too_large"),
        (json.dumps(good(schema=2)).encode(), "unsupported_version"),
        (json.dumps(good(gate="east-out")).encode(), "gate_mismatch"),
        (json.dumps(good(site="gw02")).encode(), "gate_mismatch"),
        (json.dumps(good(note="a\nforged log line")).encode(), "out_of_range"),
        (b"", "malformed_message"),
    ],
)
def test_bad_payloads_are_rejected_with_their_reason(payload: bytes, reason: str) -> None:
    result = check(payload)
    assert isinstance(result, Rejected)
    assert result.reason == reason, result.detail


@pytest.mark.parametrize(
    ("topic", "reason"),
    [
        ("gatepass/v1/gw02/gates/east-in/events", "wrong_site"),
        ("gatepass/v1/gw01/gates/east-in/acks", "not_for_server"),
        ("gatepass/v1/gw01/trust/manifest", "not_for_server"),
        ("gatepass/v1/gw01/gates/EAST/events", "bad_topic"),
        ("elsewhere/x", "bad_topic"),
    ],
)
def test_topics_the_server_does_not_ingest(topic: str, reason: str) -> None:
    result = check(json.dumps(good()).encode(), topic)
    assert isinstance(result, Rejected)
    assert result.reason == reason


def test_a_mismatch_is_flagged_for_audit() -> None:
    result = check(json.dumps(good(gate="east-out")).encode())
    assert isinstance(result, Rejected)
    assert result.impersonation is True
