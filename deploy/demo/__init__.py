"""``make demo``: a whole simulated site on one machine (issue 8).

Runs the operator commands (``gatepass-server init``, ``import residents``, ``gate add``,
``broker-config``), then mosquitto, the server and three gate daemons with simulated scanners
and thermometers, and plays a morning at the gates. It only runs the project's command-line
programs and talks to the server's HTTP API; it imports neither ``device`` nor ``server``.
"""
