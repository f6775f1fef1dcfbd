"""The gate's MQTT link: ``mqtt.py`` (``MqttClient``) is the only paho-mqtt user on the gate.

It speaks the project's MQTT vocabulary (docs/architecture.md) and hands inbound messages to
the event loop; it imports nothing else of the gate (store, trust store, hardware, lane,
runtime or composition root): those use it, never the other way round.
"""
