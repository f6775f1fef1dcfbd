"""gatepass gate unit: runs on a Raspberry Pi at each lane and decides offline.

Imports nothing from ``server``; talks to it only through ``protocol`` over MQTT.
"""
