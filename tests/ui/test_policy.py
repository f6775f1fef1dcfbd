"""Lane policy pages (issue 17 item 6), in-process: zone and lane overrides merge as the gate
will decide with them; every bad field gets its own translated error and nothing is written;
the preview lists old → new per lane; saving is audited, admins only, in scope only; the
signed config the link publishes carries the merged policy; malformed requests never 500."""

from __future__ import annotations

import re
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa

from protocol import messages
from protocol.keys import public_from_raw
from protocol.manifest import KeyUse, open_manifest, trusted_keys
from protocol.messages import PhoneCheck
from server.services.context import CLI_ACTOR, Env
from server.services.gates import policy as gate_policy
from server.services.gates import policy_edit as edit
from server.services.gates import publishing
from server.services.gates.provisioning import root_key_hex
from server.store import registry
from server.store.schema import audit_log
from tests.server.conftest import Api, seed
from tests.ui.conftest import form_post
from tests.ui.data import make_gates

ZONE = "/ui/policy/zones/1"
LANE = "/ui/policy/lanes/east-in"
BLANK = dict.fromkeys((*edit.FIELDS, *edit.DAY_FIELDS), "")


@pytest.fixture
def gates(api: Api) -> Api:
    seed(api)
    make_gates(api)
    return api


def run(api: Api, work: Any) -> Any:
    return api.site.run(work)


async def _lane_policy(env: Env, gate: str) -> messages.Policy:
    async with env.db.read() as conn:
        row = await registry.get_gate(conn, gate_id=gate)
        assert row is not None
        return await gate_policy.lane_policy(conn, row)


def lane_policy(api: Api, gate: str) -> messages.Policy:
    return run(api, lambda env: _lane_policy(env, gate))


def audits(api: Api, action: str) -> list[dict[str, Any]]:
    async def go(env: Env) -> list[dict[str, Any]]:
        async with env.db.read() as conn:
            query = sa.select(audit_log).where(audit_log.c.action == action)
            return [dict(r._mapping) for r in await conn.execute(query)]

    return run(api, go)  # type: ignore[no-any-return]


def save(api: Api, url: str, fields: dict[str, str]) -> Any:
    """Preview, then confirm with the preview's hidden fields (as the browser does)."""
    shown = form_post(api, f"{url}/preview", BLANK | fields)
    assert shown.status_code == 200, shown.text
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', shown.text))
    hidden.pop("csrf_token")
    return form_post(api, url, hidden)


def test_merge_zone_then_lane_weekdays_by_day() -> None:
    zone = {"apb_minutes": 5, "weekday_windows": [[5, 480, 600], [6, 0, 0]], "retests": 2}
    lane = {"apb_minutes": 1, "weekday_windows": [[6, 600, 720]]}
    merged = gate_policy.merge_overrides(zone, lane)
    assert merged == {
        "apb_minutes": 1,
        "retests": 2,
        "weekday_windows": [[5, 480, 600], [6, 600, 720]],
    }
    assert gate_policy.merge_overrides(None, lane) == lane
    assert gate_policy.merge_overrides(zone, None) == zone


def test_a_zone_rule_reaches_its_lanes_and_a_lane_rule_only_itself(gates: Api) -> None:
    api = gates
    api.use("admin")
    done = save(api, ZONE, {"phone_check_resident": "always", "fever_threshold_c": "37.0",
                            "closed6": "on", "open_windows": "06:00-22:00"})  # fmt: skip
    assert done.status_code == 303, done.text
    assert done.headers["location"].startswith(f"{ZONE}?saved=")
    for gate in ("east-in", "east-out"):
        policy = lane_policy(api, gate)
        assert policy.phone_check_resident == PhoneCheck.ALWAYS
        assert policy.fever_threshold_c == 37.0
        assert policy.weekday_list == [(6, 0, 0)]
        assert [list(w) for w in policy.open_windows] == [[360, 1320]]
    assert lane_policy(api, "west-in").phone_check_resident == PhoneCheck.SAMPLED  # zone 2
    done = save(api, LANE, {"phone_check_resident": "never", "day6": "08:00-12:00"})
    assert done.status_code == 303, done.text
    east_in, east_out = lane_policy(api, "east-in"), lane_policy(api, "east-out")
    assert east_in.phone_check_resident == PhoneCheck.NEVER
    assert east_in.weekday_list == [(6, 480, 720)]  # the lane's Sunday replaces the zone's
    assert east_in.fever_threshold_c == 37.0  # still the zone's
    assert east_out.phone_check_resident == PhoneCheck.ALWAYS
    assert east_out.weekday_list == [(6, 0, 0)]
    [zone_row] = audits(api, "zone.policy")
    assert zone_row["target"] == "zone:1"
    assert zone_row["actor"] == "admin"
    assert set(zone_row["detail"]["lanes"]) == {"east-in", "east-out"}
    assert "fever_threshold_c" in zone_row["detail"]["fields"]
    [lane_row] = audits(api, "gate.policy")
    assert (lane_row["target"], lane_row["detail"]["lanes"]) == ("gate:east-in", ["east-in"])


def test_the_lane_voice_and_screen_settings_reach_the_signed_policy(gates: Api) -> None:
    """Issue 18: language, volume and quiet hours (wrapping midnight) are lane rules like the
    others; a lane that never sets them keeps the bytes an older gate reads."""
    api = gates
    api.use("admin")
    page = api.client.get(LANE)
    for shown in ("语音音量", "沿用：80%", "沿用：中文", "静音时段"):
        assert shown in page.text
    fields = {"lane_language": "en", "voice_volume": "60", "quiet_hours": "22:00-06:30",
              "quiet_volume": "0"}  # fmt: skip
    assert save(api, LANE, fields).status_code == 303
    policy = lane_policy(api, "east-in")
    assert (policy.language, policy.volume, policy.quiet_volume_percent) == ("en", 60, 0)
    assert [list(w) for w in policy.quiet_list] == [[1320, 390]]
    assert "22:00-06:30" in api.client.get(LANE).text
    untouched = msgspec.to_builtins(lane_policy(api, "east-out"))
    assert not {"voice_volume", "quiet_hours", "quiet_volume", "lane_language"} & set(untouched)


def test_the_api_overrides_of_a_lane_survive_a_page_edit(gates: Api) -> None:
    api = gates
    run(api, lambda env: gate_policy.set_policy(env, CLI_ACTOR, "east-in", {"relay_pulse_ms": 900}))
    api.use("admin")
    assert save(api, LANE, {"retests": "3"}).status_code == 303
    policy = lane_policy(api, "east-in")
    assert (policy.relay_pulse_ms, policy.retests) == (900, 3)


def test_the_preview_lists_old_and_new_per_lane_and_saves_nothing(gates: Api) -> None:
    api = gates
    api.use("admin")
    shown = form_post(api, f"{ZONE}/preview", BLANK | {"apb_minutes": "30", "day0": "07:00-09:00"})
    assert shown.status_code == 200
    rows = re.findall(r'<tr data-lane="([\w-]+)" data-field="(\w+)">(.*?)</tr>', shown.text, re.S)
    cells = {(g, f): re.sub(r"<[^>]+>|\s+", " ", body).split() for g, f, body in rows}
    assert set(cells) == {(g, f) for g in ("east-in", "east-out") for f in ("apb_minutes", "day0")}
    assert cells["east-in", "apb_minutes"][-5:] == ["10", "分钟", "→", "30", "分钟"]
    assert "07:00-09:00" in " ".join(cells["east-out", "day0"])
    assert lane_policy(api, "east-in").apb_minutes == 10  # nothing saved yet
    assert audits(api, "zone.policy") == []


BAD_FIELDS = [
    ({"fever_threshold_c": "41"}, "fever_threshold_c", "必须在 35 至 40 之间"),
    ({"fever_threshold_c": "hot"}, "fever_threshold_c", "请输入 35 至 40 之间的数字"),
    ({"fever_threshold_c": "nan"}, "fever_threshold_c", "必须在 35 至 40 之间"),
    ({"phone_sample_percent": "12.5"}, "phone_sample_percent", "整数"),
    ({"retests": "-1"}, "retests", "必须在 0 至 3 之间"),
    ({"apb_minutes": "99999999999999999999"}, "apb_minutes", "必须在 0 至 1440 之间"),
    ({"phone_check_resident": "sometimes"}, "phone_check_resident", "请从列出的选项中选择"),
    ({"apb_logical": "maybe"}, "apb_logical", "请从列出的选项中选择"),
    ({"open_windows": "22:00-06:00"}, "open_windows", "结束时间必须晚于开始时间"),
    ({"open_windows": "6点到10点"}, "open_windows", "时间请写作"),
    ({"open_windows": "25:00-26:00"}, "open_windows", "时间请写作"),
    ({"open_windows": ", ".join(["01:00-02:00"] * 9)}, "open_windows", "最多 8 段"),
    ({"day3": "08:00-09:00,10:00-11:00,12:00-13:00,14:00-15:00,16:00-17:00"}, "day3", "最多 4 段"),
    ({"apb_minutes": "1" * 201}, "apb_minutes", "内容过长"),
    ({"voice_volume": "150"}, "voice_volume", "必须在 0 至 100 之间"),
    ({"quiet_volume": "loud"}, "quiet_volume", "整数"),
    ({"quiet_hours": "22:00-22:00"}, "quiet_hours", "开始和结束时间不能相同"),
    ({"quiet_hours": "晚上"}, "quiet_hours", "时间请写作"),
    ({"quiet_hours": ", ".join(["01:00-02:00"] * 5)}, "quiet_hours", "最多 4 段"),
    ({"lane_language": "fr"}, "lane_language", "请从列出的选项中选择"),
]


def test_a_bad_field_is_shown_with_its_error_and_nothing_is_written(gates: Api) -> None:
    for fields, name, message in BAD_FIELDS:
        _refused(gates, fields, name, message)


def _refused(api: Api, fields: dict[str, str], name: str, message: str) -> None:
    api.use("admin")
    kept = {"apb_minutes": "12"} if name != "apb_minutes" else {"retests": "2"}
    for url in (f"{ZONE}/preview", ZONE, f"{LANE}/preview", LANE):
        answer = form_post(api, url, BLANK | kept | fields | {"seen": "x"})
        assert answer.status_code == 422, (url, answer.text[:300])
        error = re.search(rf'id="err-{name}" role="alert">([^<]*)<', answer.text)
        assert error is not None, (url, name)
        assert message in error.group(1)
        assert 'id="policy-invalid"' in answer.text
        assert f'value="{next(iter(kept.values()))}"' in answer.text  # what was typed is kept
    assert lane_policy(api, "east-in") == lane_policy(api, "west-in")  # the defaults
    assert audits(api, "zone.policy") == audits(api, "gate.policy") == []


def test_errors_in_english(gates: Api) -> None:
    api = gates
    api.use("admin")
    api.client.cookies.set("gatepass_lang", "en", domain="testserver.local")
    answer = form_post(api, f"{ZONE}/preview", BLANK | {"fever_threshold_c": "50"})
    assert answer.status_code == 422
    assert "Must be from 35 to 40." in answer.text


def test_a_save_after_someone_else_changed_the_rules_previews_again(gates: Api) -> None:
    api = gates
    api.use("admin")
    shown = form_post(api, f"{ZONE}/preview", BLANK | {"retests": "2"})
    seen = re.search(r'name="seen" value="(\w+)"', shown.text)
    assert seen is not None
    assert save(api, LANE, {"apb_minutes": "3"}).status_code == 303  # meanwhile
    again = form_post(api, ZONE, BLANK | {"retests": "2", "seen": seen.group(1)})
    assert again.status_code == 409
    assert 'id="policy-conflict"' in again.text
    assert lane_policy(api, "east-in").retests == 1
    fresh = re.search(r'name="seen" value="(\w+)"', again.text)
    assert fresh is not None
    assert fresh.group(1) != seen.group(1)
    assert form_post(api, ZONE, BLANK | {"retests": "2", "seen": fresh.group(1)}).status_code == 303
    assert lane_policy(api, "east-in").retests == 2


def test_staff_view_their_zones_only_and_cannot_change(gates: Api) -> None:
    api = gates
    api.use("east-desk")
    index = api.get("/ui/policy")
    assert index.status_code == 200
    assert 'data-lane="east-in"' in index.text
    assert "west-in" not in index.text
    page = api.get(ZONE)
    assert page.status_code == 200
    assert "只有管理员可以修改这些规则" in page.text
    assert "disabled" in page.text
    assert "/preview" in page.text
    assert api.get("/ui/policy/zones/2").status_code == 404
    assert api.get("/ui/policy/lanes/west-in").status_code == 404
    assert form_post(api, f"{ZONE}/preview", BLANK).status_code == 403
    assert form_post(api, ZONE, BLANK | {"seen": "x"}).status_code == 403
    assert lane_policy(api, "east-in") == lane_policy(api, "west-in")


PLACES = [
    ("/ui/policy/zones/99", 404),
    ("/ui/policy/lanes/nope", 404),
    ("/ui/policy/zones/abc", 422),
    ("/ui/policy/zones/-1", 422),
    ("/ui/policy/zones/99999999999999999999999", 422),
    ("/ui/policy/lanes/" + "a" * 40, 422),
    ("/ui/policy/lanes/UPPER", 422),
]


def test_unknown_or_malformed_places_are_refused(gates: Api) -> None:
    api = gates
    api.use("admin")
    for url, status in PLACES:
        assert api.get(url).status_code == status, url
        assert form_post(api, f"{url}/preview", BLANK).status_code == status, url
        assert form_post(api, url, BLANK | {"seen": "x"}).status_code == status, url


def test_csrf_and_odd_bodies(gates: Api) -> None:
    api = gates
    api.use("admin")
    no_token = api.client.post(f"{ZONE}/preview", data=BLANK, follow_redirects=False)
    assert no_token.status_code == 403
    twice = api.client.post(
        f"{ZONE}/preview",
        content="csrf_token=" + api.sessions["admin"][1] + "&retests=2&retests=3",
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert twice.status_code == 200  # a repeated field counts as nothing typed
    as_file = form_post(api, f"{ZONE}/preview", {}, files={"retests": ("x.txt", b"2")})
    assert as_file.status_code == 200
    hostile = form_post(api, f"{ZONE}/preview", BLANK | {"open_windows": "<script>x</script>"})
    assert hostile.status_code == 422
    assert "<script>x</script>" not in hostile.text
    assert lane_policy(api, "east-in").retests == 1


def test_the_published_config_carries_the_merged_policy(gates: Api) -> None:
    api = gates
    api.use("admin")
    assert save(api, ZONE, {"apb_minutes": "7", "day5": "09:00-11:00"}).status_code == 303
    assert save(api, LANE, {"apb_logical": "no"}).status_code == 303

    async def go(env: Env) -> dict[str, messages.Policy]:
        async with env.db.read() as conn:
            root = public_from_raw(bytes.fromhex(await root_key_hex(conn)))
        manifest = await publishing.manifest_update(env, "gw01", published_seq=None, force=False)
        assert manifest is not None
        trusted = trusted_keys(open_manifest(manifest.messages[0].payload, root, site="gw01"))
        control = {kid: k.public for kid, k in trusted.items() if k.use == KeyUse.CONTROL}
        configs = {}
        for update in await publishing.config_updates(env, "gw01", force=False):
            [out] = update.messages
            gate = update.record.gate
            configs[gate] = messages.open_config(
                out.payload, control, site="gw01", gate=gate
            ).policy
            assert update.record.policy == ({"apb_logical": False} if gate == "east-in" else {})
        return configs

    configs = run(api, go)
    assert (configs["east-in"].apb_minutes, configs["east-in"].apb_logical) == (7, False)
    assert configs["east-out"].apb_logical is True
    assert configs["east-in"].weekday_list == [(5, 540, 660)]
    assert configs["west-in"].apb_minutes == 10


def test_the_api_answers_what_the_lane_decides_with_zone_rules_included(gates: Api) -> None:
    api = gates
    api.use("admin")
    assert save(api, ZONE, {"retests": "3"}).status_code == 303
    answer = api.put("/api/v1/gates/east-in/policy", json={"overrides": {"apb_minutes": 4}})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["overrides"] == {"apb_minutes": 4}
    assert (body["policy"]["retests"], body["policy"]["apb_minutes"]) == (3, 4)
    page = api.get(LANE).text  # the page shows the same
    assert 'value="4"' in page


def test_the_zone_policy_api(gates: Api) -> None:
    api = gates
    api.use("admin")
    url = "/api/v1/zones/1/policy"
    put = api.put(url, json={"overrides": {"relay_pulse_ms": 800, "retests": 2}})
    assert put.status_code == 200, put.text
    body = put.json()
    assert body["overrides"] == {"relay_pulse_ms": 800, "retests": 2}
    assert set(body["lanes"]) == {"east-in", "east-out"}
    assert body["lanes"]["east-in"]["relay_pulse_ms"] == 800
    assert 'name="retests" value="2"' in api.get(ZONE).text  # the form shows the zone's own
    # the page replaces the fields of its form and keeps the others
    assert save(api, ZONE, {"apb_minutes": "6", "retests": "2"}).status_code == 303
    assert api.get(url).json()["overrides"] == {
        "relay_pulse_ms": 800,
        "retests": 2,
        "apb_minutes": 6,
    }
    for bad in (
        {"retests": 9},
        {"nope": 1},
        {"weekday_windows": [[0, 600, 300]]},
        {"retests": "2"},
    ):
        assert api.put(url, json={"overrides": bad}).status_code == 422, bad
    assert api.put("/api/v1/zones/99/policy", json={"overrides": {}}).status_code == 404
    assert api.get("/api/v1/zones/99/policy").status_code == 404
    assert [r["action"] for r in audits(api, "zone.policy")] == ["zone.policy"] * 2
    api.use("east-desk")
    assert api.get(url).status_code == 200
    assert api.get("/api/v1/zones/2/policy").status_code == 404
    assert api.put(url, json={"overrides": {}}).status_code == 403
