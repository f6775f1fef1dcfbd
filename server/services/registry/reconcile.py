"""Reconciling a checked register with the registry: the plan an import previews and applies.

Pure: it takes the registry as read in one transaction (``Registry``) and the checked rows, and
returns a ``Plan`` — new people, changed fields, people gone, observation changes, conflicts and
rejected rows — without writing. The preview shows the plan; the apply computes it again inside
its write transaction and carries it out, so what was previewed is what is written unless the
registry changed in between (then the new plan is what is written, and reported).

Matching: a row is a person of a household (by building, unit, room) and a name. When a flat has
several people of one name, the phone tells them apart; a row whose phone changed is matched to
the one person of that name left over. Each field (phone, role, note, home observation) is
decided three ways against what the last import wrote (its baseline): the file changed it and
the UI did not — update; the UI changed it and the file did not — keep the UI's value; both —
a conflict, shown and not overwritten. A resident no import wrote has no baseline: a difference
is a conflict. People gone are residents an earlier import wrote, in a building the file covers,
that no row names (a rejected row still protects its person).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from msgspec.structs import replace

from server.records import Household, ImportBaseline, Resident, Zone
from server.services.registry.erased import fingerprint
from server.services.registry.field_decisions import (
    MOVED_OUT,
    Observation,
    Options,
    Update,
    decide,
    file_observation,
)
from server.services.registry.register_rows import Person, Reason, RowError

Address = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class Registry:
    """What an import needs of the registry, read in one transaction."""

    zones: list[Zone]
    households: dict[Address, Household]
    residents: list[Resident]
    baselines: dict[int, ImportBaseline]
    erased: set[str]
    erased_key: bytes | None


@dataclass(frozen=True, slots=True)
class NewPerson:
    """A row that adds a person (and maybe their household)."""

    person: Person
    zone_id: int
    observation: Observation | None
    fingerprint: str | None = None  # set when an erased person is confirmed back


@dataclass
class Plan:
    """Everything an import would do."""

    new: list[NewPerson] = field(default_factory=list)
    matched: list[Update] = field(default_factory=list)
    gone: list[Resident] = field(default_factory=list)
    rejected: list[RowError] = field(default_factory=list)
    new_households: dict[Address, int] = field(default_factory=dict)

    @property
    def updated(self) -> list[Update]:
        """Matched people whose row changes."""
        return [u for u in self.matched if u.writes]

    @property
    def unchanged(self) -> int:
        """Matched people whose row stays as it is."""
        return sum(not u.writes for u in self.matched)

    @property
    def observation_changes(self) -> int:
        """People whose home observation starts or ends (new people under observation too)."""
        started = sum(bool(n.observation and n.observation[0]) for n in self.new)
        return started + sum("observation" in u.changes for u in self.matched)

    @property
    def conflicts(self) -> list[tuple[Update, str]]:
        """(person, field) of every conflict."""
        return [(u, f) for u in self.matched for f in u.conflicts]

    @property
    def changes_anything(self) -> bool:
        """Whether applying the plan writes anything to the registry."""
        return bool(self.new or self.updated or self.gone or self.baselines)

    @property
    def baselines(self) -> list[ImportBaseline]:
        """The baselines that differ from the stored ones (the import day aside)."""
        return [
            u.baseline
            for u in self.matched
            if u.stored is None or replace(u.baseline, imported_at=u.stored.imported_at) != u.stored
        ]


def zone_ids(zones: list[Zone]) -> dict[str, int]:
    """Zone names and numbers (as text) to zone ids."""
    found = {z.name.casefold(): z.id for z in zones}
    return found | {str(z.id): z.id for z in zones}


def duplicates(persons: Iterable[Person]) -> tuple[list[Person], list[RowError]]:
    """Rows that name one person twice: same name in a flat with the same phone, or where one
    of them has no phone (then nothing tells them apart)."""
    seen: dict[tuple[Address, str], list[Person]] = defaultdict(list)
    kept, errors = [], []
    for p in persons:
        earlier = seen[(p.address, p.name)]
        twin = next(
            (q for q in earlier if q.phone is None or p.phone is None or q.phone == p.phone), None
        )
        if twin is not None:
            errors.append(RowError(p.row, "name", Reason.DUPLICATE, twin.row))
        else:
            earlier.append(p)
            kept.append(p)
    return kept, errors


def _pair(
    files: list[Person], current: list[Resident]
) -> tuple[list[tuple[Person, Resident]], list[Person]]:
    """Match the rows of one name in one flat to the residents of that name."""
    left = sorted(current, key=lambda r: (r.status == MOVED_OUT, r.id))
    pairs, unmatched = [], []
    for p in files:
        hit = next((r for r in left if p.phone is not None and r.phone == p.phone), None)
        if hit is None:
            unmatched.append(p)
        else:
            pairs.append((p, hit))
            left.remove(hit)
    for p in list(unmatched):  # a changed phone: the one left of that name
        if left:
            pairs.append((p, left.pop(0)))
            unmatched.remove(p)
    return pairs, unmatched


def _zone_for(
    person: Person, registry: Registry, options: Options, zones: dict[str, int]
) -> int | RowError:
    name = person.zone or options.zone
    if name is not None:
        zone = zones.get(name.casefold())
        return zone if zone is not None else RowError(person.row, "zone", Reason.UNKNOWN_ZONE)
    if len(registry.zones) == 1:
        return registry.zones[0].id
    return RowError(person.row, "zone", Reason.NO_ZONE)


def plan(
    registry: Registry,
    persons: list[Person],
    *,
    rejected: list[RowError],
    protected: set[tuple[str, str, str, str]],
    options: Options,
    now: int,
) -> Plan:
    """The plan for checked rows against the registry (see the module docstring)."""
    result = Plan(rejected=list(rejected))
    zones = zone_ids(registry.zones)
    unknown = [p for p in persons if p.zone is not None and p.zone.casefold() not in zones]
    result.rejected += [RowError(p.row, "zone", Reason.UNKNOWN_ZONE) for p in unknown]
    persons, twins = duplicates(p for p in persons if p not in unknown)
    result.rejected += twins
    by_key: dict[tuple[int, str], list[Resident]] = defaultdict(list)
    for r in registry.residents:
        by_key[(r.household_id, r.name)].append(r)
    groups: dict[tuple[Address, str], list[Person]] = defaultdict(list)
    for p in persons:
        groups[(p.address, p.name)].append(p)
    matched_ids: set[int] = set()
    covered: set[tuple[int, str]] = set()
    for (address, name), rows in groups.items():
        household = registry.households.get(address)
        if household is not None:
            covered.add((household.zone_id, address[0]))
            pairs, fresh = _pair(rows, by_key.get((household.id, name), []))
            for p, r in pairs:
                matched_ids.add(r.id)
                result.matched.append(decide(p, r, registry.baselines.get(r.id), options, now))
        else:
            fresh = rows
        for p in fresh:
            _add_new(
                result,
                p,
                household=household,
                registry=registry,
                options=options,
                zones=zones,
                covered=covered,
            )
    result.gone = _gone(registry, matched_ids, covered, protected)
    result.rejected.sort(key=lambda e: (e.row, e.column))
    result.matched.sort(key=lambda u: u.person.row)
    return result


def _add_new(
    result: Plan,
    p: Person,
    *,
    household: Household | None,
    registry: Registry,
    options: Options,
    zones: dict[str, int],
    covered: set[tuple[int, str]],
) -> None:
    """A row of a person not in the registry: new (and their household), erased, or refused."""
    if household is not None:
        zone_id: int | RowError = household.zone_id
    else:
        zone_id = result.new_households.get(p.address) or _zone_for(p, registry, options, zones)
    if isinstance(zone_id, RowError):
        result.rejected.append(zone_id)
        return
    mark = None
    if registry.erased_key is not None and registry.erased:
        mark = fingerprint(registry.erased_key, p.address, p.name)
        if mark not in registry.erased:
            mark = None
        elif p.row not in options.confirm_rows:
            result.rejected.append(RowError(p.row, "name", Reason.ERASED))
            return
    if household is None:
        result.new_households[p.address] = zone_id
        covered.add((zone_id, p.address[0]))
    result.new.append(NewPerson(p, zone_id, file_observation(p, options), mark))


def _gone(
    registry: Registry,
    matched: set[int],
    covered: set[tuple[int, str]],
    protected: set[tuple[str, str, str, str]],
) -> list[Resident]:
    """Residents an earlier import wrote, in a covered building, that no row names."""
    by_id = {h.id: h for h in registry.households.values()}
    gone = []
    for r in registry.residents:
        if r.id in matched or r.id not in registry.baselines or r.status == MOVED_OUT:
            continue
        h = by_id.get(r.household_id)
        if h is None or (h.zone_id, h.building) not in covered:
            continue
        if (h.building, h.unit, h.room, r.name) not in protected:
            gone.append(r)
    return gone
