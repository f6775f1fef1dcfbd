"""Build a serial driver from a model name and a port URL, as configuration names them.

Model names are stable (installers, the probe command and outside checks use them):
thermometers ``gy-mcu90614``, ``gy-mcu90615``, ``modbus-ir``; scanners ``grow-gm65``,
``grow-gm805``, ``grow-gm861``, ``line``. The URL is anything ``serial.serial_for_url`` opens.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from device.hardware.drivers.modbus import ModbusSettings, ModbusThermometer
from device.hardware.drivers.scanner import GROW_MODELS, GrowScanner, LineScanner, ScannerSettings
from device.hardware.drivers.thermometer import GY_MODELS, GyThermometer, ThermometerSettings
from device.hardware.errors import UnknownModel
from device.ports import QrScanner, Thermometer

THERMOMETER_MODELS = (*GY_MODELS, "modbus-ir")
SCANNER_MODELS = (*GROW_MODELS, "line")


def build_thermometer(
    model: str, url: str, *, baud: int | None = None, offset_c: float = 0.0, **options: Any
) -> Thermometer:
    """A thermometer driver for ``model`` on ``url``; ``options`` are the settings' fields."""
    if model in GY_MODELS:
        return GyThermometer(
            ThermometerSettings(url=url, model=model, baud=baud, offset_c=offset_c, **options)
        )
    if model == "modbus-ir":
        modbus = ModbusSettings(url=url, offset_c=offset_c, **options)
        return ModbusThermometer(modbus if baud is None else replace(modbus, baud=baud))
    known = ", ".join(THERMOMETER_MODELS)
    raise UnknownModel(f"unknown thermometer model {model!r}; known: {known}")


def build_scanner(model: str, url: str, *, baud: int | None = None, **options: Any) -> QrScanner:
    """A scanner driver for ``model`` on ``url``; ``options`` are ``ScannerSettings`` fields."""
    if model not in SCANNER_MODELS:
        raise UnknownModel(f"unknown scanner model {model!r}; known: {', '.join(SCANNER_MODELS)}")
    scanner = ScannerSettings(url=url, model=model, **options)
    scanner = scanner if baud is None else replace(scanner, baud=baud)
    return GrowScanner(scanner) if model in GROW_MODELS else LineScanner(scanner)
