"""The group-chat pages in-process (issue 17 item 5): an admin adds, edits, tests and deletes a
channel; the URL and the secret are never shown back nor audited; bad input is refused with a
translated reason and saves nothing; staff have no such pages; the app's own worker (started
by its lifespan) delivers an alert raised in another process's transaction."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from server.services.context import Env
from server.store.schema import audit_log
from server.store.schema_gates import chat_channels, chat_routes
from tests.server.conftest import Api
from tests.support.chat_sink import ChatSink
from tests.ui.conftest import form_post
from tests.ui.data import add_event, make_gates

KEY = "robot-key-7f3a9c"
SECRET = "SECdeadbeefcafe"


@pytest.fixture
def robot() -> Iterator[ChatSink]:
    with ChatSink(answers=[(200, {"errcode": 0, "errmsg": "ok"})]) as sink:
        yield sink


def _form(robot: ChatSink, **changes: Any) -> dict[str, Any]:
    return {
        "name": "东区值班群",
        "vendor": "dingtalk",
        "url": robot.url(f"/robot/send?access_token={KEY}"),
        "secret": SECRET,
        "language": "zh-CN",
        "enabled": "1",
        "kinds": ["fever", "gate_offline"],
    } | changes


def _rows(api: Api) -> tuple[list[Any], list[Any], list[Any]]:
    async def go(env: Env) -> tuple[list[Any], list[Any], list[Any]]:
        async with env.db.read() as conn:
            channels = list(await conn.execute(sa.select(chat_channels)))
            routes = list(await conn.execute(sa.select(chat_routes)))
            audits = list(
                await conn.execute(sa.select(audit_log).where(audit_log.c.action.like("chat.%")))
            )
        return channels, routes, audits

    return api.site.run(go)  # type: ignore[no-any-return]


def test_an_admin_adds_edits_tests_and_deletes_a_channel(api: Api, robot: ChatSink) -> None:
    api.use("admin")
    page = api.client.get("/ui/channels")
    assert page.status_code == 200
    assert "还没有设置任何群" in page.text
    added = form_post(api, "/ui/channels", _form(robot))
    assert added.status_code == 200
    assert "已保存“东区值班群”" in added.text
    for secret in (KEY, SECRET):
        assert secret not in added.text
    assert "/…" + KEY[-4:] in added.text  # the host and the last four characters only
    channels, routes, audits = _rows(api)
    assert [(c.vendor, c.secret) for c in channels] == [("dingtalk", SECRET)]
    assert sorted(r.kind for r in routes) == ["fever", "gate_offline"]
    channel_id = channels[0].id

    edit = api.client.get(f"/ui/channels/{channel_id}")
    assert edit.status_code == 200
    assert KEY not in edit.text
    assert SECRET not in edit.text
    kept = form_post(
        api, f"/ui/channels/{channel_id}", _form(robot, url="", secret="", kinds=["door"])
    )
    assert kept.status_code == 200
    channels, routes, _ = _rows(api)
    assert channels[0].url.endswith(KEY)  # blank fields keep what is stored
    assert channels[0].secret == SECRET
    assert [r.kind for r in routes] == ["door"]

    tested = form_post(api, f"/ui/channels/{channel_id}/test", {})
    assert tested.status_code == 200
    assert "测试消息已发到“东区值班群”" in tested.text
    assert len(robot.received) == 1
    assert set(robot.received[0].query) == {"access_token", "timestamp", "sign"}
    assert "东区值班群" in robot.received[0].json()["text"]["content"]

    robot.answers = [(200, {"errcode": 300001, "errmsg": "token is not exist"})]
    refused = form_post(api, f"/ui/channels/{channel_id}/test", {})
    assert "测试消息没有发到" in refused.text
    assert "机器人拒收（错误码 300001 token is not exist）" in refused.text

    deleted = form_post(api, f"/ui/channels/{channel_id}/delete", {})
    assert deleted.status_code == 303
    channels, routes, audits = _rows(api)
    assert channels == []
    assert routes == []
    actions = [a.action for a in audits]
    assert actions == [
        "chat.channel.create",
        "chat.channel.update",
        "chat.channel.test",
        "chat.channel.test",
        "chat.channel.delete",
    ]
    for entry in audits:
        text = str(entry.detail)
        assert KEY not in text
        assert SECRET not in text


@pytest.mark.parametrize(
    ("changes", "status", "words"),
    [
        ({"url": "ftp://example.cn/hook"}, 422, "http:// 或 https://"),
        ({"url": "javascript:alert(1)"}, 422, "http:// 或 https://"),
        ({"url": "http:///nohost"}, 422, "http:// 或 https://"),
        ({"url": "http://[::1"}, 422, "http:// 或 https://"),
        ({"url": "https://x.cn/" + "a" * 600}, 422, ""),
        ({"name": "群" * 65}, 422, ""),
        ({"name": "  "}, 422, ""),
        ({"name": "a\x00b"}, 422, ""),
        ({"vendor": "slack"}, 422, "请选择群的类型"),
        ({"language": "fr"}, 422, "请选择消息语言"),
        ({"kinds": ["fever", "nonsense"]}, 422, "告警种类不存在"),
        ({"secret": ""}, 422, "加签密钥"),
        ({"secret": "s" * 201}, 422, ""),
    ],
)
def test_bad_input_is_refused_and_saves_nothing(
    api: Api, robot: ChatSink, changes: dict[str, Any], status: int, words: str
) -> None:
    api.use("admin")
    response = form_post(api, "/ui/channels", _form(robot, **changes))
    assert response.status_code == status
    assert words in response.text
    assert _rows(api) == ([], [], [])


def test_a_name_twice_unknown_ids_and_no_csrf(api: Api, robot: ChatSink) -> None:
    api.use("admin")
    assert form_post(api, "/ui/channels", _form(robot)).status_code == 200
    again = form_post(api, "/ui/channels", _form(robot, vendor="wecom", secret=""))
    assert again.status_code == 409
    assert "已有同名的群" in again.text
    for path in ("/ui/channels/999", "/ui/channels/abc", f"/ui/channels/{2**40}"):
        assert api.client.get(path).status_code in (404, 422)
    assert form_post(api, "/ui/channels/999", _form(robot)).status_code == 404
    assert form_post(api, "/ui/channels/999/test", {}).status_code == 404
    assert form_post(api, "/ui/channels/failed/999/retry", {}).status_code == 404
    no_token = api.client.post("/ui/channels", data=_form(robot, name="another"))
    assert no_token.status_code == 403
    assert len(_rows(api)[0]) == 1


def test_staff_cannot_see_or_change_channels(api: Api, robot: ChatSink) -> None:
    api.use("east-desk")
    assert api.client.get("/ui/channels").status_code == 403
    assert api.client.get("/ui/channels/failed").status_code == 403
    assert form_post(api, "/ui/channels", _form(robot)).status_code == 403
    assert _rows(api) == ([], [], [])
    page = api.client.get("/ui/")
    assert "/ui/channels" not in page.text


def test_the_apps_own_worker_delivers_an_alert(api: Api, robot: ChatSink) -> None:
    make_gates(api)
    api.use("admin")
    form = _form(robot, vendor="wecom", secret="", url=robot.url(f"/send?key={KEY}"))
    assert form_post(api, "/ui/channels", form).status_code == 200

    async def fever(env: Env) -> None:
        now = env.clock.now()
        await add_event(env, gate="east-in", at_ms=now * 1000, granted=False, reason="fever")

    api.site.run(fever)  # another connection: the worker finds it by looking every second
    assert robot.arrived.wait(10)
    text = robot.received[0].json()["text"]["content"]
    assert text.startswith("【门岗告警】发热报警 1 条")
    failed = api.client.get("/ui/channels/failed")
    assert failed.status_code == 200
    assert "没有发送失败的消息" in failed.text


def test_the_pages_in_english(api: Api, robot: ChatSink) -> None:
    api.use("admin")
    api.client.cookies.set("gatepass_lang", "en", domain="testserver.local")
    listed = form_post(api, "/ui/channels", _form(robot, vendor="feishu", secret=""))
    assert listed.status_code == 200
    assert "Alerts to the group chat" in listed.text
    assert "Feishu bot" in listed.text
    assert "Fever alert" in listed.text
    refused = form_post(api, "/ui/channels", _form(robot, url="ftp://x", name="b"))
    assert refused.status_code == 422
    assert "must be a full address starting with http:// or https://" in refused.text
    failed = api.client.get("/ui/channels/failed")
    assert "No message has failed." in failed.text
