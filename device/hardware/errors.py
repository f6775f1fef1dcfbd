"""The hardware layer's errors; library errors are converted into these at the adapter's edge.

::

    HardwareError
    ├── PortError          the port could not be opened, or failed (unplugged, EIO)
    ├── DeviceSilent       no valid frame or reply within the supervision timeout
    ├── HandshakeError     the device did not answer as the configured model at any baud
    └── UnknownModel       a model name the factory does not know (also a ValueError)
"""

from __future__ import annotations


class HardwareError(Exception):
    """Root of every error the hardware layer raises."""


class PortError(HardwareError, OSError):
    """The serial port could not be opened, or reading/writing it failed."""


class DeviceSilent(HardwareError):
    """Nothing valid arrived within the supervision timeout."""


class HandshakeError(HardwareError):
    """The device did not answer as the configured model (wrong device, baud or wiring)."""


class UnknownModel(HardwareError, ValueError):
    """The configuration names a device model this build does not support."""
