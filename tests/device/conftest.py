"""Fixtures for the hardware layer: gpiozero's MockFactory, simulators on real ptys, a runner."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory

from device.sim.modbus import ModbusSim
from device.sim.scanner import ScannerSim
from device.sim.thermometer import ThermometerSim

T = TypeVar("T")


@pytest.fixture
def mock_factory() -> Iterator[MockFactory]:
    """A fresh MockFactory passed explicitly as pin_factory; reset afterwards (gpiozero #1087)."""
    factory = MockFactory()
    saved = Device.pin_factory
    try:
        yield factory
    finally:
        factory.reset()
        Device.pin_factory = saved


def run(coro: Awaitable[T], timeout: float = 20.0) -> T:
    """Run a coroutine on a fresh loop with an overall bound."""

    async def bounded() -> T:
        async with asyncio.timeout(timeout):
            return await coro

    return asyncio.run(bounded())


async def next_matching(
    events: AsyncIterator[Any], predicate: Callable[[Any], bool], within: float = 3.0
) -> Any:
    """The first event satisfying ``predicate`` within ``within`` seconds (fails otherwise)."""
    async with asyncio.timeout(within):
        async for item in events:
            if predicate(item):
                return item
    raise AssertionError("event stream ended")


@pytest.fixture
def link(tmp_path: Path) -> Path:
    """A udev-like stable name that follows the simulator's pty across unplug/replug."""
    return tmp_path / "ttyGATE"


@pytest.fixture
def sims() -> Iterator[list[Any]]:
    """Collects simulators to stop at the end of the test."""
    made: list[Any] = []
    yield made
    for sim in made:
        sim.stop()


@pytest.fixture
def thermo_sim(sims: list[Any], link: Path) -> Callable[..., ThermometerSim]:
    """Factory: a started GY thermometer simulator on a pty behind ``link``."""

    def make(model: str = "gy-mcu90614", **kwargs: Any) -> ThermometerSim:
        sim = ThermometerSim(model, link=link, **kwargs)
        sim.start()
        sims.append(sim)
        return sim

    return make


@pytest.fixture
def scanner_sim(sims: list[Any], link: Path) -> Callable[..., ScannerSim]:
    """Factory: a started scanner simulator on a pty behind ``link``."""

    def make(model: str = "grow-gm65", **kwargs: Any) -> ScannerSim:
        sim = ScannerSim(model, link=link, **kwargs)
        sim.start()
        sims.append(sim)
        return sim

    return make


@pytest.fixture
def modbus_sim(sims: list[Any], link: Path) -> Callable[..., ModbusSim]:
    """Factory: a started Modbus transmitter simulator on a pty behind ``link``."""

    def make(**kwargs: Any) -> ModbusSim:
        sim = ModbusSim(link=link, **kwargs)
        sim.start()
        sims.append(sim)
        return sim

    return make


def wait_until(check: Callable[[], bool], within: float = 3.0) -> None:
    """Bounded polling for state that has no event to await (pty I/O in another thread)."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


class Running:
    """A driver's ``run()`` as a task plus its event stream, for ``async with``."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver
        self.events: AsyncIterator[Any] = driver.events()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Running:
        self._task = asyncio.create_task(self.driver.run(), name="driver-under-test")
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def next(
        self, kind: type, within: float = 3.0, where: Callable[[Any], bool] | None = None
    ) -> Any:
        """The next event of ``kind`` (matching ``where``) within ``within`` seconds."""
        return await next_matching(
            self.events, lambda e: isinstance(e, kind) and (where is None or where(e)), within
        )
