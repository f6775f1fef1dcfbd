"""deploy/server/install.sh into scratch roots, and the broker configuration it installs run by
a real mosquitto (TLS listener on loopback) the way Debian's mosquitto.conf includes it."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from tests.deploy.conftest import DEPLOY, SERVER_CLI, Site, run, snapshot, systemd_verify
from tests.support.mosquitto import free_port

INSTALL = DEPLOY / "server" / "install.sh"
TLS = DEPLOY / "server" / "tls.sh"


def install(root: Path, *options: str):  # type: ignore[no-untyped-def]
    return run(INSTALL, "--root", root, *options)


def test_twice_gives_the_same_tree(tmp_path: Path) -> None:
    root = tmp_path / "root"
    install(root)
    first = snapshot(root)
    second = install(root)
    assert snapshot(root) == first
    assert "installed" not in second.stderr
    commands = (root / "install-commands.txt").read_text().replace("\\", "")
    assert "[server]" in commands
    assert "[device]" not in commands
    assert (
        "gatepass-server broker-config --data /var/lib/gatepass --out /etc/gatepass/broker"
        in commands
    )


def test_settings_file_is_the_operators_after_the_first_install(tmp_path: Path) -> None:
    root = tmp_path / "root"
    install(root)
    env = root / "etc/gatepass/server.env"
    env.write_text(env.read_text() + "GATEPASS_MQTT_TLS_CA=/etc/gatepass/tls/ca.crt\n")
    install(root)
    assert "GATEPASS_MQTT_TLS_CA" in env.read_text()


def test_settings_file_is_accepted_by_the_server(tmp_path: Path, site: Site) -> None:
    env = dict(
        line.split("=", 1)
        for line in (DEPLOY / "server/server.env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    env["GATEPASS_DATA"] = str(site.data)
    proc = run(SERVER_CLI, "check-config", env=env)  # unknown GATEPASS_ names would fail here
    assert '"mqtt_host": "127.0.0.1"' in proc.stdout or "127.0.0.1" in proc.stdout


def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    root = tmp_path / "root"
    install(root)
    units = ("gatepass-server.service", "gatepass-backup.service", "gatepass-backup.timer")
    proc = systemd_verify(root, tmp_path / "verify", *units)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == "", proc.stderr


def test_dry_run_changes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    proc = run(INSTALL, "--root", root, "--dry-run")
    assert snapshot(root) == {}
    assert "would install /etc/systemd/system/gatepass-server.service" in proc.stderr
    install(root)
    installed = snapshot(root)
    proc = run(INSTALL, "--root", root, "--dry-run")
    assert snapshot(root) == installed
    assert "would install" not in proc.stderr


# --- the broker: tls.sh, broker-config and the conf.d include, with a real mosquitto ---------


def provision(root: Path, data: Path, site: Site, group: str = "") -> tuple[int, int]:
    """tls.sh and broker-config into a scratch root (what the real install would run)."""
    shutil.copytree(site.data, data)  # broker-config records its directory in the database
    tls = root / "etc/gatepass/tls"
    run(TLS, "--dir", tls, "--group", group, "ca")
    run(TLS, "--dir", tls, "--group", group, "broker", "--dns", "localhost", "--ip", "127.0.0.1")
    plain, secure = free_port(), free_port()
    run(
        SERVER_CLI,
        "broker-config",
        "--data",
        data,
        "--out",
        root / "etc/gatepass/broker",
        "--bind",
        "127.0.0.1",
        "--port",
        str(plain),
        "--tls-port",
        str(secure),
        "--tls-bind",
        "127.0.0.1",
        "--tls-cert",
        tls / "broker.crt",
        "--tls-key",
        tls / "broker.key",
        *(["--group", group] if group else []),
        env={"GATEPASS_LOG_LEVEL": "WARNING"},
    )
    return plain, secure


@pytest.fixture
def tls_root(tmp_path: Path, site: Site) -> tuple[Path, Path, int, int]:
    """A scratch root after tls.sh and broker-config."""
    root, data = tmp_path / "root", tmp_path / "data"
    plain, secure = provision(root, data, site)
    return root, data, plain, secure


def test_broker_include_is_idempotent_and_debian_compatible(
    tls_root: tuple[Path, Path, int, int],
) -> None:
    root = tls_root[0]
    install(root)
    first = snapshot(root)
    install(root)
    assert snapshot(root) == first
    include = (root / "etc/mosquitto/conf.d/gatepass.conf").read_text()
    assert "persistence_location" not in include
    assert "log_dest" not in include
    assert "allow_anonymous false" in include
    assert "certfile" in include


def start_debian_broker(root: Path, work: Path, port: int, *, drop: bool) -> subprocess.Popen[str]:
    """mosquitto with Debian's stock mosquitto.conf shape, including the root's conf.d. With
    ``drop`` it runs as Debian's does: started as root, then the 'mosquitto' user."""
    main = work / "mosquitto.conf"
    persist = work / "persist"
    persist.mkdir()
    if drop:
        shutil.chown(persist, "mosquitto", "mosquitto")
    user = "" if drop or os.geteuid() != 0 else "user root\n"  # else root drops to 'mosquitto'
    main.write_text(
        f"{user}persistence true\npersistence_location {persist}/\nlog_dest stderr\n"
        f"include_dir {root / 'etc/mosquitto/conf.d'}\n"
    )
    proc = subprocess.Popen(
        ["mosquitto", "-c", str(main)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        _wait_listening(port, proc)
    except AssertionError:
        stop(proc)
        raise
    return proc


def stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    proc.wait(10)
    assert proc.stderr is not None
    proc.stderr.close()


@pytest.fixture
def debian_broker(
    tmp_path: Path, tls_root: tuple[Path, Path, int, int]
) -> Iterator[tuple[Path, Path, int, int]]:
    root = tls_root[0]
    install(root)
    proc = start_debian_broker(root, tmp_path, tls_root[3], drop=False)
    try:
        yield tls_root
    finally:
        stop(proc)


def _wait_listening(port: int, proc: subprocess.Popen[str], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            assert proc.stderr is not None
            raise AssertionError(f"mosquitto exited: {proc.stderr.read()}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError("mosquitto did not listen")


def _connect(port: int, password: str, ca: Path) -> mqtt.ReasonCode:
    """Connect as the server's account over TLS with paho; the CONNACK's reason."""
    done = threading.Event()
    result: list[mqtt.ReasonCode | str] = []
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id="deploy-test", protocol=mqtt.MQTTv5
    )
    client.username_pw_set("server", password)
    client.tls_set(ca_certs=str(ca), tls_version=ssl.PROTOCOL_TLS_CLIENT)

    def on_connect(
        _c: mqtt.Client, _u: object, _f: object, reason: mqtt.ReasonCode, _p: object
    ) -> None:
        result.append(reason)
        done.set()

    client.on_connect = on_connect
    client.connect("localhost", port, keepalive=10)
    client.loop_start()
    try:
        assert done.wait(10), "no CONNACK"
    finally:
        client.disconnect()
        client.loop_stop()
    return result[0]


def test_tls_listener_accepts_a_client_trusting_the_site_ca(
    debian_broker: tuple[Path, Path, int, int],
) -> None:
    root, data, _plain, secure = debian_broker
    password = (data / "broker" / "server.password").read_text().strip()
    reason = _connect(secure, password, root / "etc/gatepass/tls/ca.crt")
    assert not reason.is_failure, reason
    with (
        socket.create_connection(("127.0.0.1", secure), timeout=5) as raw,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        ssl.create_default_context().wrap_socket(raw, server_hostname="localhost")  # system CAs
    wrong = _connect(secure, "not-the-password", root / "etc/gatepass/tls/ca.crt")
    assert isinstance(wrong, mqtt.ReasonCode)
    assert wrong.is_failure


def test_broker_reads_its_files_as_the_mosquitto_user(site: Site) -> None:
    """The modes and groups the scripts set let a broker that dropped to 'mosquitto' read the
    password file, ACL and TLS key (root-owned scratch tree; the recorded chowns not applied)."""
    if os.geteuid() != 0:
        pytest.skip("needs root: mosquitto drops privileges only when started as root")
    try:
        grp.getgrnam("mosquitto")
        pwd.getpwnam("mosquitto")
    except KeyError:
        pytest.fail("no mosquitto user/group: make sysdeps installs mosquitto")
    base = Path(tempfile.mkdtemp(prefix="gatepass-deploy-", dir="/tmp"))
    try:
        base.chmod(0o755)  # the broker's user must traverse to the scratch root
        root = base / "root"
        _plain, secure = provision(root, base / "data", site, group="mosquitto")
        install(root)
        proc = start_debian_broker(root, base, secure, drop=True)
        try:
            password = (base / "data/broker/server.password").read_text().strip()
            reason = _connect(secure, password, root / "etc/gatepass/tls/ca.crt")
            assert not reason.is_failure, reason
        finally:
            stop(proc)
    finally:
        shutil.rmtree(base)
