"""Simulators for a gate without hardware (tests, the demo, bench work).

The device simulators speak the real byte protocols on a pty (``gatepass-sim``), using the
codecs in ``device.hardware.codecs`` in reverse; ``control`` is the control socket of a
simulated lane (``gatepass-gate run --sim-control``), which drives gpiozero's mock pins. The
gate logic never imports this package; the composition root imports ``control`` only.
"""
