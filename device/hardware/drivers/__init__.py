"""Serial drivers: the thermometers and QR scanners on a port URL, one supervised thread each.

The only package on the gate that imports pyserial (and minimalmodbus on top of it; ruff
TID251). Frames are parsed by ``device.hardware.codecs``; library errors become
``device.hardware.errors`` here; values cross to the loop through ``device.hardware.bridge``
as ``device.ports`` values. Must not import gpiozero, the GPIO adapters, the fakes, the
simulators, or anything of the gate above ``device.ports`` (store, link, lane, app).
"""
