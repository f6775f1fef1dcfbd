"""The server's part for gate tests, played with paho and ``protocol`` only (no server package).

Publishes the retained manifest, revocation list and the gate's config, records every event
once (by event id) and acks each gate with the highest contiguous seq it has, like the real
ingest. ``ack`` can be switched off to leave events in the gate's outbox. Given the site's
``control_key`` it answers the gates' time requests, signed, as the real server does
(``answer_time`` switches that off; ``time_offset_s`` makes its clock wrong on purpose).
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from protocol import messages, topics
from protocol.messages import Ack, GateEvent
from protocol.topics import TopicKind

TIMEOUT = 10.0


@dataclass
class FakeServer:
    """A server stand-in on the broker (account ``server``)."""

    host: str
    port: int
    password: str
    site: str = "gw01"
    ack: bool = True
    control_key: Any = None
    answer_time: bool = True
    time_offset_s: float = 0.0
    time_answers: int = 0
    events: list[GateEvent] = field(default_factory=list)
    results: list[messages.CommandResult] = field(default_factory=list)
    statuses: dict[str, messages.GateStatus] = field(default_factory=dict)  # the latest per gate
    arrived: queue.Queue[GateEvent] = field(default_factory=queue.Queue)
    _ids: set[str] = field(default_factory=set)
    _seqs: dict[str, set[int]] = field(default_factory=dict)
    _contiguous: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _dirty: set[str] = field(default_factory=set)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="fake-server", protocol=mqtt.MQTTv5
        )
        self.client.username_pw_set("server", self.password)
        self.client.on_message = self._on_message
        connected = threading.Event()

        def on_connect(client: mqtt.Client, *args: object) -> None:
            kinds = [TopicKind.EVENTS, TopicKind.COMMAND_RESULTS, TopicKind.STATUS]
            if self.control_key is not None:
                kinds.append(TopicKind.TIME_REQUESTS)
            for kind in kinds:  # again after a reconnect
                client.subscribe(topics.all_gates(self.site, kind), qos=1)
            connected.set()

        self.client.on_connect = on_connect
        self.client.reconnect_delay_set(min_delay=1, max_delay=2)
        self.client.connect(self.host, self.port)
        self.client.loop_start()
        assert connected.wait(TIMEOUT), "fake server could not connect"
        threading.Thread(target=self._ack_loop, name="fake-server-acks", daemon=True).start()
        self.announce()

    def _ack_loop(self) -> None:
        """Ack every 20 ms with each gate's highest contiguous seq, as a real ingest batches."""
        while not self._stop.wait(0.02):
            if not self.ack:
                continue
            with self._lock:
                due = {gate: self._contiguous[gate] for gate in self._dirty}
                self._dirty.clear()
            for gate, seq in due.items():
                ack = Ack(site=self.site, gate=gate, seq=seq, at=int(time.time() * 1000))
                self.client.publish(
                    self.gate_topic(gate, TopicKind.ACKS), messages.encode(ack), qos=1
                )

    def announce(self, at_ms: int | None = None) -> None:
        """The retained server status (``at_ms``: as if published then)."""
        status = messages.ServerStatus(
            site=self.site,
            state=messages.Lifecycle.ONLINE,
            at=int(time.time() * 1000) if at_ms is None else at_ms,
            software="test",
        )
        self.publish(self.site_topic(TopicKind.SERVER_STATUS), messages.encode(status), retain=True)

    def stop(self) -> None:
        self._stop.set()
        self.client.disconnect()
        self.client.loop_stop()

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(TIMEOUT)

    def site_topic(self, kind: TopicKind) -> str:
        return str(topics.site_topic(self.site, kind))

    def gate_topic(self, gate: str, kind: TopicKind) -> str:
        return str(topics.gate_topic(self.site, gate, kind))

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        topic = topics.parse_topic(msg.topic)
        if topic.kind == TopicKind.TIME_REQUESTS:
            self._answer_time(topic, bytes(msg.payload))
            return
        if topic.kind == TopicKind.STATUS:
            if msg.payload:  # a cleared retained status is empty
                status = messages.decode(topic.kind, bytes(msg.payload), messages.GateStatus)
                self.statuses[status.gate] = status
            return
        if topic.kind == TopicKind.COMMAND_RESULTS:
            self.results.append(
                messages.decode(topic.kind, bytes(msg.payload), messages.CommandResult)
            )
            return
        event = messages.decode(TopicKind.EVENTS, bytes(msg.payload), GateEvent)
        with self._lock:
            if event.event_id not in self._ids:
                self._ids.add(event.event_id)
                self.events.append(event)
                self.arrived.put(event)
            seqs = self._seqs.setdefault(event.gate, set())
            seqs.add(event.seq)
            top = self._contiguous.get(event.gate)
            if top is None:
                top = min(seqs) - 1
            while top + 1 in seqs:
                seqs.discard(top)
                top += 1
            self._contiguous[event.gate] = top
            self._dirty.add(event.gate)

    def _answer_time(self, topic: topics.Topic, payload: bytes) -> None:
        if not self.answer_time or topic.gate is None:
            return
        request = messages.decode(TopicKind.TIME_REQUESTS, payload, messages.TimeRequest)
        answer = messages.TimeAnswer(
            site=self.site,
            gate=topic.gate,
            nonce=request.nonce,
            at_ms=int((time.time() + self.time_offset_s) * 1000),
        )
        self.time_answers += 1
        sealed = messages.seal_time(answer, self.control_key)
        self.client.publish(self.gate_topic(topic.gate, TopicKind.TIME), sealed, qos=1)

    def next_event(self, timeout: float = TIMEOUT, *, kind: str | None = None) -> GateEvent:
        """The next event to arrive (of ``kind`` decision/alarm if given)."""
        while True:
            event = self.arrived.get(timeout=timeout)
            if kind is None or event.kind == kind:
                return event


def main() -> None:
    """``python -m tests.support.fake_server HOST PORT PASSWORD``: ack events until stdin closes.

    Used by the gate benchmark so that the stand-in server does not share the gate's process
    (and its interpreter lock) while a backlog drains.
    """
    import sys

    host, port, password = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    server = FakeServer(host, port, password)
    server.start()
    print("READY", flush=True)
    sys.stdin.read()
    print(len(server.events), flush=True)
    server.stop()


if __name__ == "__main__":
    main()
