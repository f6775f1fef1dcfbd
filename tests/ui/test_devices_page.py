"""The gate's page lists every device the lane reports: state, since when, the last error."""

from __future__ import annotations

import re

from protocol.messages import DeviceHealth, DeviceState, GateStatus, Lifecycle, Mode
from server.app import Env
from server.services.ingest.model import BatchResult
from server.services.ingest.status import store_status
from tests.server.conftest import Api, seed
from tests.ui.data import make_gates

LOST = "device path gone (unplugged): /dev/ttyACM0"


def _report(api: Api, since_ms: int) -> None:
    status = GateStatus(
        site="gw01",
        gate="east-in",
        state=Lifecycle.ONLINE,
        at=since_ms,
        boot_id="cd" * 16,
        software="t",
        mode=Mode.NORMAL,
        clock_trusted=True,
        outbox_depth=0,
        devices=[
            DeviceHealth(name="relay", state=DeviceState.OK, detail="gpio"),
            DeviceHealth(
                name="scanner",
                state=DeviceState.OFFLINE,
                detail=LOST,
                since=since_ms,
                last_error=LOST,
            ),
            DeviceHealth(name="thermometer", state=DeviceState.OK, since=since_ms, last_error="x"),
        ],
    )

    async def go(env: Env) -> None:
        async with env.db.write() as conn:
            await store_status(
                conn, status, now=env.clock.now(), backlog=1000, result=BatchResult()
            )

    api.site.run(go)


def _rows(html: str) -> dict[str, str]:
    rows = re.findall(r'<tr class="device" data-device="([a-z]+)">(.*?)</tr>', html, re.DOTALL)
    return {name: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).strip() for name, body in rows}


def test_the_gate_page_shows_a_row_per_device(api: Api) -> None:
    seed(api)
    make_gates(api)
    since_ms = api.site.clock.now() * 1000
    _report(api, since_ms)
    api.use("east-desk")
    rows = _rows(api.get("/ui/console/east-in").text)
    assert list(rows) == ["relay", "scanner", "thermometer"]
    assert rows["relay"] == "闸机继电器 正常"  # never failed: no since, no error
    assert rows["scanner"].startswith("扫码器 离线 ")
    assert rows["scanner"].endswith(LOST)
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", rows["scanner"])  # faulty since
    assert rows["thermometer"].startswith("测温仪 正常 ")  # recovered: since when, what it was
    assert rows["thermometer"].endswith(" x")
    api.client.cookies.set("gatepass_lang", "en", domain="testserver.local")
    page = api.get("/ui/console/east-in").text
    assert "In this state since" in page
    assert _rows(page)["scanner"].startswith("QR scanner offline ")
    api.use("admin")
    health = api.get("/api/v1/gate-health/east-in")
    assert health.status_code == 200, health.text
    devices = {d["name"]: d for d in health.json()["status"]["devices"]}
    assert devices["scanner"]["since"] == since_ms  # the API gives the same fields
    assert devices["scanner"]["last_error"] == LOST
    assert "since" not in devices["relay"] or devices["relay"]["since"] is None
