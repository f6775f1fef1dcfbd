"""In-memory fakes of every port, for tests: GPIO peripherals, serial devices, the clock.

Each satisfies the same ``device.ports`` Protocol as its real adapter (``conformance`` checks
it statically, tests/device/test_contract.py at run time) and lives on the event loop, without
threads. Fakes may share the drivers' pure checks (``readings``, ``scan_filter``) but must not
import gpiozero, pyserial, the real adapters, or anything of the gate above ``device.ports``.
"""
