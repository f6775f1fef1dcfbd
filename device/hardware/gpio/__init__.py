"""GPIO adapters: relay, LEDs, buzzer, keypad, button, door contact, key switch, and the pin map.

The only package on the gate that imports gpiozero (ruff TID251). Adapters take a
``pin_factory`` (gpiozero's ``MockFactory`` in tests and ``hardware = "sim"``) and hand
callbacks from gpiozero's threads to the loop through ``device.hardware.bridge``; ``pins`` and
``keymatrix`` are pure. Must not import pyserial, the serial drivers, the fakes, or anything of
the gate above ``device.ports`` (store, link, lane, app).
"""
