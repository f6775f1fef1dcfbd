"""Alerts to the group chat (issue 17 item 5): each vendor's exact request checked by a robot on
127.0.0.1 (DingTalk's timestamp and signature, Feishu's sign, the webhook's HMAC header),
retries on a 500 and on a 200 with a non-zero code, failure after the last attempt and the
retry from the list, a storm folded into one message, and a raising path that never waits for
a robot (one that hangs does not slow the alerts down)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy as sa

from server.services.alerts.channels import setup
from server.services.alerts.channels.courier import Courier
from server.services.context import CLI_ACTOR, Env
from server.services.errors import Conflict, NotFound
from server.services.paging import Page
from server.services.passes import issuing as passes
from server.services.registry import places as registry
from server.services.registry import residents
from server.store.schema_gates import alerts, chat_deliveries, chat_notices
from server.web.i18n import Translator
from tests.server.conftest import Site
from tests.support.chat_sink import ChatSink, Received
from tests.ui.data import add_event

NAME, PHONE = "张三丰", "13812345678"
SECRET = "SECa1b2c3d4e5f6"


def words(language: str, key: str, **values: Any) -> str:
    return Translator(language)(key, **values)


@pytest.fixture
def place(site: Site) -> dict[str, Any]:
    """Lanes 东门入口 (zone east) and 西门入口 (zone west); a resident with a pass; the clock at
    the real time (robots check the timestamp against theirs)."""

    async def go(env: Env) -> dict[str, Any]:
        for gate, zone, name in (("east-in", 1, "东门入口"), ("west-in", 2, "西门入口")):
            fields = registry.GateFields(zone_id=zone, name=name, direction="in")
            await registry.save_gate(env, CLI_ACTOR, gate, fields, create=True)
        house = await registry.save_household(
            env,
            CLI_ACTOR,
            None,
            registry.HouseholdFields(zone_id=1, building="3", unit="2", room="201"),
        )
        person = await residents.save(
            env,
            CLI_ACTOR,
            None,
            residents.ResidentFields(household_id=house.id, name=NAME, phone=PHONE, role="owner"),
        )
        card = await passes.issue_resident(env, CLI_ACTOR, person.id)
        return {"ref": card.ref}

    made = site.run(go)
    site.clock.t = int(time.time())  # after issuing: the site's keys start at the fake START
    return made  # type: ignore[no-any-return]


@pytest.fixture
def sink() -> Iterator[ChatSink]:
    with ChatSink() as s:
        yield s


def _fields(vendor: str, url: str, secret: str | None, kinds: list[str]) -> setup.ChannelFields:
    return setup.ChannelFields(
        name=f"{vendor}-group",
        vendor=vendor,
        url=url,
        secret=secret,
        clear_secret=False,
        language="zh-CN",
        enabled=True,
        kinds=kinds,
    )


async def _channel(
    env: Env, vendor: str, url: str, secret: str | None = None, kinds: tuple[str, ...] = ("fever",)
) -> setup.ChannelView:
    return await setup.create(env, CLI_ACTOR, _fields(vendor, url, secret, list(kinds)))


async def _fever(env: Env, ref: str, gate: str = "east-in") -> None:
    await add_event(
        env, gate=gate, at_ms=env.clock.now() * 1000, granted=False, reason="fever", pass_ref=ref
    )


async def _deliveries(env: Env) -> list[Any]:
    async with env.db.read() as conn:
        return list(await conn.execute(sa.select(chat_deliveries).order_by(chat_deliveries.c.id)))


def _fresh_ms(value: str) -> int:
    """A timestamp in ms within a minute of this machine's real clock (DingTalk allows an hour)."""
    stamp = int(value)
    assert abs(stamp - time.time() * 1000) < 60_000
    return stamp


def _check_text(text: str, ref: str) -> None:
    assert text.startswith("【门岗告警】发热报警 1 条")
    assert "通道：东门入口（east）" in text
    assert "时间：" in text
    for private in (NAME, NAME[0] + "*" + NAME[-1], PHONE, PHONE[-4:], ref):
        assert private not in text


def _check_wecom(got: Received, ref: str) -> None:
    assert got.query == {"key": "robot-key-1"}
    body = got.json()
    assert set(body) == {"msgtype", "text"}
    assert body["msgtype"] == "text"
    assert set(body["text"]) == {"content"}
    _check_text(body["text"]["content"], ref)


def _check_dingtalk(got: Received, ref: str) -> None:
    assert set(got.query) == {"access_token", "timestamp", "sign"}
    assert got.query["access_token"] == "tok"
    stamp = _fresh_ms(got.query["timestamp"])
    mac = hmac.new(SECRET.encode(), f"{stamp}\n{SECRET}".encode(), hashlib.sha256).digest()
    assert got.query["sign"] == base64.b64encode(mac).decode()  # parse_qs undid the urlencode
    body = got.json()
    assert set(body) == {"msgtype", "text"}
    assert body["msgtype"] == "text"
    _check_text(body["text"]["content"], ref)


def _check_feishu(got: Received, ref: str) -> None:
    body = got.json()
    assert set(body) == {"timestamp", "sign", "msg_type", "content"}
    assert body["msg_type"] == "text"
    assert isinstance(body["timestamp"], str)
    seconds = _fresh_ms(body["timestamp"] + "000") // 1000
    key = f"{seconds}\n{SECRET}".encode()
    assert body["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert set(body["content"]) == {"text"}
    _check_text(body["content"]["text"], ref)


def _check_webhook(got: Received, ref: str) -> None:
    expected = "sha256=" + hmac.new(SECRET.encode(), got.body, hashlib.sha256).hexdigest()
    assert got.headers["X-Gatepass-Signature"] == expected
    body = got.json()
    assert body["source"] == "gatepass"
    assert body["kind"] == "fever"
    assert body["count"] == 1
    assert body["lanes"] == [{"lane": "东门入口", "zone": "east"}]
    assert body["link"] is None
    assert body["first_at"] == body["last_at"]
    _check_text(body["text"], ref)
    assert ref not in got.body.decode()


VENDORS = {
    "wecom": ("/cgi-bin/webhook/send?key=robot-key-1", None, {"errcode": 0, "errmsg": "ok"}),
    "dingtalk": ("/robot/send?access_token=tok", SECRET, {"errcode": 0, "errmsg": "ok"}),
    "feishu": ("/open-apis/bot/v2/hook/abc", SECRET, {"code": 0, "msg": "success", "data": {}}),
    "webhook": ("/gatepass", SECRET, {}),
}
CHECKS = {
    "wecom": _check_wecom,
    "dingtalk": _check_dingtalk,
    "feishu": _check_feishu,
    "webhook": _check_webhook,
}


@pytest.mark.parametrize("vendor", list(VENDORS))
def test_each_vendor_gets_its_documented_request(
    site: Site, place: dict[str, Any], sink: ChatSink, vendor: str
) -> None:
    path, secret, answer = VENDORS[vendor]
    sink.answers = [(200, answer)]

    async def go(env: Env) -> list[Any]:
        await _channel(env, vendor, sink.url(path), secret)
        await _fever(env, place["ref"])
        assert await Courier(env, words).round() == 1
        return await _deliveries(env)

    rows = site.run(go)
    assert len(sink.received) == 1
    got = sink.received[0]
    assert got.path == path.split("?")[0]
    assert got.headers["Content-Type"].startswith("application/json")
    CHECKS[vendor](got, place["ref"])
    assert [(r.state, r.attempts, r.count) for r in rows] == [("sent", 1, 1)]


def test_the_link_opens_the_latest_folded_alerts_incident_page(
    site: Site, place: dict[str, Any]
) -> None:
    with ChatSink(answers=[(200, {"errcode": 0}), (200, {})]) as robot:

        async def go(env: Env) -> list[int]:
            linked = Env(
                db=env.db,
                settings=env.settings.model_copy(update={"public_url": "https://gp.example.cn/"}),
                clock=env.clock,
            )
            await _channel(linked, "wecom", robot.url())
            await _channel(linked, "webhook", robot.url())
            await _fever(linked, place["ref"])
            linked.clock.advance(1)
            await _fever(linked, "GP-OTHER", gate="west-in")  # another pass: another alert
            await Courier(linked, words).round()
            async with env.db.read() as conn:
                query = sa.select(alerts.c.id).where(alerts.c.kind == "fever").order_by("id")
                return list((await conn.execute(query)).scalars())

        ids = site.run(go)
    assert len(ids) == 2  # two alerts folded into one message per channel
    link = f"https://gp.example.cn/ui/alerts/{ids[-1]}"
    bodies = [r.json() for r in robot.received]
    texts = [
        b["text"]["content"] if "text" in b and isinstance(b["text"], dict) else b["text"]
        for b in bodies
    ]
    assert len(texts) == 2
    assert all(t.startswith("【门岗告警】发热报警 2 条") for t in texts)
    assert all(t.endswith(f"查看：{link}") for t in texts)
    webhook = next(b for b in bodies if b.get("source") == "gatepass")
    assert (webhook["link"], webhook["alert_id"]) == (link, ids[-1])


def test_a_500_and_a_refusing_errcode_are_retried_with_backoff(
    site: Site, place: dict[str, Any], sink: ChatSink
) -> None:
    sink.answers = [
        (500, {}),
        (200, {"errcode": 310000, "errmsg": "sign not match"}),
        (200, {"errcode": 0, "errmsg": "ok"}),
    ]
    retry_s = site.settings.chat_retry_s

    async def go(env: Env) -> list[tuple[str, int, str | None]]:
        courier = Courier(env, words)
        await _channel(env, "dingtalk", sink.url("/robot/send?access_token=t"), SECRET)
        await _fever(env, place["ref"])
        seen = []
        for wait in (0, 0, retry_s, 2 * retry_s - 1, 1):
            site.clock.advance(wait)
            await courier.round()
            row = (await _deliveries(env))[0]
            seen.append((row.state, row.attempts, row.error))
        return seen

    seen = site.run(go)
    assert seen == [
        ("pending", 1, "http 500"),
        ("pending", 1, "http 500"),  # not before the back-off
        ("pending", 2, "errcode 310000 sign not match"),
        ("pending", 2, "errcode 310000 sign not match"),  # the second wait is twice as long
        ("sent", 3, None),
    ]
    assert len(sink.received) == 3


def test_a_message_fails_after_the_last_attempt_and_is_sent_again_from_the_list(
    site: Site, place: dict[str, Any], sink: ChatSink
) -> None:
    sink.answers = [(503, {})]

    async def go(env: Env) -> tuple[list[setup.FailedView], list[Any]]:
        courier = Courier(env, words)
        await _channel(env, "wecom", sink.url())
        await _fever(env, place["ref"])
        for _ in range(env.settings.chat_attempts + 2):
            await courier.round()
            site.clock.advance(3600)
        failed, total = await setup.failed(env, CLI_ACTOR, Page(1, 25, "id", True))
        assert total == 1
        with pytest.raises(NotFound):
            await setup.retry(env, CLI_ACTOR, 999)
        sink.answers = [(200, {"errcode": 0})]
        sink.received.clear()
        await setup.retry(env, CLI_ACTOR, failed[0].delivery.id)
        with pytest.raises(Conflict):
            await setup.retry(env, CLI_ACTOR, failed[0].delivery.id)
        await courier.round()
        return failed, await _deliveries(env)

    failed, rows = site.run(go)
    assert failed[0].channel == "wecom-group"
    assert failed[0].delivery.attempts == site.settings.chat_attempts
    assert failed[0].delivery.error == "http 503"
    assert [(r.state, r.attempts) for r in rows] == [("sent", 1)]
    assert len(sink.received) == 1


def test_a_hundred_fevers_in_a_minute_are_one_message_with_the_count(
    site: Site, place: dict[str, Any], sink: ChatSink
) -> None:
    sink.answers = [(200, {"errcode": 0})]

    async def go(env: Env) -> list[Any]:
        courier = Courier(env, words)
        await _channel(env, "wecom", sink.url(), kinds=("fever", "gate_offline"))
        for i in range(100):
            await _fever(env, f"ref{i:04d}", gate="east-in" if i % 2 else "west-in")
        assert await courier.round() == 1
        site.clock.advance(5)
        for i in range(7):
            await _fever(env, f"late{i}")
        await courier.round()
        site.clock.advance(env.settings.chat_window_s - 6)
        await courier.round()
        after = len(sink.received)
        site.clock.advance(1)
        await courier.round()
        return [after, await _deliveries(env)]

    after, rows = site.run(go)
    texts = [r.json()["text"]["content"] for r in sink.received]
    assert after == 1  # nothing more within the minute
    assert len(texts) == 2
    assert texts[0].startswith("【门岗告警】发热报警 100 条")
    assert "东门入口（east）" in texts[0]
    assert "西门入口（west）" in texts[0]
    assert "\n时间：" in texts[0]
    assert texts[1].startswith("【门岗告警】发热报警 7 条")
    assert [r.count for r in rows] == [100, 7]
    assert rows[1].not_before == rows[0].not_before + site.settings.chat_window_s


def test_a_hanging_robot_does_not_slow_the_alerts(site: Site, place: dict[str, Any]) -> None:
    with ChatSink(answers=[(200, {"errcode": 0})], delay_s=10) as robot:

        async def go(env: Env) -> tuple[float, int]:
            env = Env(
                db=env.db,
                settings=env.settings.model_copy(update={"chat_timeout_s": 3}),
                clock=env.clock,
                hub=env.hub,
            )
            await _channel(env, "wecom", robot.url())
            worker = asyncio.create_task(Courier(env, words).run())
            await _fever(env, place["ref"])
            assert await asyncio.to_thread(robot.arrived.wait, 5)  # the worker is stuck posting
            started = time.monotonic()
            for i in range(30):
                await _fever(env, f"r{i}")
            took = time.monotonic() - started
            async with env.db.read() as conn:
                waiting = await conn.scalar(sa.select(sa.func.count()).select_from(chat_notices))
            worker.cancel()
            return took, int(waiting or 0)

        took, waiting = site.run(go)
    assert took < 1.5  # 30 alerts, each in its own transaction, while the robot hangs 10 s
    assert waiting == 30  # queued for the worker, none sent from the raising path


def test_one_kind_goes_to_every_enabled_channel_in_its_language(
    site: Site, place: dict[str, Any]
) -> None:
    with (
        ChatSink(answers=[(200, {"errcode": 0})]) as chinese,
        ChatSink(answers=[(200, {"code": 0})]) as english,
        ChatSink(answers=[(200, {"errcode": 0})]) as off,
        ChatSink(answers=[(200, {"errcode": 0})]) as other_kind,
    ):

        async def go(env: Env) -> None:
            await _channel(env, "wecom", chinese.url())
            fields = _fields("feishu", english.url(), None, ["fever"])
            await setup.create(env, CLI_ACTOR, replace(fields, name="en", language="en"))
            fields = _fields("wecom", off.url(), None, ["fever"])
            await setup.create(env, CLI_ACTOR, replace(fields, name="off", enabled=False))
            await _channel(env, "dingtalk", other_kind.url(), SECRET, kinds=("door",))
            await _fever(env, place["ref"], gate="west-in")
            assert await Courier(env, words).round() == 2

        site.run(go)
        assert (
            chinese.received[0]
            .json()["text"]["content"]
            .startswith("【门岗告警】发热报警 1 条\n通道：西门入口（west）\n时间：")
        )
        assert (
            english.received[0]
            .json()["content"]["text"]
            .startswith("[Gate alert] Fever alert: 1\nLanes: 西门入口 (west)\nTime: ")
        )
        assert off.received == []
        assert other_kind.received == []


def test_sent_messages_are_forgotten_after_the_event_retention(
    site: Site, place: dict[str, Any], sink: ChatSink
) -> None:
    sink.answers = [(200, {"errcode": 0})]

    async def go(env: Env) -> list[int]:
        courier = Courier(env, words)
        await _channel(env, "wecom", sink.url())
        await _fever(env, place["ref"])
        await courier.round()
        kept = [await courier.prune(), len(await _deliveries(env))]
        site.clock.advance(env.settings.retention_event_days * 86400 + 1)
        return [*kept, await courier.prune(), len(await _deliveries(env))]

    assert site.run(go) == [0, 1, 1, 0]
