"""The demo's lifecycle: build the site, start every process, play the morning, stop cleanly.

Order of start (deploy.demo.bringup): operator commands → mosquitto → server → seeding through
the API → the cut proxy → per lane the scanner and thermometer simulators, then the gate
daemon. Stop is the reverse, after the traffic generator: gates first (their last events get
acked), then the simulators, the server, the proxy and the broker. Ctrl-C (or SIGTERM) at any
point runs the stop; a second Ctrl-C kills every process group at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import time
from collections.abc import Awaitable
from typing import Any

from deploy.demo import api as http
from deploy.demo import seed, site, summary
from deploy.demo.bringup import (
    Demo,
    FolderRefused,
    Options,
    ack_first_boot,
    all_online,
    banner,
    say,
    start,
)
from deploy.demo.lane import LaneError
from deploy.demo.procs import ChildFailed, Processes
from deploy.demo.traffic import Morning, Script

__all__ = ["Options", "run"]

logger = logging.getLogger(__name__)


async def play(demo: Demo) -> None:
    """The traffic generator (the morning), if asked for."""
    assert demo.cast is not None
    assert demo.proxy is not None
    assert demo.staff is not None
    script = Script(demo.options.cut_at_s, demo.options.cut_s)
    morning = Morning(
        demo.lanes,
        demo.cast,
        demo.proxy,
        demo.staff,
        script=script,
        say=say,
        seed=demo.options.seed,
    )
    await morning.run()


async def watch(demo: Demo, stop: asyncio.Event, traffic: asyncio.Task[None] | None) -> None:
    """Until Ctrl-C, the duration, a child that dies, or a traffic generator that fails."""
    deadline = None if demo.options.duration is None else time.monotonic() + demo.options.duration
    while not stop.is_set():
        demo.procs.check_alive()
        if traffic is not None and traffic.done():
            traffic.result()  # raises what failed it
            traffic = None
        if deadline is not None and time.monotonic() >= deadline:
            return
        try:
            async with asyncio.timeout(0.5):
                await stop.wait()
        except TimeoutError:
            continue


async def settle(demo: Demo) -> None:
    """Until every gate is online and the event count has not moved for 3 s (at most 30 s)."""
    assert demo.admin is not None
    api = demo.admin
    last, steady_since = -1, time.monotonic()
    deadline = time.monotonic() + 30.0
    while time.monotonic() < deadline:
        count = (await asyncio.to_thread(api.call, "GET", "/api/v1/events?size=1"))["total"]
        online = await asyncio.to_thread(all_online, api)
        if count != last:
            last, steady_since = count, time.monotonic()
        elif online and time.monotonic() - steady_since >= 3.0:
            return
        await asyncio.sleep(0.5)
    logger.warning("events still arriving after 30 s; summarising what is there")


async def report(demo: Demo) -> dict[str, Any]:
    """Settle, then read the summary (a fresh admin session: the old one may have idled out)."""
    await settle(demo)
    admin = http.Api(demo.base)
    await asyncio.to_thread(admin.login, seed.ADMIN_USER, seed.ADMIN_PASSWORD)
    result = await asyncio.to_thread(summary.summarise, admin, demo.started)
    said = {gate: await lane.said() for gate, lane in sorted(demo.lanes.items())}
    return result | summary.prompts(said)


async def _finish(traffic: asyncio.Task[None] | None) -> None:
    """Stop the traffic generator (whoever is mid-lane just walks away)."""
    if traffic is not None and not traffic.done():
        traffic.cancel()
        await asyncio.gather(traffic, return_exceptions=True)


async def shutdown(demo: Demo, traffic: asyncio.Task[None] | None) -> None:
    """Traffic, gates, simulators, server, proxy, broker: in that order."""
    await _finish(traffic)
    for lane in demo.lanes.values():
        await lane.close()
    await demo.procs.stop_named("gate-")
    for gate in site.GATES:
        await demo.procs.stop_named(gate.id)
    await demo.procs.stop_named("server")
    if demo.proxy is not None:
        await demo.proxy.close()
    await demo.procs.stop_named("mosquitto")


async def run(options: Options) -> int:
    """The whole demo; exit status 0 unless something failed."""
    demo = Demo(options, site.Layout(options.root), Processes(site.Layout(options.root).logs))
    stop = asyncio.Event()
    _on_signals(demo, stop)
    traffic: asyncio.Task[None] | None = None
    acks: asyncio.Task[None] | None = None
    result: dict[str, Any] | None = None
    status = 0
    try:
        await _unless_stopped(start(demo), stop)
        banner(demo)
        assert demo.admin is not None
        acks = asyncio.create_task(asyncio.to_thread(ack_first_boot, demo.admin))
        if options.traffic:
            traffic = asyncio.create_task(play(demo), name="traffic")
        await watch(demo, stop, traffic)
        await _finish(traffic)
        if options.duration is not None:
            result = await report(demo)
    except (
        ChildFailed,
        FolderRefused,
        site.CommandFailed,
        http.ApiError,
        LaneError,
        OSError,
    ) as exc:
        logger.error("demo failed: %s", exc)
        status = 1
    except asyncio.CancelledError:
        say("stopping (interrupted during start)")
    finally:
        say("stopping: traffic, gates, simulators, server, broker ...")
        await _logged(acks, "acknowledging the first-boot alerts")
        await shutdown(demo, traffic)
        say(f"stopped; every process of the demo has exited (logs in {demo.layout.logs})")
    if result is not None:
        say(json.dumps(result, ensure_ascii=False, sort_keys=True))
    return status


async def _logged(task: asyncio.Task[None] | None, what: str) -> None:
    """Wait for a helper task (at most its own bound); log, not raise, what failed it."""
    if task is None:
        return
    for outcome in await asyncio.gather(task, return_exceptions=True):
        if isinstance(outcome, Exception):
            logger.error("%s failed: %s", what, outcome)


async def _unless_stopped(work: Awaitable[None], stop: asyncio.Event) -> None:
    """Run ``work``; Ctrl-C meanwhile cancels it (CancelledError)."""
    task = asyncio.ensure_future(work)
    waiter = asyncio.create_task(stop.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    if not task.done():
        task.cancel()
    await task


def _on_signals(demo: Demo, stop: asyncio.Event) -> None:
    """First Ctrl-C/SIGTERM: a clean stop. Second: kill every process group now."""
    loop = asyncio.get_running_loop()

    def handler() -> None:
        if stop.is_set():
            say("second interrupt: killing every process of the demo")
            demo.procs.kill_all_now()
            os._exit(130)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, handler)
