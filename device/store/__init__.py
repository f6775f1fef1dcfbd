"""The gate's SQLite file: the event outbox, the decision state, signed blobs, the time floor.

The only package on the gate that imports ``sqlite3`` (ruff TID251). It may import
``device.core`` (the state it persists) and ``protocol`` (the events it stores), and never
``server``, the MQTT link, the hardware adapters or the composition root.
"""
