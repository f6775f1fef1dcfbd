"""Adapters behind ``device.ports``: serial drivers, GPIO adapters, pure codecs and fakes.

pyserial is imported only by ``serial*.py`` and gpiozero only by ``gpio*.py`` (ruff TID251);
codecs (``codec_*.py``) are pure and shared with the simulators in ``device.sim``.
"""
