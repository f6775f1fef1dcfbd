"""Every MQTT topic of the system, built and parsed here and nowhere else (design.md 5).

``gatepass/v1/{site}/gates/{gate}/{status|events|presence|acks|config|commands|command-results|
time-requests|time}``,
``gatepass/v1/{site}/trust/manifest``, ``gatepass/v1/{site}/revocations/{full|delta}`` and
``gatepass/v1/{site}/server/status``. Ids are lower-case ``[a-z0-9-]``, 1-32 characters, no
leading or trailing hyphen, so they can never contain a wildcard or a level separator.

A gate reads nothing another gate wrote except the ``presence`` of the peers its signed config
names (anti-passback across lanes); the broker's ACL names those peers one by one
(``peer_acl``). Locks and holds reach gates only from the server, signed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from protocol.errors import IdError, TopicError
from protocol.schema import ID_PATTERN

__all__ = [
    "PREFIX",
    "SPECS",
    "Direction",
    "Topic",
    "TopicKind",
    "TopicSpec",
    "all_gates",
    "gate_acl",
    "gate_topic",
    "matches",
    "parse_topic",
    "peer_acl",
    "server_acl",
    "site_topic",
    "validate_id",
]

PREFIX = "gatepass/v1"
MAX_ID_LENGTH = 32
_ID = re.compile(ID_PATTERN)


class Direction(StrEnum):
    """Who publishes on a topic."""

    GATE_TO_SERVER = "gate->server"
    GATE_TO_PEERS = "gate->peers"
    SERVER_TO_GATE = "server->gate"
    SERVER_TO_ALL = "server->all"


class TopicKind(StrEnum):
    """The kinds of topic; a gate-scoped kind's value is its last level."""

    STATUS = "status"
    EVENTS = "events"
    PRESENCE = "presence"
    ACKS = "acks"
    CONFIG = "config"
    COMMANDS = "commands"
    COMMAND_RESULTS = "command-results"
    TIME_REQUESTS = "time-requests"
    TIME = "time"
    MANIFEST = "trust/manifest"
    REVOCATIONS_FULL = "revocations/full"
    REVOCATIONS_DELTA = "revocations/delta"
    SERVER_STATUS = "server/status"


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """How a kind of topic is used: per gate or per site, who sends, retained, payload cap."""

    per_gate: bool
    direction: Direction
    retained: bool
    max_payload: int


KIB = 1024
SPECS: dict[TopicKind, TopicSpec] = {
    TopicKind.STATUS: TopicSpec(True, Direction.GATE_TO_SERVER, True, 4 * KIB),
    TopicKind.EVENTS: TopicSpec(True, Direction.GATE_TO_SERVER, False, 4 * KIB),
    TopicKind.PRESENCE: TopicSpec(True, Direction.GATE_TO_PEERS, False, 512),
    TopicKind.ACKS: TopicSpec(True, Direction.SERVER_TO_GATE, False, 4 * KIB),
    TopicKind.CONFIG: TopicSpec(True, Direction.SERVER_TO_GATE, True, 16 * KIB),
    TopicKind.COMMANDS: TopicSpec(True, Direction.SERVER_TO_GATE, False, 2 * KIB),
    TopicKind.COMMAND_RESULTS: TopicSpec(True, Direction.GATE_TO_SERVER, False, 2 * KIB),
    TopicKind.TIME_REQUESTS: TopicSpec(True, Direction.GATE_TO_SERVER, False, 512),
    TopicKind.TIME: TopicSpec(True, Direction.SERVER_TO_GATE, False, 1 * KIB),
    TopicKind.MANIFEST: TopicSpec(False, Direction.SERVER_TO_ALL, True, 16 * KIB),
    TopicKind.REVOCATIONS_FULL: TopicSpec(False, Direction.SERVER_TO_ALL, True, 4096 * KIB),
    TopicKind.REVOCATIONS_DELTA: TopicSpec(False, Direction.SERVER_TO_ALL, False, 256 * KIB),
    TopicKind.SERVER_STATUS: TopicSpec(False, Direction.SERVER_TO_ALL, True, 1 * KIB),
}
_GATE_KINDS = {k.value: k for k, spec in SPECS.items() if spec.per_gate}
_SITE_KINDS = {k.value: k for k, spec in SPECS.items() if not spec.per_gate}


def validate_id(value: str, what: str = "id") -> str:
    """Return ``value`` if it is a valid id; raise IdError naming ``what`` otherwise."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        shown = value[:40] if isinstance(value, str) else type(value).__name__
        raise IdError(
            f"{what} {shown!r} must be 1-{MAX_ID_LENGTH} of [a-z0-9-], "
            "starting and ending with a letter or digit"
        )
    return value


@dataclass(frozen=True, slots=True)
class Topic:
    """A parsed or built topic; ``str(topic)`` is the wire string."""

    site: str
    kind: TopicKind
    gate: str | None = None

    def __post_init__(self) -> None:
        validate_id(self.site, "site")
        if SPECS[self.kind].per_gate:
            validate_id(self.gate or "", "gate")
        elif self.gate is not None:
            raise TopicError(f"{self.kind.value} is a site topic and takes no gate")

    def __str__(self) -> str:
        if self.gate is None:
            return f"{PREFIX}/{self.site}/{self.kind.value}"
        return f"{PREFIX}/{self.site}/gates/{self.gate}/{self.kind.value}"

    @property
    def spec(self) -> TopicSpec:
        """Direction, retain flag and payload cap for this topic."""
        return SPECS[self.kind]


def gate_topic(site: str, gate: str, kind: TopicKind) -> Topic:
    """A per-gate topic such as the gate's events or commands."""
    if not SPECS[kind].per_gate:
        raise TopicError(f"{kind.value} is not a per-gate topic")
    return Topic(site, kind, gate)


def site_topic(site: str, kind: TopicKind) -> Topic:
    """A site-wide topic: the manifest, revocation lists or the server's status."""
    return Topic(site, kind)


def all_gates(site: str, kind: TopicKind) -> str:
    """The subscription filter for one kind of per-gate topic across every gate of a site."""
    validate_id(site, "site")
    if not SPECS[kind].per_gate:
        raise TopicError(f"{kind.value} is not a per-gate topic")
    return f"{PREFIX}/{site}/gates/+/{kind.value}"


def parse_topic(topic: str) -> Topic:
    """Parse a wire topic; raise TopicError for anything that is not exactly one of ours."""
    head = PREFIX + "/"
    if not topic.startswith(head):
        raise TopicError(f"topic does not start with {head!r}")
    levels = topic[len(head) :].split("/")
    try:
        if len(levels) == 4 and levels[1] == "gates" and levels[3] in _GATE_KINDS:
            return Topic(levels[0], _GATE_KINDS[levels[3]], levels[2])
        rest = "/".join(levels[1:])
        if len(levels) == 3 and rest in _SITE_KINDS:
            return Topic(levels[0], _SITE_KINDS[rest])
    except IdError as exc:
        raise TopicError(f"bad id in topic: {exc}") from None
    raise TopicError(f"unknown topic {topic[:120]!r}")


def matches(topic: str, topic_filter: str) -> bool:
    """MQTT filter matching (``+`` one level, ``#`` the rest; ``$`` topics need a literal)."""
    t_levels = topic.split("/")
    f_levels = topic_filter.split("/")
    if topic.startswith("$") and not topic_filter.startswith("$"):
        return False
    for i, f in enumerate(f_levels):
        if f == "#":
            return i == len(f_levels) - 1
        if i >= len(t_levels) or (f != "+" and f != t_levels[i]):
            return False
    return len(t_levels) == len(f_levels)


def gate_acl(site: str) -> list[tuple[str, str]]:
    """Mosquitto ACL ``pattern`` rules for gate accounts (username = gate id, ``%u``).

    A gate writes only its own status, events, presence, command results and time requests,
    and reads only its own config, commands, acks and time answers, plus the site's manifest,
    revocations and server status. Its peers' presence is granted per gate by ``peer_acl``;
    no gate reads events.
    """
    validate_id(site, "site")
    own = f"{PREFIX}/{site}/gates/%u"
    writes = _own(Direction.GATE_TO_SERVER) + _own(Direction.GATE_TO_PEERS)
    rules = [("write", f"{own}/{k.value}") for k in writes]
    rules += [("read", f"{own}/{k.value}") for k in _own(Direction.SERVER_TO_GATE)]
    rules += [("read", str(site_topic(site, k))) for k in _site_kinds()]
    return rules


def peer_acl(site: str, peers: list[str]) -> list[tuple[str, str]]:
    """ACL ``topic`` rules for one gate's account: read each named peer's presence, no other."""
    return [("read", str(gate_topic(site, peer, TopicKind.PRESENCE))) for peer in sorted(peers)]


def server_acl(site: str) -> list[tuple[str, str]]:
    """ACL ``topic`` rules for the server account: read what gates send, write the rest."""
    validate_id(site, "site")
    rules = [("read", all_gates(site, k)) for k in _own(Direction.GATE_TO_SERVER)]
    rules += [("write", all_gates(site, k)) for k in _own(Direction.SERVER_TO_GATE)]
    rules += [("readwrite", str(site_topic(site, k))) for k in _site_kinds()]
    return rules


def _own(direction: Direction) -> list[TopicKind]:
    return [k for k, s in SPECS.items() if s.per_gate and s.direction == direction]


def _site_kinds() -> list[TopicKind]:
    return [k for k, s in SPECS.items() if not s.per_gate]
