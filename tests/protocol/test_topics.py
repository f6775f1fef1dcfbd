"""Topics: every kind builds and parses back, ids are validated, wildcards match as MQTT does."""

from __future__ import annotations

import pytest

from protocol import topics
from protocol.errors import IdError, TopicError
from protocol.topics import SPECS, Topic, TopicKind


@pytest.mark.parametrize("kind", list(TopicKind))
def test_every_kind_round_trips(kind: TopicKind) -> None:
    built = (
        topics.gate_topic("gw01", "east-in", kind)
        if SPECS[kind].per_gate
        else topics.site_topic("gw01", kind)
    )
    assert topics.parse_topic(str(built)) == built
    assert str(built).startswith("gatepass/v1/gw01/")


def test_wire_strings_are_the_documented_ones() -> None:
    assert (
        str(topics.gate_topic("gw01", "a1", TopicKind.COMMAND_RESULTS))
        == "gatepass/v1/gw01/gates/a1/command-results"
    )
    assert (
        str(topics.site_topic("gw01", TopicKind.REVOCATIONS_DELTA))
        == "gatepass/v1/gw01/revocations/delta"
    )
    assert topics.all_gates("gw01", TopicKind.STATUS) == "gatepass/v1/gw01/gates/+/status"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "GW01",
        "gw_01",
        "gw/01",
        "+",
        "#",
        "-gw",
        "gw-",
        "a" * 33,
        "gw 01",
        "gw01\n",
        "ｇｗ01",
        "é",
    ],
)
def test_bad_ids_are_refused(bad: str) -> None:
    with pytest.raises(IdError):
        topics.validate_id(bad, "site")
    with pytest.raises((IdError, TopicError)):
        topics.gate_topic("gw01", bad, TopicKind.EVENTS)


def test_longest_id_is_accepted() -> None:
    assert topics.validate_id("a" * 32) == "a" * 32


@pytest.mark.parametrize(
    "text",
    [
        "gatepass/v2/gw01/gates/a/status",
        "gatepass/v1/gw01/gates/a/unknown",
        "gatepass/v1/gw01/gates/a/status/extra",
        "gatepass/v1/gw01/gates/A/status",
        "gatepass/v1/gw01/trust/other",
        "gatepass/v1/gw01/gates/+/status",
        "gatepass/v1//gates/a/status",
        "other/v1/gw01/server/status",
        "",
    ],
)
def test_parse_refuses_what_is_not_ours(text: str) -> None:
    with pytest.raises(TopicError):
        topics.parse_topic(text)


def test_site_topic_takes_no_gate_and_gate_topic_needs_one() -> None:
    with pytest.raises(TopicError):
        Topic("gw01", TopicKind.MANIFEST, "a")
    with pytest.raises(TopicError):
        topics.gate_topic("gw01", "a", TopicKind.MANIFEST)
    with pytest.raises(IdError):
        Topic("gw01", TopicKind.EVENTS)


@pytest.mark.parametrize(
    ("topic", "flt", "expected"),
    [
        ("a/b/c", "a/b/c", True),
        ("a/b/c", "a/+/c", True),
        ("a/b/c", "a/#", True),
        ("a/b/c", "#", True),
        ("a", "a/#", True),  # "#" also matches the parent level
        ("a/b", "a/+", True),
        ("a/b/c", "a/+", False),
        ("a/b", "a/b/c", False),
        ("$SYS/x", "#", False),
        ("$SYS/x", "+/x", False),
        ("$SYS/x", "$SYS/#", True),
        ("a//b", "a/+/b", True),
    ],
)
def test_matches(topic: str, flt: str, expected: bool) -> None:
    assert topics.matches(topic, flt) is expected


def test_gate_acl_confines_a_gate_to_its_own_topics() -> None:
    rules = topics.gate_acl("gw01")
    writes = {t for a, t in rules if a == "write"}
    assert writes == {
        f"gatepass/v1/gw01/gates/%u/{k}"
        for k in ("status", "events", "presence", "command-results", "time-requests")
    }
    reads = {t for a, t in rules if a == "read"}
    assert "gatepass/v1/gw01/gates/%u/commands" in reads
    assert "gatepass/v1/gw01/gates/%u/time" in reads  # its own signed time answers only
    assert not any("/+/" in t or "#" in t for _, t in rules)  # no gate reads other gates


def test_peer_acl_names_each_peer_and_only_their_presence() -> None:
    rules = topics.peer_acl("gw01", ["west-in", "east-out"])
    assert rules == [
        ("read", "gatepass/v1/gw01/gates/east-out/presence"),
        ("read", "gatepass/v1/gw01/gates/west-in/presence"),
    ]
    assert all(t.startswith("gatepass/v1/gw01/") for _, t in rules + topics.server_acl("gw01"))
