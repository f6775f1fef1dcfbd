"""Adapters behind ``device.ports``: pure codecs, serial drivers, GPIO adapters and fakes.

``codecs/`` (pure frame codecs, shared with the simulators in ``device.sim``), ``drivers/``
(pyserial and minimalmodbus drivers), ``gpio/`` (gpiozero adapters and the pin map) and
``fakes/`` (in-memory fakes for tests). Shared here at the top: the thread-to-loop ``bridge``,
the hardware ``errors``, the pure reading checks (``readings``) and scan screening
(``scan_filter``), the system clock, the driver ``factory``, the ``probe`` command and the
static ``conformance`` check. pyserial is imported only in ``drivers/`` and gpiozero only in
``gpio/`` (ruff TID251); nothing here imports ``server``, the MQTT link, the store or the
gate logic above ``device.ports``.
"""
