"""gatepass server: the pass registry, event ingest, alerts and the staff UI.

Imports nothing from ``device``; talks to gates only through ``protocol`` over MQTT.
"""
