"""The short admission rules, in the order ``decide`` applies them (design.md 4.2)."""

from __future__ import annotations

from collections.abc import Sequence

from device.core.context import Context, Result, deny
from device.core.model import Signal
from protocol.claims import PassKind
from protocol.messages import ClockPolicy, LaneDirection, Mode, Policy
from protocol.reasons import ReasonCode
from protocol.revocation import hold_until, is_locked

MINUTES_PER_DAY = 1440


def mode(ctx: Context) -> Result | None:
    """Lockdown and maintenance refuse every scan (staff overrides still work)."""
    if ctx.lane.mode == Mode.LOCKDOWN:
        return deny(ctx, ReasonCode.LOCKDOWN)
    if ctx.lane.mode == Mode.MAINTENANCE:
        return deny(ctx, ReasonCode.MAINTENANCE, signal=Signal.FAULT)
    return None


def clock(ctx: Context) -> Result | None:
    """Untrusted clock: refuse all (deny policy) or only visitors (degraded policy)."""
    if ctx.lane.clock_trusted:
        return None
    if ctx.lane.policy.clock_policy == ClockPolicy.DENY or ctx.claims.kind == PassKind.VISITOR:
        return deny(ctx, ReasonCode.CLOCK_UNTRUSTED)
    return None


def zone(ctx: Context) -> Result | None:
    """The pass must name the zone this lane guards."""
    if ctx.lane.zone not in ctx.claims.zones:
        return deny(ctx, ReasonCode.WRONG_ZONE)
    return None


def local_minute(now: int, utc_offset_minutes: int) -> int:
    """Minute of the local day (0-1439) for a unix time."""
    return (now // 60 + utc_offset_minutes) % MINUTES_PER_DAY


def within(windows: Sequence[Sequence[int]], minute: int) -> bool:
    """True if no windows are set, or ``minute`` falls in one of them."""
    return not windows or any(start <= minute < end for start, end in windows)


def local_weekday(now: int, utc_offset_minutes: int) -> int:
    """Day of the local week (0 = Monday ... 6 = Sunday) for a unix time (day 0 was a Thursday)."""
    return ((now // 60 + utc_offset_minutes) // MINUTES_PER_DAY + 3) % 7


def lane_windows(policy: Policy, weekday: int) -> list[tuple[int, int]]:
    """The lane's windows on ``weekday``: that day's own weekly windows when the policy names
    the day (an empty window closes it), else the daily ``open_windows``."""
    own = [(start, end) for day, start, end in policy.weekday_list if day == weekday]
    return own or [(start, end) for start, end in policy.open_windows]


def schedule(ctx: Context) -> Result | None:
    """The lane's opening hours (daily, or the weekday's own) and the pass's time windows."""
    offset = ctx.lane.policy.utc_offset_minutes
    minute = local_minute(ctx.now, offset)
    windows = lane_windows(ctx.lane.policy, local_weekday(ctx.now, offset))
    if not within(windows, minute):
        return deny(ctx, ReasonCode.OUTSIDE_SCHEDULE)
    if not within(ctx.claims.time_windows, minute):
        return deny(ctx, ReasonCode.OUTSIDE_SCHEDULE)
    return None


def degraded_visitor(ctx: Context) -> Result | None:
    """With a stale list, only recently issued visitor passes are honoured."""
    if ctx.claims.kind != PassKind.VISITOR or not ctx.stale:
        return None
    if ctx.now - ctx.claims.issued_at > ctx.lane.policy.degraded_visitor_max_age_s:
        return deny(ctx, ReasonCode.REGISTRY_STALE)
    return None


def locked(ctx: Context) -> Result | None:
    """A pass locked after wrong phone digits stays refused: locked here, or at any lane as the
    server's signed list says (the only way a lock made elsewhere reaches this gate)."""
    rev = ctx.lane.revocations
    if ctx.ref in ctx.state.locks or (rev is not None and is_locked(rev, ctx.claims)):
        return deny(ctx, ReasonCode.PASS_LOCKED)
    return None


def visitor_uses(ctx: Context) -> Result | None:
    """A visitor pass opens an entry lane at most ``uses`` times (best effort across lanes)."""
    uses = ctx.claims.uses
    if uses is None or ctx.lane.direction != LaneDirection.IN:
        return None
    if ctx.state.uses.get(ctx.ref, 0) >= uses:
        return deny(ctx, ReasonCode.USES_EXHAUSTED)
    return None


def observation(ctx: Context) -> Result | None:
    """Home observation: an exit lane keeps the person (or household) in until the hold ends."""
    rev = ctx.lane.revocations
    if ctx.lane.direction != LaneDirection.OUT or rev is None:
        return None
    if hold_until(rev, ctx.claims, ctx.now) is not None:
        return deny(ctx, ReasonCode.UNDER_OBSERVATION)
    return None
