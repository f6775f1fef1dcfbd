"""The broker as broker-config writes it: ACLs, passwords, reload, persistence, limits, TLS."""

from __future__ import annotations

import os
import queue
import re
import stat
import subprocess
import sys
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from protocol.messages import LaneDirection
from protocol.topics import SPECS, TopicKind, gate_topic, site_topic
from server.link.broker_config import AUTOSAVE_S
from server.services.context import CLI_ACTOR
from server.services.gates.provisioning import remove_gate
from tests.faults.harness import SITE, LinkSite, provision, read_gate_file
from tests.support.mqtt import TestClient

pytestmark = pytest.mark.broker
GATE_CLI = str(Path(sys.executable).with_name("gatepass-gate"))


def connect(
    site: LinkSite, user: str | None, password: str | None = None
) -> tuple[TestClient, str]:
    if user is not None and password is None:
        password = site.passwords[user]
    client = TestClient(site.broker.host, site.broker.port, user, password)
    return client, client.connect()


def server_password(site: LinkSite) -> str:
    return (site.settings.broker_dir / "server.password").read_text().strip()


def test_config_files_and_limits(link_site: LinkSite) -> None:
    conf = (link_site.config_dir / "mosquitto.conf").read_text()
    values = dict(
        line.split(" ", 1) for line in conf.splitlines() if line and not line.startswith("#")
    )
    assert values["allow_anonymous"] == "false"
    assert values["persistence"] == "true"
    assert int(values["message_size_limit"]) > SPECS[TopicKind.REVOCATIONS_FULL].max_payload
    assert int(values["max_packet_size"]) > int(values["message_size_limit"])
    assert (
        int(values["max_queued_messages"]) >= 24 * 3960
    )  # a day at peak rate (docs/operations.md)
    assert values["persistent_client_expiration"] == "2d"
    assert {"max_inflight_messages", "autosave_interval", "max_packet_size"} <= set(values)
    passwd = (link_site.config_dir / "passwd").read_text().splitlines()
    assert sorted(line.split(":")[0] for line in passwd) == ["east-in", "east-out", "server"]
    assert all(re.fullmatch(r"[a-z-]+:\$7\$\d+\$[^$]+\$[^$]+", line) for line in passwd)
    assert all(link_site.passwords[g] not in "\n".join(passwd) for g in link_site.passwords)
    for name in ("east-in", "east-out"):
        assert stat.S_IMODE(link_site.gate_file(name).stat().st_mode) == 0o600


def test_a_gate_cannot_speak_for_others_or_read_what_is_not_its_own(link_site: LinkSite) -> None:
    server, _ = connect(link_site, "server", server_password(link_site))
    victim, _ = connect(link_site, "east-out")
    attacker, reason = connect(link_site, "east-in")
    try:
        assert reason == "Success"
        assert server.subscribe(f"gatepass/v1/{SITE}/#") == [1]
        assert victim.subscribe(f"gatepass/v1/{SITE}/#") == [1]
        attacker.subscribe("#")  # mosquitto 2.0 grants it but delivers only what the ACL allows
        forged = [gate_topic(SITE, "east-out", k) for k in TopicKind if SPECS[k].per_gate]
        forged += [
            gate_topic(SITE, "east-in", k)
            for k in (TopicKind.CONFIG, TopicKind.COMMANDS, TopicKind.ACKS, TopicKind.TIME)
        ]
        forged += [
            site_topic(SITE, k)
            for k in (
                TopicKind.MANIFEST,
                TopicKind.REVOCATIONS_FULL,
                TopicKind.REVOCATIONS_DELTA,
                TopicKind.SERVER_STATUS,
            )
        ]
        for topic in forged:
            attacker.publish(str(topic), b"forged")
        own = str(gate_topic(SITE, "east-in", TopicKind.EVENTS))
        attacker.publish(own, b"own")
        got = server.get()
        assert (got.topic, got.payload) == (own, b"own")  # nothing forged arrived before it
        presence = str(gate_topic(SITE, "east-in", TopicKind.PRESENCE))
        attacker.publish(presence, b"presence")
        got = victim.get()  # a peer (one zone) hears presence only, and no event of another gate
        assert (got.topic, got.payload) == (presence, b"presence")
        for kind in (TopicKind.CONFIG, TopicKind.COMMANDS, TopicKind.ACKS, TopicKind.TIME):
            server.publish(str(gate_topic(SITE, "east-out", kind)), b"for east-out only")
        victim.publish(str(gate_topic(SITE, "east-out", TopicKind.STATUS)), b"east-out status")
        server.publish("gatepass/v1/gw02/gates/east-in/config", b"another site")
        received = []
        while True:
            try:
                received.append(attacker.get(timeout=0.5).topic)
            except queue.Empty:
                break
        assert received == [], received  # no gate reads events, its own included
    finally:
        for c in (server, victim, attacker):
            c.close()


def test_wrong_password_and_anonymous_are_refused(link_site: LinkSite) -> None:
    for user, password in (("east-in", "not-the-password"), (None, None), ("server", "x" * 20)):
        client, reason = connect(link_site, user, password)
        client.close()
        assert reason == "Not authorized", (user, reason)


async def test_a_reload_picks_up_added_and_removed_gates(link_site: LinkSite) -> None:
    env = link_site.env()
    try:
        path = await provision(env, link_site.root, "west-in", 2, LaneDirection.IN)
        await remove_gate(env, CLI_ACTOR, gate="east-out", file=link_site.gate_file("east-out"))
    finally:
        await env.db.close()
    new_password = read_gate_file(path)["broker"]["password"]
    client, before = connect(link_site, "west-in", new_password)
    client.close()
    assert before == "Not authorized"  # the running broker has not re-read its files yet
    link_site.broker.reload()
    client, after = connect(link_site, "west-in", new_password)
    client.close()
    assert after == "Success"
    client, removed = connect(link_site, "east-out")
    client.close()
    assert removed == "Not authorized"
    assert not link_site.gate_file("east-out").exists()


def test_persistence_is_written_where_configured(link_site: LinkSite) -> None:
    link_site.broker.stop()  # SIGTERM saves the in-memory database
    assert link_site.broker.persistence_file.stat().st_size > 0
    link_site.broker.start()


def _session_client(site: LinkSite) -> tuple[mqtt.Client, queue.Queue[bool], queue.Queue[str]]:
    """The server's account with a lasting session, as the server connects (clean_start off)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="server", protocol=mqtt.MQTTv5)
    client.username_pw_set("server", server_password(site))
    present: queue.Queue[bool] = queue.Queue()
    topics: queue.Queue[str] = queue.Queue()
    client.on_connect = lambda c, u, flags, rc, p: present.put(flags.session_present)
    client.on_message = lambda c, u, msg: topics.put(msg.topic)
    client.on_subscribe = lambda c, u, mid, codes, p: present.put(True)
    expiry = Properties(PacketTypes.CONNECT)
    expiry.SessionExpiryInterval = 3600
    client.connect(site.broker.host, site.broker.port, clean_start=False, properties=expiry)
    client.loop_start()
    return client, present, topics


def test_a_broker_killed_hard_keeps_the_sessions_it_saved(link_site: LinkSite) -> None:
    """Issue 15, item 2: sessions are on disk within seconds (a 5-s autosave), not the 60 s a
    SIGKILL used to beat."""
    events = str(gate_topic(SITE, "east-in", TopicKind.EVENTS))
    server, present, topics = _session_client(link_site)
    gate, _ = connect(link_site, "east-in")
    try:
        assert present.get(timeout=5) is False
        server.subscribe(events, qos=1)
        assert present.get(timeout=5) is True  # the SUBACK
        for _ in range(30):
            gate.publish(events, b"{}")
        for _ in range(30):
            assert topics.get(timeout=5) == events
        time.sleep(AUTOSAVE_S + 1.5)  # one save at least
        link_site.broker.kill()
        server.loop_stop()
        gate.close()
        link_site.broker.start()
        server, present, topics = _session_client(link_site)
        assert present.get(timeout=10) is True  # nothing subscribed again
        gate, _ = connect(link_site, "east-in")
        gate.publish(events, b"{}")
        assert topics.get(timeout=5) == events
    finally:
        server.disconnect()
        server.loop_stop()
        gate.close()


def test_cli_provisions_gates_that_the_gate_accepts(tmp_path: Path) -> None:
    data, conf = tmp_path / "site", tmp_path / "broker"
    env = {
        **os.environ,
        "GATEPASS_DATA": str(data),
        "GATEPASS_ROOT_PASSPHRASE": "a quiet north lane",
    }
    files = tmp_path / "handed-out"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            args, capture_output=True, text=True, env=env, check=False, timeout=60
        )

    server = [sys.executable, "-m", "server"]
    assert run(*server, "init", "--site", SITE, "--zone", "east").returncode == 0
    done = run(*server, "broker-config", "--out", str(conf), "--port", "18830")
    assert done.returncode == 0, done.stderr
    for gate, lane in (("east-in", "in"), ("east-out", "out")):
        done = run(
            *server,
            "gate",
            "add",
            gate,
            "--zone",
            "east",
            "--direction",
            lane,
            "--broker-host",
            "192.0.2.10",
            "--broker-port",
            "18830",
            "--out",
            str(files / f"{gate}.toml"),
        )
        assert done.returncode == 0, done.stderr
        checked = run(GATE_CLI, "check-config", str(files / f"{gate}.toml"))
        assert checked.returncode == 0, checked.stderr
        assert f'"id": "{gate}"' in checked.stdout
        assert '"password": "***"' in checked.stdout
    assert (
        run(
            *server,
            "gate",
            "add",
            "east-in",
            "--zone",
            "east",
            "--direction",
            "in",
            "--broker-host",
            "h",
            "--out",
            str(files / "again.toml"),
        ).returncode
        == 1
    )
    assert (
        run(
            *server,
            "gate",
            "add",
            "server",
            "--zone",
            "east",
            "--direction",
            "in",
            "--broker-host",
            "h",
            "--out",
            str(files / "server.toml"),
        ).returncode
        == 1
    )
    before = (files / "east-in.toml").read_text()
    rekey = ("gate", "rekey", "east-in", "--broker-host", "192.0.2.10")
    assert run(*server, *rekey, "--out", str(files / "east-in.toml")).returncode == 0
    assert (files / "east-in.toml").read_text() != before
    assert run(*server, "gate", "remove", "east-out").returncode == 0
    users = [line.split(":")[0] for line in (conf / "passwd").read_text().splitlines()]
    assert users == ["server", "east-in"]


def _certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a broker certificate for 127.0.0.1, as PEM files."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    now = dt.datetime.now(dt.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("gatepass test CA"))
        .issuer_name(name("gatepass test CA"))
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name("broker"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = (directory / "ca.pem", directory / "broker.pem", directory / "broker.key")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


async def test_the_optional_tls_listener(tmp_path: Path) -> None:
    from server.link.broker_config import BrokerOptions, write_broker_config
    from server.services.live import Hub
    from tests.faults.harness import build, running_link
    from tests.support.mosquitto import Mosquitto

    site = await build(tmp_path / "site")
    ca, cert, key = _certificates(tmp_path)
    env = site.env()
    try:
        options = BrokerOptions(
            out=site.config_dir, port=site.broker.port, tls_port=8883, tls_cert=cert, tls_key=key
        )
        await write_broker_config(env, options)
    finally:
        await env.db.close()
    assert "tls_version tlsv1.2" in (site.config_dir / "mosquitto.conf").read_text()
    broker = Mosquitto.from_project(tmp_path / "tls-broker", site.config_dir)
    broker.port = site.broker.port
    broker.start()
    try:
        site.broker = broker
        plain = TestClient(broker.host, broker.tls_port, "east-in", site.passwords["east-in"])
        try:
            with pytest.raises(TimeoutError):  # plain MQTT on the TLS port: no CONNACK, ever
                plain.connect()
        finally:
            plain.close()
        tls = {**site.settings.model_dump(), "mqtt_port": broker.tls_port, "mqtt_tls_ca": ca}
        site.settings = type(site.settings).model_validate(tls)
        async with running_link(site, Hub()) as link:
            assert link.mqtt.state.connected
    finally:
        broker.kill()
