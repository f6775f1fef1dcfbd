"""What the office does on the first morning, through the server's API as the staff UI would:
set the demo passwords, add a staff account, print everyone's pass, put a few residents under
home observation, register a few visitors, and set the turnover block's lane policy.

Blocking (it uses deploy.demo.api); the orchestrator runs it in a thread.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

from deploy.demo.api import Api
from deploy.demo.register import BLOCK_ZONE, MAIN_ZONE, Person
from deploy.demo.site import CUT_GATE

ADMIN_USER, ADMIN_PASSWORD = "admin", "demo-lantern-2026"
STAFF_USER, STAFF_PASSWORD = "staff", "demo-harbour-2026"
STAFF_NAME = "值班员 王建国"
OBSERVED = 4  # residents under home observation
VISITORS = (
    ("孙志强", "13912340001", "探望父母"),
    ("快递员 陈师傅", "13912340002", "送大件快递"),
    ("维修工 刘师傅", "13912340003", "上门修理热水器"),
)
DAY = 86400
# The block's only lane: many tenants, so the phone digits always; no exit lane records anyone
# leaving, so logical anti-passback would refuse every second entry (the timed window stays).
BLOCK_POLICY = {"phone_check_resident": "always", "apb_logical": False}


@dataclass(frozen=True, slots=True)
class Holder:
    """Someone with a pass the traffic generator can present."""

    name: str
    label: str
    zone: str
    role: str
    last4: str | None
    text: str
    kind: str = "resident"


@dataclass
class Cast:
    """Everyone the morning at the gates needs."""

    residents: list[Holder]
    observed: list[Holder]
    guard: Holder
    visitors: list[Holder] = field(default_factory=list)
    desk_household: int = 0  # the household the desk's walk-in visitor is visiting

    def in_zone(self, zone: str) -> list[Holder]:
        """Residents (not under observation) of one zone who can answer the keypad: a resident
        without a phone has a card PIN, printed on their card, which the demo never sees."""
        held = {h.text for h in self.observed}
        return [
            h
            for h in self.residents
            if h.zone == zone and h.text not in held and h.last4 is not None
        ]


def first_login(base: str, user: str, one_time: str, password: str) -> Api:
    """Sign in with a one-time password, change it as the first login asks, sign in again."""
    api = Api(base)
    api.login(user, one_time)
    api.change_password(one_time, password)
    api.login(user, password)
    return api


def add_staff(admin: Api) -> tuple[Api, int]:
    """The volunteer on duty: a staff account for every zone, its password set."""
    created = admin.call(
        "POST",
        "/api/v1/staff",
        {"username": STAFF_USER, "display_name": STAFF_NAME, "role": "staff", "all_zones": True},
    )
    api = first_login(admin.base, STAFF_USER, created["one_time_password"], STAFF_PASSWORD)
    return api, int(created["staff"]["id"])


def issue_passes(admin: Api, people: list[Person]) -> list[Holder]:
    """One pass per resident (bulk, by household), matched back to the register."""
    households = admin.all_pages("/api/v1/households")
    by_id = {h["id"]: h for h in households}
    issued = admin.call("POST", "/api/v1/passes/bulk", {"household_ids": sorted(by_id)})["issued"]
    residents = {r["id"]: r for r in admin.all_pages("/api/v1/residents")}
    known = {(p.label, p.name): p for p in people}
    holders = []
    for row in issued:
        resident = residents[row["resident_id"]]
        person = known[(resident["label"], resident["name"])]
        holders.append(
            Holder(person.name, person.label, person.zone, person.role, person.last4, row["text"])
        )
    return holders


def observe(staff: Api, admin: Api, holders: list[Holder], rng: random.Random) -> list[Holder]:
    """A few main-estate residents back from a risk area: 14 days of home observation."""
    chosen = rng.sample([h for h in holders if h.zone == MAIN_ZONE], OBSERVED)
    residents = admin.all_pages("/api/v1/residents")
    ids = {(r["label"], r["name"]): r["id"] for r in residents}
    now = int(time.time())
    for h in chosen:
        staff.call(
            "PUT",
            f"/api/v1/residents/{ids[(h.label, h.name)]}/observation",
            {"status": "home_observation", "start": now - DAY, "end": now + 13 * DAY},
        )
    return chosen


def register_visitor(staff: Api, household_id: int, name: str, phone: str, purpose: str) -> Holder:
    """The visitor desk: register, and the pass is issued on the spot (4 hours, 2 entries)."""
    answer: dict[str, Any] = staff.call(
        "POST",
        "/api/v1/visitors",
        {
            "host_household_id": household_id,
            "name": name,
            "phone": phone,
            "purpose": purpose,
            "hours": 4,
            "uses": 2,
        },
    )
    visitor = answer["visitor"]
    return Holder(
        name,
        visitor["label"],
        MAIN_ZONE,
        "visitor",
        phone[-4:],
        answer["pass"]["text"],
        kind="visitor",
    )


def main_households(admin: Api) -> list[int]:
    """Households of the main estate (zone 1), where visitors come."""
    return [h["id"] for h in admin.all_pages("/api/v1/households") if h["zone_id"] == 1]


def seed(base: str, one_time: str, people: list[Person], seed_value: int) -> Cast:
    """Everything above, in order; returns the cast of the morning."""
    rng = random.Random(seed_value)  # noqa: S311 - demo choices, not security
    admin = first_login(base, ADMIN_USER, one_time, ADMIN_PASSWORD)
    staff, staff_id = add_staff(admin)
    holders = issue_passes(admin, people)
    guard_pass = admin.call("POST", "/api/v1/passes", {"staff_id": staff_id})["text"]
    guard = Holder(STAFF_NAME, "", MAIN_ZONE, "staff", None, guard_pass, kind="staff")
    observed = observe(staff, admin, holders, rng)
    admin.call("PUT", f"/api/v1/gates/{CUT_GATE}/policy", {"overrides": BLOCK_POLICY})
    homes = main_households(admin)
    cast = Cast(holders, observed, guard, desk_household=rng.choice(homes))
    for name, phone, purpose in VISITORS:
        cast.visitors.append(register_visitor(staff, rng.choice(homes), name, phone, purpose))
    assert {h.zone for h in holders} == {MAIN_ZONE, BLOCK_ZONE}
    return cast
