"""Weekly opening hours (issue 17 item 6): a weekday named in ``weekday_windows`` opens only in
its own windows (an empty window closes it), the other days keep ``open_windows``; the field is
left out of the signed config while empty, so older gates keep their bytes; malformed weekly
windows are refused by the decoder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import msgspec
import pytest

from device.core.decision import decide
from device.core.model import Outcome, ScanAttempt
from device.core.rules import lane_windows, local_weekday
from device.core.state import GateState
from protocol import errors, messages
from protocol.keys import generate_ed25519, kid_for
from protocol.messages import GateConfig, LaneDirection, Policy
from protocol.reasons import ReasonCode
from protocol.revocation import RevocationState
from protocol.signed import seal
from tests.device.core.test_decide import NORMAL, claims, lane, policy

CST = timezone(timedelta(hours=8))
# 2026-12-07 is a Monday; 10:30 local time (UTC+8) on each day of that week
MONDAY_1030 = int(datetime(2026, 12, 7, 10, 30, tzinfo=CST).timestamp())
DAY = 86400
AT_1030 = 630  # local minute


def at(weekday: int, minute: int = AT_1030) -> int:
    """Unix time of ``minute`` on ``weekday`` (0 = Monday) of the week of 2026-12-07."""
    return MONDAY_1030 + weekday * DAY + (minute - AT_1030) * 60


def admit(pol: Policy, now: int) -> tuple[Outcome, ReasonCode]:
    attempt = ScanAttempt(result=claims(not_before=now - 60, issued_at=now - 60, expires=now + DAY),
                          temperatures=NORMAL)  # fmt: skip
    fresh = RevocationState(site="gw01", seq=5, issued_at=now - 60, next_update=now + 3600)
    decision, _ = decide(attempt, GateState(), lane(policy=pol, revocations=fresh), now)
    return decision.outcome, decision.reason


@pytest.mark.parametrize("weekday", range(7))
def test_local_weekday_agrees_with_the_calendar(weekday: int) -> None:
    now = at(weekday)
    assert local_weekday(now, 480) == datetime.fromtimestamp(now, CST).weekday() == weekday
    # near midnight the local day, not the UTC one, counts
    late = at(weekday, 23 * 60 + 59)
    assert local_weekday(late, 480) == weekday
    assert datetime.fromtimestamp(late, UTC).weekday() == weekday  # 15:59 UTC, same day
    early = at(weekday, 5)  # 00:05 local is the day before in UTC
    assert local_weekday(early, 480) == weekday
    assert datetime.fromtimestamp(early, UTC).weekday() == (weekday - 1) % 7


def test_a_named_day_uses_its_own_windows_and_the_others_the_daily_ones() -> None:
    pol = policy(open_windows=[[360, 1320]], weekday_windows=[(5, 480, 600), (5, 840, 960)])
    assert lane_windows(pol, 0) == [(360, 1320)]
    assert lane_windows(pol, 5) == [(480, 600), (840, 960)]
    assert admit(pol, at(0)) == (Outcome.GRANT, ReasonCode.OK)  # Monday 10:30: daily hours
    assert admit(pol, at(5)) == (Outcome.DENY, ReasonCode.OUTSIDE_SCHEDULE)  # Saturday 10:30
    assert admit(pol, at(5, 599))[0] == Outcome.GRANT  # Saturday 09:59, inside 08:00-10:00
    assert admit(pol, at(5, 600))[1] == ReasonCode.OUTSIDE_SCHEDULE  # the end is exclusive
    assert admit(pol, at(5, 900))[0] == Outcome.GRANT  # the afternoon window
    assert admit(pol, at(0, 1330))[1] == ReasonCode.OUTSIDE_SCHEDULE  # Monday 22:10


def test_an_empty_window_closes_the_day_and_no_windows_means_always_open() -> None:
    pol = policy(weekday_windows=[(6, 0, 0)])
    assert admit(pol, at(6))[1] == ReasonCode.OUTSIDE_SCHEDULE
    assert admit(pol, at(6, 0))[1] == ReasonCode.OUTSIDE_SCHEDULE
    assert admit(pol, at(2, 3))[0] == Outcome.GRANT  # Wednesday 00:03: no daily windows
    assert admit(policy(), at(6, 1439))[0] == Outcome.GRANT


def test_a_whole_day_window_opens_the_day_even_when_the_daily_hours_are_shorter() -> None:
    pol = policy(open_windows=[[480, 600]], weekday_windows=[(3, 0, 1440)])
    assert admit(pol, at(3, 1439))[0] == Outcome.GRANT
    assert admit(pol, at(2, 1439))[1] == ReasonCode.OUTSIDE_SCHEDULE


CONTROL = generate_ed25519()
KEYS = {kid_for(CONTROL): CONTROL.public_key()}


def config(pol: Policy) -> GateConfig:
    return GateConfig(site="gw01", gate="east-in", version=2, issued_at=100, zone=1,
                      direction=LaneDirection.IN, policy=pol)  # fmt: skip


def test_without_weekly_windows_the_config_keeps_its_bytes() -> None:
    sealed = messages.seal_config(config(Policy()), CONTROL)
    opened = messages.open_config(sealed, KEYS, site="gw01", gate="east-in")
    assert "weekday_windows" not in msgspec.to_builtins(opened.policy)
    # the encoded policy has exactly the fields an older gate knows
    body = msgspec.to_builtins(config(Policy()))
    later = {"weekday_windows", "voice_volume", "quiet_hours", "quiet_volume", "lane_language"}
    assert set(body["policy"]) == set(Policy.__struct_fields__) - later
    weekly = messages.seal_config(config(Policy(weekday_windows=[(0, 60, 120)])), CONTROL)
    back = messages.open_config(weekly, KEYS, site="gw01", gate="east-in")
    assert back.policy.weekday_list == [(0, 60, 120)]


BAD_WINDOWS: list[Any] = [
    [[7, 0, 60]],  # no eighth weekday
    [[-1, 0, 60]],
    [[0, 0, 1441]],  # past midnight
    [[0, 600, 300]],  # ends before it starts
    [[0, 60]],  # not a triple
    [[0, 60, 120, 5]],
    [["mon", 60, 120]],
    [[0, 60.5, 120]],
    [[0, True, 120]],
    [[0, 60, 120]] * 29,  # more than four a day
    "0,60,120",
    {"0": [60, 120]},
]


@pytest.mark.parametrize("windows", BAD_WINDOWS)
def test_malformed_weekly_windows_are_refused(windows: Any) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"weekday_windows": windows}, Policy, strict=True)


def test_a_signed_config_with_malformed_weekly_windows_is_refused() -> None:
    body = msgspec.to_builtins(config(Policy()))
    body["policy"]["weekday_windows"] = [[0, 600, 300]]
    sealed = seal(body, CONTROL)  # type: ignore[arg-type] # a hostile body, properly signed
    with pytest.raises(errors.MessageError):
        messages.open_config(sealed, KEYS, site="gw01", gate="east-in")
