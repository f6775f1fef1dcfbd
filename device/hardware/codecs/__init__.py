"""Pure byte codecs of the serial devices: framing, checksums, register maps, stream decoders.

The drivers in ``device.hardware.drivers`` use them as the host; the simulators in
``device.sim`` use them in reverse, as the device. No I/O and no clock reads (callers pass
``now``): they import only the standard library and each other, never pyserial, gpiozero,
asyncio, the drivers, the ports or anything above them.
"""
