"""The three-way decision for each field of a person an import matched (issue 16 item 3).

For every field the file gives (phone, role, note, home observation) the file's value, the
registry's and the baseline (what the last import wrote) decide together: the file changed it
and the registry did not — update; the registry changed it (the UI, the API) and the file did
not — keep the registry's; both — a conflict, not overwritten. A resident no import wrote has no
baseline, so any difference is a conflict. Home observation compares (under observation, start):
a 是 without a date matches any observation on file, so a later re-import restarts nothing.

Pure: no I/O, no clock (the options carry the import day).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from server.records import ImportBaseline, Resident
from server.services.registry.register_rows import Person

MOVED_OUT = "moved_out"
OBSERVING = "home_observation"
Observation = tuple[bool, int | None]  # (under observation, its start)


@dataclass(frozen=True, slots=True)
class Options:
    """The operator's choices: default zone, rows confirmed, observation length, today."""

    zone: str | None = None
    confirm_rows: frozenset[int] = frozenset()
    observation_days: int = 14
    today_start: int = 0  # local midnight of the import day, unix seconds
    utc_offset_min: int = 480
    columns: frozenset[str] = frozenset(("phone", "role", "note"))  # what the file has


@dataclass(frozen=True, slots=True)
class Update:
    """A matched person: the fields the file changes, what stays for a conflict."""

    person: Person
    resident: Resident
    changes: dict[str, object]  # field -> new value (observation: Observation)
    conflicts: tuple[str, ...]
    baseline: ImportBaseline  # what the import writes as its baseline for this resident
    stored: ImportBaseline | None  # the baseline the last import wrote
    returned: bool  # was moved out, is in the register again

    @property
    def writes(self) -> bool:
        """Whether the resident's row changes."""
        return bool(self.changes) or self.returned


def _local_start(day: dt.date, utc_offset_min: int) -> int:
    midnight = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    return int(midnight.timestamp()) - utc_offset_min * 60


def file_observation(person: Person, options: Options) -> Observation | None:
    """The observation a row asks for: None when the file does not say."""
    if person.observed is None:
        return None
    if not person.observed:
        return (False, None)
    start = None if person.start is None else _local_start(person.start, options.utc_offset_min)
    return (True, start)


def observation_bounds(wanted: Observation, options: Options) -> tuple[int | None, int | None]:
    """The (start, end) written for an observation the file asks for."""
    if not wanted[0]:
        return None, None
    start = wanted[1] if wanted[1] is not None else options.today_start
    return start, start + options.observation_days * 86400


def _current_observation(resident: Resident) -> Observation:
    if resident.status == OBSERVING:
        return (True, resident.observation_start)
    return (False, None)


def _same_observation(wanted: Observation, have: Observation) -> bool:
    """Equal, where a 是 without a date matches any observation already on file."""
    if wanted[0] != have[0]:
        return False
    return not wanted[0] or wanted[1] is None or wanted[1] == have[1]


def _same(name: str, wanted: object, have: object) -> bool:
    if name == "observation":
        return _same_observation(wanted, have)  # type: ignore[arg-type]
    return wanted == have


def _file_values(person: Person, options: Options) -> dict[str, object]:
    """The fields the file says something about (a column it lacks changes nothing)."""
    given = {"phone": person.phone, "role": person.role, "note": person.note}
    values: dict[str, object] = {k: v for k, v in given.items() if k in options.columns}
    observation = file_observation(person, options)
    if observation is not None:
        values["observation"] = observation
    return values


def _current_values(resident: Resident) -> dict[str, object]:
    return {
        "phone": resident.phone,
        "role": resident.role,
        "note": resident.note,
        "observation": _current_observation(resident),
    }


def _baseline_values(baseline: ImportBaseline) -> dict[str, object]:
    return {
        "phone": baseline.phone,
        "role": baseline.role,
        "note": baseline.note,
        "observation": (baseline.observed, baseline.observation_start),
    }


def decide(
    person: Person, resident: Resident, baseline: ImportBaseline | None, options: Options, now: int
) -> Update:
    """The three-way decision for every field of one matched person."""
    wanted = _file_values(person, options)
    have = _current_values(resident)
    base = _baseline_values(baseline) if baseline is not None else None
    changes: dict[str, object] = {}
    conflicts: list[str] = []
    written = dict(base) if base is not None else dict(have)
    for name, value in wanted.items():
        if _same(name, value, have[name]):
            written[name] = have[name]  # the file and the registry agree
        elif base is not None and _same(name, base[name], have[name]):
            changes[name] = value  # only the file changed it
            written[name] = value
        elif base is not None and _same(name, value, base[name]):
            pass  # only the UI changed it: the UI's value stays
        else:
            conflicts.append(name)  # both changed, or never imported: not overwritten
    observation: Observation = written["observation"]  # type: ignore[assignment]
    observed, start = observation[0], observation[1] if observation[0] else None
    if "observation" in changes:
        start = observation_bounds(changes["observation"], options)[0]  # type: ignore[arg-type]
    new_base = ImportBaseline(
        resident_id=resident.id,
        phone=written["phone"],  # type: ignore[arg-type]
        role=written["role"],  # type: ignore[arg-type]
        note=written["note"],  # type: ignore[arg-type]
        observed=bool(observed),
        observation_start=start,
        imported_at=now,
    )
    return Update(
        person,
        resident,
        changes,
        tuple(conflicts),
        new_base,
        baseline,
        resident.status == MOVED_OUT,
    )
