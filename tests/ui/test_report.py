"""The daily report (issue 17 item 7): every number recounted from the database file with
independent SQL (sqlite3, local hours by SQLite's own date functions) and compared with the
report service, the page, the XLSX export and the events page's own count; zone scope; the
malformed ``day`` and ``zone`` parameters."""

from __future__ import annotations

import io
import re
import sqlite3
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from protocol.messages import OverrideReason
from server.records import EventData
from server.services.alerts import rules as alert_rules
from server.services.context import CLI_ACTOR, Env
from server.services.incidents import refusals
from server.services.registry import followup
from server.services.reports import daily
from server.services.reports.daily_export import METRICS
from server.store import ingest as ingest_store
from server.web.format import Clockface
from server.web.i18n import Translator
from tests.server.conftest import Api, FakeClock, seed
from tests.ui.data import make_gates

HOUR_MS = 3_600_000
OFFSET = "+8 hours"  # the site's card_utc_offset_min (480), in SQLite's words
_seq: dict[str, int] = {}


@dataclass(frozen=True)
class Day:
    """The report's day: its text and its local midnight (unix s)."""

    text: str
    start: int

    @property
    def start_ms(self) -> int:
        return self.start * 1000


def event(
    gate: str,
    at_ms: int,
    *,
    granted: bool | None = True,
    reason: str | None = "ok",
    kind: str = "decision",
    holder: str | None = "resident",
    note: str | None = None,
    alarm: str | None = None,
    ref: str | None = "R1",
) -> EventData:
    """One gate event row as ingest stores it."""
    _seq[gate] = _seq.get(gate, 5_000_000) + 1
    return EventData(
        event_id=str(uuid.uuid4()),
        gate=gate,
        seq=_seq[gate],
        at_ms=at_ms,
        kind=kind,
        granted=granted,
        reason=reason,
        pass_ref=ref,
        body_c=None,
        temperatures=None,
        received_at=at_ms // 1000,
        boot_id=None,
        clock_trusted=None,
        lane=None,
        offline=None,
        mode=None,
        alarm=alarm,
        holder_kind=holder,
        operator=None,
        note=note,
        flag=None,
    )


def _rows(d: Day) -> list[EventData]:
    """A day across both zones and hours, with the edges of the day just outside it."""
    h = lambda hour, minute=0: d.start_ms + hour * HOUR_MS + minute * 60_000  # noqa: E731
    rows = [event("east-in", h(7, m)) for m in range(0, 50, 5)]  # 10 entries at 07
    rows += [event("east-out", h(7, 55)), event("east-out", h(8, 10))]
    rows += [event("east-out", h(1, 0))]  # an exit before any entry: clamped at zero
    rows += [event("east-in", h(12, 1), holder="visitor", ref="V1") for _ in range(3)]
    rows += [event("east-in", h(12, 30), granted=False, reason="fever") for _ in range(2)]
    rows += [event("east-in", h(13), granted=False, reason="revoked")]
    rows += [
        event("east-in", h(14), reason="override", note="no_smartphone: 老人", ref=None),
        event("east-in", h(14, 5), reason="override", note="emergency", ref=None),
        event("east-out", h(14, 9), reason="override", note=None, ref=None),
        event("east-in", h(14, 20), reason="override", note="something: else", ref=None),
    ]
    rows += [
        event("east-in", h(15), kind="alarm", granted=None, reason=None, alarm="suspected_lending")
    ]
    rows += [event("west-in", h(9, m)) for m in range(0, 40, 10)]  # zone 2: 4 entries
    rows += [event("west-in", h(23, 59), granted=False, reason="fever")]
    rows += [
        event("east-in", d.start_ms - 1),  # the day before
        event("east-in", d.start_ms + 24 * HOUR_MS),  # the next day
        event("west-in", d.start_ms - 1, granted=False, reason="fever"),
    ]
    return rows


async def _store(env: Env, rows: list[EventData]) -> None:
    async with env.db.write() as conn:
        await ingest_store.insert_events(conn, rows=rows)
        for row in rows:
            await alert_rules.on_event(conn, row, now=env.clock.now())


async def _refuse(env: Env) -> None:
    """Refused checks recorded at the consoles: three in zone 1, one in zone 2, one tomorrow."""
    for gate, label in (("east-in", "3-2-201"), ("east-in", "3-2-201"), ("east-out", "3-2-201")):
        await refusals.record(env, CLI_ACTOR, gate, label=label, note="劝返")
    await refusals.record(env, CLI_ACTOR, "west-in", label="9-1-101", note="")
    clock = env.clock
    assert isinstance(clock, FakeClock)
    clock.advance(86_400)  # the next day: not in the report
    await refusals.record(env, CLI_ACTOR, "east-in", label="3-2-201", note="")
    clock.advance(-86_400)


@pytest.fixture
def day(api: Api) -> Day:
    """Two zones' lanes, people, visitors, observation periods and calls, and a day of events."""
    ids = seed(api)
    make_gates(api)
    now = api.site.clock.now()
    start = Clockface(480).day_start(now)
    d = Day(Clockface(480).date(now), start)
    api.use("admin")
    extra = api.post(
        "/api/v1/residents",
        json={"household_id": ids["h1"], "name": "王五", "phone": "13700137000", "role": "family"},
    ).json()
    plans = {
        ids["r1"]: (start + 3600, start + 5 * 86400),  # starts today
        extra["id"]: (start - 5 * 86400, start + 86400),  # its last day is today
        ids["r2"]: (start - 86400, None),  # running, open-ended (zone 2)
    }
    for resident, (begin, end) in plans.items():
        body = {"status": "home_observation", "start": begin, "end": end}
        response = api.put(f"/api/v1/residents/{resident}/observation", json=body)
        assert response.status_code == 200, response.text
    for host, name in ((ids["h1"], "访客甲"), (ids["h1"], "访客乙"), (ids["h2"], "访客丙")):
        visitor = {
            "host_household_id": host,
            "name": name,
            "phone": "13800001111",
            "purpose": "探亲",
            "hours": 2,
        }
        assert api.post("/api/v1/visitors", json=visitor).status_code == 201

    async def calls(env: Env) -> None:
        for resident, reached in ((ids["r1"], False), (ids["r1"], False), (extra["id"], True)):
            fields: dict[str, Any] = {"reached": reached, "temperature_c": None, "symptoms": []}
            await followup.record_call(env, CLI_ACTOR, resident, **fields, note=None)
        await _store(env, _rows(d))
        await _refuse(env)

    api.site.run(calls)
    return d


def _db(api: Api) -> sqlite3.Connection:
    path = Path(str(api.site.settings.db_url).removeprefix("sqlite+aiosqlite:///"))
    return sqlite3.connect(path)


def recount(api: Api, d: Day, zone: int) -> dict[str, Any]:
    """The report's numbers for one zone, counted again straight from the database."""
    db = _db(api)
    window = (d.start_ms, d.start_ms + 86_400_000)
    base = "FROM events e JOIN gates g ON g.id = e.gate WHERE g.zone_id = ? AND e.at_ms >= ? "
    base += "AND e.at_ms < ? "

    def count(where: str, *args: Any) -> int:
        return int(
            db.execute(f"SELECT count(*) {base} AND {where}", (zone, *window, *args)).fetchone()[0]
        )

    def hourly(direction: str) -> list[int]:
        sql = (
            "SELECT CAST(strftime('%H', e.at_ms / 1000, 'unixepoch', ?) AS INTEGER), count(*) "
            + base
            + "AND e.kind = 'decision' AND e.granted = 1 AND g.direction = ? GROUP BY 1"
        )
        found = dict(db.execute(sql, (OFFSET, zone, *window, direction)).fetchall())
        return [found.get(hour, 0) for hour in range(24)]

    def registry(sql: str, *args: Any) -> Any:
        return db.execute(sql, (zone, *args)).fetchone()

    def_start, day_end = d.start, d.start + 86400
    obs = "FROM residents r JOIN households h ON h.id = r.household_id WHERE h.zone_id = ? "
    calls = registry(
        "SELECT count(*), sum(c.reached = 0) FROM followup_calls c JOIN residents r "
        "ON r.id = c.resident_id JOIN households h ON h.id = r.household_id "
        "WHERE h.zone_id = ? AND c.at >= ? AND c.at < ?",
        def_start,
        day_end,
    )
    found = {
        "entries": hourly("in"),
        "exits": hourly("out"),
        "denied": count("e.kind = 'decision' AND e.granted = 0"),
        "fevers": count("e.kind = 'decision' AND e.granted = 0 AND e.reason = 'fever'"),
        "alarms": count("e.kind = 'alarm'"),
        "overrides": count("e.reason = 'override' AND e.granted = 1"),
        "visitor_passages": count("e.granted = 1 AND e.holder_kind = 'visitor'"),
        "lending_alerts": registry(
            "SELECT count(*) FROM alerts a JOIN gates g ON g.id = a.gate WHERE g.zone_id = ? "
            "AND a.kind = 'suspected_lending' AND a.first_at >= ? AND a.first_at < ?",
            def_start,
            day_end,
        )[0],
        "visitors_registered": registry(
            "SELECT count(*) FROM visitors v JOIN households h ON h.id = v.host_household_id "
            "WHERE h.zone_id = ? AND v.created_at >= ? AND v.created_at < ?",
            def_start,
            day_end,
        )[0],
        "observation_new": registry(
            f"SELECT count(*) {obs} AND r.observation_start >= ? AND r.observation_start < ?",
            def_start,
            day_end,
        )[0],
        "observation_ended": registry(
            f"SELECT count(*) {obs} AND r.observation_end > ? AND r.observation_end <= ?",
            def_start,
            day_end,
        )[0],
        "observation_active": registry(
            f"SELECT count(*) {obs} AND r.observation_start < ? "
            "AND (r.observation_end IS NULL OR r.observation_end > ?)",
            day_end,
            def_start,
        )[0],
        "calls_made": calls[0],
        "calls_unanswered": calls[1] or 0,
        "refusals": registry(
            "SELECT count(*) FROM refusals WHERE zone_id = ? AND at >= ? AND at < ?",
            def_start,
            day_end,
        )[0],
    }
    db.close()
    return found


def lane_refusals(api: Api, d: Day, gate: str) -> int:
    """Refused checks recorded at one lane on the report's day, counted again."""
    db = _db(api)
    sql = "SELECT count(*) FROM refusals WHERE gate = ? AND at >= ? AND at < ?"
    found = int(db.execute(sql, (gate, d.start, d.start + 86400)).fetchone()[0])
    db.close()
    return found


def _inside(entries: list[int], exits: list[int]) -> list[int]:
    inside, out = 0, []
    for came, left in zip(entries, exits, strict=True):
        inside = max(0, inside + came - left)
        out.append(inside)
    return out


def _service(api: Api, d: Day, zone: int | None = None) -> daily.DailyReport:
    async def work(env: Env) -> daily.DailyReport:
        return await daily.daily_report(env, CLI_ACTOR, day=d.text, since=d.start, zone=zone)

    report: daily.DailyReport = api.site.run(work)
    return report


def _as_numbers(z: daily.ZoneDay) -> dict[str, Any]:
    t = z.tally
    return {
        "entries": t.entries,
        "exits": t.exits,
        "denied": t.denied,
        "fevers": t.fevers,
        "alarms": t.alarms,
        "overrides": sum(t.overrides.values()),
        "visitor_passages": t.visitor_passages,
        "lending_alerts": t.lending_alerts,
        "visitors_registered": z.visitors_registered,
        "observation_new": z.observation_new,
        "observation_ended": z.observation_ended,
        "observation_active": z.observation_active,
        "calls_made": z.calls_made,
        "calls_unanswered": z.calls_unanswered,
        "refusals": z.refusals,
    }


def test_every_number_is_recounted_from_the_database(api: Api, day: Day) -> None:
    report = _service(api, day)
    assert [z.zone_id for z in report.zones] == [1, 2]
    for zone in report.zones:
        expected = recount(api, day, zone.zone_id)
        assert _as_numbers(zone) == expected, zone.name
        assert zone.inside == _inside(expected["entries"], expected["exits"])
        for lane in zone.lanes:
            assert lane.tally.refusals == lane_refusals(api, day, lane.lane.gate), lane.lane.gate
    east = recount(api, day, 1)
    # the data were chosen so that every figure is exercised (none of them is trivially 0)
    assert sum(east["entries"]) == 10 + 3 + 3
    assert sum(east["exits"]) == 2 + 1 + 1
    assert east["fevers"] == 2
    assert east["denied"] == 3
    assert east["overrides"] == 4
    assert east["lending_alerts"] == 1
    assert east["visitor_passages"] == 3
    assert (east["observation_new"], east["observation_ended"]) == (1, 1)
    assert (east["calls_made"], east["calls_unanswered"]) == (3, 2)
    assert east["refusals"] == 3  # the one recorded the next day is not counted
    assert lane_refusals(api, day, "east-in") == 2
    assert report.zones[0].inside[0] == 0  # the 01:00 exit is clamped, not negative
    overrides = report.zones[0].tally.overrides
    assert overrides == {"no_smartphone": 1, "emergency": 1, "unspecified": 1, "other": 1}
    assert _as_numbers(report.total)["denied"] == east["denied"] + recount(api, day, 2)["denied"]


def test_the_page_and_the_events_page_show_the_same_numbers(api: Api, day: Day) -> None:
    api.use("admin")
    html = api.get("/ui/reports/daily", params={"day": day.text}).text
    east = recount(api, day, 1)
    assert f"进入 {sum(east['entries'])} 人次，离开 {sum(east['exits'])} 人次" in html
    assert html.count('<svg class="chart"') == 6  # two zones and their total, two charts each
    for gate in ("east-in", "east-out", "west-in"):
        cell = re.search(rf'data-refusals="{gate}">(\d+)<', html)
        assert cell is not None, gate
        assert int(cell.group(1)) == lane_refusals(api, day, gate)
    assert "未记录" not in html
    since, until = f"{day.text}T00:00", f"{day.text}T23:59"
    log = api.get(
        "/ui/events",
        params={"gate": "east-in", "decision": "granted", "since": since, "until": until},
    ).text
    granted_in = re.search(r"共 (\d+) 条", log)
    assert granted_in is not None
    assert int(granted_in.group(1)) == sum(east["entries"])


def test_the_xlsx_holds_the_recounted_numbers(api: Api, day: Day) -> None:
    api.use("east-desk")
    response = api.get("/ui/reports/daily.xlsx", params={"day": day.text})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    disposition = response.headers["content-disposition"]
    assert f'filename="daily-report-{day.text}.xlsx"' in disposition
    book = load_workbook(io.BytesIO(response.content))
    summary = book.worksheets[0]
    rows = {r[0]: r[1:] for r in summary.iter_rows(min_row=5, values_only=True)}
    assert rows["项目"] == ("east", "合计")  # the east desk sees zone 1 only
    east = recount(api, day, 1)
    assert rows["进入人次"][0] == sum(east["entries"])
    assert rows["发热拒绝"][0] == east["fevers"]
    assert rows["回访电话"][0] == east["calls_made"]
    assert rows["未接通"][0] == east["calls_unanswered"]
    assert rows["拒绝检测/劝返"][0] == east["refusals"]
    lane_table = list(book.worksheets[1].iter_rows(values_only=True))
    column = lane_table[0].index("拒绝检测/劝返")
    by_lane = {r[1]: r[column] for r in lane_table[1:]}
    assert by_lane == {
        "东门入口": lane_refusals(api, day, "east-in"),
        "东门出口": lane_refusals(api, day, "east-out"),
    }
    hourly = book.worksheets[3]
    by_hour = {r[1]: r[2] for r in hourly.iter_rows(min_row=2, values_only=True)}
    assert [by_hour[f"{h:02d}:00"] for h in range(24)] == east["entries"]
    lanes = {r[1]: list(r[3:]) for r in book.worksheets[4].iter_rows(min_row=2, values_only=True)}
    assert lanes["东门入口"] == east["entries"]  # zone 1 has one entry and one exit lane
    assert lanes["东门出口"] == east["exits"]


def test_zone_scope(api: Api, day: Day) -> None:
    api.use("west-desk")
    assert api.get("/ui/reports/daily", params={"day": day.text, "zone": "1"}).status_code == 404
    assert (
        api.get("/ui/reports/daily.pdf", params={"day": day.text, "zone": "1"}).status_code == 404
    )
    html = api.get("/ui/reports/daily", params={"day": day.text}).text
    assert "东门入口" not in html
    assert "西门入口" in html
    api.use("admin")
    one = api.get("/ui/reports/daily.xlsx", params={"day": day.text, "zone": "2"})
    assert 'filename="daily-report-' in one.headers["content-disposition"]
    assert "-zone2.xlsx" in one.headers["content-disposition"]
    assert api.get("/ui/reports/daily", params={"zone": "99"}).status_code == 404


@pytest.mark.parametrize(
    "params",
    [
        {"day": "yesterday"},
        {"day": "2026-02-30"},
        {"day": "0001-01-01"},
        {"day": "9999-12-31"},
        {"day": "2026-1-5"},
        {"day": "２０２６-０１-０５"},  # full-width digits
        {"day": "2026-01-05\u202e"},
        {"day": "2" * 10_000},
        {"zone": "east"},
        {"zone": "-1"},
        {"zone": "1 OR 1=1"},
        {"zone": "9" * 400},
    ],
)
def test_malformed_parameters_are_refused_with_a_page(api: Api, params: dict[str, str]) -> None:
    seed(api)
    api.use("east-desk")
    for path in ("/ui/reports/daily", "/ui/reports/daily.pdf", "/ui/reports/daily.xlsx"):
        response = api.get(path, params=params)
        assert response.status_code == 422, (path, params)
        assert response.headers["content-type"].startswith("text/html")
        assert "日期格式" in response.text or "片区应为" in response.text


def test_an_empty_day_reports_zeros(api: Api) -> None:
    seed(api)
    make_gates(api)
    api.use("east-desk")
    html = api.get("/ui/reports/daily").text  # today, by default
    assert "进入 0 人次，离开 0 人次" in html


def _pdf_text(body: bytes, tmp_path: Path) -> str:
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(body)
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout


def test_exports_follow_the_readers_language(api: Api, day: Day, tmp_path: Path) -> None:
    api.use("admin")
    zh = api.get("/ui/reports/daily.pdf", params={"day": day.text})
    assert zh.headers["content-type"] == "application/pdf"
    zh_text = _pdf_text(zh.content, tmp_path)
    assert f"{day.text} 每日报表（全部片区）" in zh_text
    assert "拒绝检测/劝返" in zh_text
    assert "未记录" not in zh_text  # refused checks are counted, not "not recorded"
    api.client.cookies.set("gatepass_lang", "en", domain="testserver.local")
    text = _pdf_text(api.get("/ui/reports/daily.pdf", params={"day": day.text}).content, tmp_path)
    assert f"Daily report {day.text} (All zones)" in text
    assert "Entries" in text
    assert "每日报表" not in text
    book = load_workbook(io.BytesIO(api.get("/ui/reports/daily.xlsx").content))
    assert [s.title for s in book.worksheets] == [
        "Summary",
        "Lanes",
        "Overrides by reason",
        "Entries and exits per hour",
        "Passages per lane and hour",
    ]
    assert "Daily report" in api.get("/ui/reports/daily").text


def test_hostile_lane_names_stay_text(api: Api, tmp_path: Path) -> None:
    seed(api)
    api.use("admin")
    for gate, name in (("f-in", '=HYPERLINK("http://x")'), ("x-in", "<script>alert(1)</script>")):
        lane = {"id": gate, "zone_id": 1, "name": name, "direction": "in"}
        assert api.post("/api/v1/gates", json=lane).status_code == 201
    html = api.get("/ui/reports/daily").text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    book = load_workbook(io.BytesIO(api.get("/ui/reports/daily.xlsx").content))
    cells = [c for row in book.worksheets[1].iter_rows() for c in row if c.value]
    formula = [c for c in cells if str(c.value).startswith("=")]
    assert formula
    assert all(c.data_type == "s" for c in formula)  # text, never a formula
    assert "<script>alert(1)</script>" in _pdf_text(
        api.get("/ui/reports/daily.pdf").content, tmp_path
    )


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_every_override_reason_and_metric_has_a_name(language: str) -> None:
    t = Translator(language)
    codes = [r.value for r in OverrideReason] + [daily.UNSPECIFIED]
    assert [c for c in codes if not t.has(f"report.override.{c}")] == []
    assert [m for m in METRICS if not t.has(f"report.metric.{m}")] == []
    assert daily.override_reason("no_smartphone: 老人") == "no_smartphone"
    assert daily.override_reason("不是代码") == "other"
    assert daily.override_reason("") == daily.UNSPECIFIED
