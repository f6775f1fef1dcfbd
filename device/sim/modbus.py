"""A Modbus RTU IR transmitter on a pty, driven by a register-map table (reference 1.6).

Answers 03/04 reads and 06 writes addressed to its slave address (or 255), with exception 02
for an address outside the map; stays silent on a bad CRC or another slave's request. The
object temperature comes from the same ``Scene`` as the GY simulator.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from device.hardware.codecs import modbus as mb
from device.sim.base import SimError, Simulator
from device.sim.pty import PtyPort
from device.sim.scene import Scene


class ModbusSim(Simulator):
    """One simulated transmitter."""

    def __init__(
        self,
        *,
        register_map: str = "calex",
        slave: int = 1,
        baud: int = 9600,
        link: Path | None = None,
        seed: int = 1,
        **kwargs: Any,
    ) -> None:
        if register_map not in mb.REGISTER_MAPS:
            raise SimError(f"unknown register map {register_map!r}")
        super().__init__(link=link, **kwargs)
        self.model = "modbus-ir"
        self.map = mb.REGISTER_MAPS[register_map]
        self.slave = slave
        self.baud = baud
        self.scene = Scene(seed=seed)
        self.status = 0
        self.registers: dict[int, int] = {self.map.emissivity: 10000}
        self.requests = 0
        self._buf = bytearray()

    def power_on(self) -> None:
        """Volatile registers reset at power-up."""
        self.registers[self.map.emissivity] = 10000
        self._buf.clear()

    def _values(self, now: float) -> dict[int, int]:
        obj, amb = self.scene.temperatures(now)
        m = self.map
        values = dict(self.registers)
        values.update({m.filtered: mb.to_tenths(obj), m.filtered + 1: mb.to_tenths(obj)})
        values.update({m.sensor: mb.to_tenths(amb), m.status: self.status})
        return values

    def tick(self, port: PtyPort, data: bytes, now: float) -> None:
        """Answer every complete request addressed to us."""
        if port.host_baud() != self.baud:
            return  # garbled at the wrong rate: no valid request ever arrives
        self._buf += data
        while (request := mb.take_request(self._buf)) is not None:
            if request.slave in (self.slave, 255):
                self.requests += 1
                self.send(port, self._answer(request, now))

    def _answer(self, request: mb.Request, now: float) -> bytes:
        slave, function = self.slave, request.function
        if function == mb.WRITE_SINGLE:
            if request.address != self.map.emissivity:
                return mb.encode_exception(slave, function, 2)
            self.registers[request.address] = request.value
            return mb.with_crc(
                bytes((slave, function)) + request.address.to_bytes(2) + request.value.to_bytes(2)
            )
        values = self._values(now)
        wanted = range(request.address, request.address + request.value)
        if not 1 <= request.value <= 32 or any(a not in values for a in wanted):
            return mb.encode_exception(slave, function, 2)
        return mb.encode_read_reply(slave, function, [values[a] for a in wanted])

    # --- commands -----------------------------------------------------------------------

    def cmd_person(self, peak: str = "34.2", hold: str = "2.0") -> str:
        """Step in front of the sensor: object PEAK C for HOLD s."""
        self.scene.person(time.monotonic(), float(peak), float(hold))
        return f"person {peak} C for {hold} s"

    def cmd_fever(self, peak: str = "36.8", hold: str = "2.0") -> str:
        """A person with a fever skin temperature."""
        return self.cmd_person(peak, hold)

    def cmd_object(self, value: str = "auto") -> str:
        """Fix the object temperature (``object auto`` returns to the scene)."""
        self.scene.fixed_object_c = None if value == "auto" else float(value)
        return f"object {value}"

    def cmd_fault(self, bits: str = "1") -> str:
        """Set the status register (b0 measurement error ... b4 object too hot); 0 clears."""
        self.status = int(bits, 0) & 0xFFFF
        return f"status {self.status:04x}"

    def cmd_status(self) -> str:
        """The simulator's state as JSON."""
        port = self.port
        return json.dumps(
            {
                "model": self.model,
                "pty": None if port is None or port.closed else port.path,
                "slave": self.slave,
                "baud": self.baud,
                "requests": self.requests,
                "emissivity": self.registers[self.map.emissivity],
                "dead": self.dead,
            }
        )
