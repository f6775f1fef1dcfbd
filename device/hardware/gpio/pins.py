"""The gate's default BCM pin map (docs/wiring.md has the wiring table). No gpiozero here.

GPIO14/15 stay free for the UART (thermometer or scanner on /dev/serial0) and GPIO2/3 for
I2C (a DS3231 RTC). The config layer builds a ``PinMap`` from the gate's TOML file.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, fields

RESERVED = {2: "I2C SDA (RTC)", 3: "I2C SCL (RTC)", 14: "UART TXD", 15: "UART RXD"}


@dataclass(frozen=True, slots=True)
class PinMap:
    """BCM pin numbers of every GPIO device; ``None`` where a device is not fitted."""

    relay: int = 17
    relay_active_high: bool = True
    led_green: int = 27
    led_red: int = 22
    buzzer: int = 18
    button: int = 23
    door: int | None = 24
    lockdown_key: int | None = 25
    keypad_rows: tuple[int, ...] | None = (5, 6, 13, 19)
    keypad_cols: tuple[int, ...] | None = (16, 20, 21)

    def __post_init__(self) -> None:
        """Refuse a map with a pin used twice, a reserved pin or a wrong keypad shape."""
        used = self.pins()
        if len(used) != len(set(used)):
            raise ValueError(f"a pin is used twice: {sorted(used)}")
        for pin in used:
            if not 0 <= pin <= 27:
                raise ValueError(f"GPIO{pin} is not a header GPIO (0-27)")
            if pin in RESERVED:
                raise ValueError(f"GPIO{pin} is reserved for {RESERVED[pin]}")
        if (self.keypad_rows is None) != (self.keypad_cols is None):
            raise ValueError("keypad needs both rows and columns, or neither")
        rows, cols = self.keypad_rows, self.keypad_cols
        if rows is not None and cols is not None and (len(rows), len(cols)) != (4, 3):
            raise ValueError("the keypad is a 3x4 matrix: 4 rows, 3 columns")

    def pins(self) -> list[int]:
        """Every pin number in use."""
        out: list[int] = []
        for field, value in zip(fields(self), astuple(self), strict=True):
            if field.name == "relay_active_high" or value is None:
                continue
            out.extend(value if isinstance(value, tuple) else (value,))
        return out
