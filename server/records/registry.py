"""Records of the registry: the site, its places, the people in them, follow-up calls."""

from __future__ import annotations

from server.records.base import Record


class Site(Record, frozen=True, kw_only=True):
    """The one site this server runs."""

    id: str
    name: str
    created_at: int


class Zone(Record, frozen=True, kw_only=True):
    """A zone: its number is printed into passes."""

    id: int
    site_id: str
    name: str
    created_at: int


class Gate(Record, frozen=True, kw_only=True):
    """A gate (one lane) and the way it faces."""

    id: str
    zone_id: int
    name: str
    direction: str
    created_at: int


class Household(Record, frozen=True, kw_only=True):
    """A household; ``hold_until`` puts all of it under home observation."""

    id: int
    zone_id: int
    building: str
    unit: str
    room: str
    label: str
    hold_until: int | None
    created_at: int
    updated_at: int


class HouseholdMatch(Household, frozen=True, kw_only=True):
    """A household found by its label, and whether the label matched exactly."""

    exact: bool


class ResidentData(Record, frozen=True, kw_only=True):
    """A resident's row before the database numbers it (registration, imports)."""

    household_id: int
    name: str
    phone: str | None
    role: str
    status: str
    observation_start: int | None
    observation_end: int | None
    consent_version: str | None
    consent_at: int | None
    note: str | None
    created_at: int
    updated_at: int


class Resident(ResidentData, frozen=True, kw_only=True):
    """A resident with their household's zone and label."""

    id: int
    zone_id: int
    label: str


class Observation(Record, frozen=True, kw_only=True):
    """A resident's running home observation (for the revocation list's holds)."""

    id: int
    household_id: int
    observation_end: int | None


class ObservedResident(Record, frozen=True, kw_only=True):
    """A resident under home observation, as the follow-up call list shows them."""

    id: int
    name: str
    phone: str | None
    household_id: int
    status: str
    observation_start: int | None
    observation_end: int | None
    label: str
    zone_id: int
    hold_until: int | None


class Visitor(Record, frozen=True, kw_only=True):
    """A registered visitor with their host household's zone and label."""

    id: int
    host_household_id: int
    name: str
    phone: str
    purpose: str
    valid_from: int
    valid_until: int
    registered_by: int | None
    created_at: int
    zone_id: int
    label: str


class FollowupCall(Record, frozen=True, kw_only=True):
    """One call to a resident under home observation (health data)."""

    id: int
    resident_id: int
    at: int
    reached: bool
    temperature_c: float | None
    symptoms: list[str]
    note: str | None
    caller: str


class DeletionReceipt(Record, frozen=True, kw_only=True):
    """Proof that a person's data was erased, with a pseudonymous subject."""

    id: int
    at: int
    subject: str
    actor: str
    passes_revoked: int


class ImportBaseline(Record, frozen=True, kw_only=True):
    """What the last import wrote for one resident, to tell a UI edit from a file change."""

    resident_id: int
    phone: str | None
    role: str
    note: str | None
    observed: bool
    observation_start: int | None
    imported_at: int
