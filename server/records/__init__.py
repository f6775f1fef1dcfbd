"""The server's typed records: what the store's queries return, one frozen struct per row shape.

A record mirrors a table (``Gate``, ``Resident``) or a query's joined row (``EventView``: an
event with its lane and its holder's unit); ``tests/server/test_store.py`` checks every table
record against its table's columns. They are the server's data vocabulary, below every layer:
the store builds them, services pass them on, the edges show them; this package imports nothing
of the server. Records are msgspec structs: built from a row in about a
tenth of a dataclass's time (ingest builds thousands a second), read by attribute, compared by
value, and turned into JSON by the API's response models (``from_attributes``). A copy with
changes is ``msgspec.structs.replace(record, field=value)``.
"""

from __future__ import annotations

from server.records.base import JSON, JSONObject, Record
from server.records.gates import (
    Alert,
    BrokerAccount,
    ConfigVersion,
    DeadLetter,
    Event,
    EventData,
    EventView,
    Grant,
    IngestState,
    LaneStatus,
    Published,
    Refusal,
    SentCommand,
    SeqGap,
    ZonePolicy,
)
from server.records.incidents import AlertAction, CheckRefusal
from server.records.passes import (
    CardPin,
    HeldPass,
    HouseholdCutoff,
    HouseholdHold,
    Key,
    Manifest,
    Pass,
    PassHolder,
    PassLock,
    PhoneKey,
    PrintablePass,
    UnitPlace,
)
from server.records.registry import (
    DeletionReceipt,
    FollowupCall,
    Gate,
    Household,
    HouseholdMatch,
    ImportBaseline,
    Observation,
    ObservedResident,
    Resident,
    ResidentData,
    Site,
    Visitor,
    Zone,
)
from server.records.staff import (
    AuditEntry,
    FollowupCaller,
    LoginFailures,
    Staff,
    StoredSession,
)

__all__ = [
    "JSON",
    "Alert",
    "AlertAction",
    "AuditEntry",
    "BrokerAccount",
    "CardPin",
    "CheckRefusal",
    "ConfigVersion",
    "DeadLetter",
    "DeletionReceipt",
    "Event",
    "EventData",
    "EventView",
    "FollowupCall",
    "FollowupCaller",
    "Gate",
    "Grant",
    "HeldPass",
    "Household",
    "HouseholdCutoff",
    "HouseholdHold",
    "HouseholdMatch",
    "ImportBaseline",
    "IngestState",
    "JSONObject",
    "Key",
    "LaneStatus",
    "LoginFailures",
    "Manifest",
    "Observation",
    "ObservedResident",
    "Pass",
    "PassHolder",
    "PassLock",
    "PhoneKey",
    "PrintablePass",
    "Published",
    "Record",
    "Refusal",
    "Resident",
    "ResidentData",
    "SentCommand",
    "SeqGap",
    "Site",
    "Staff",
    "StoredSession",
    "UnitPlace",
    "Visitor",
    "Zone",
    "ZonePolicy",
]
