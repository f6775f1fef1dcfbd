"""tls.sh makes certificates openssl accepts; backup.sh makes archives whose database passes
integrity_check, rotates them, and restore.sh puts one back."""

from __future__ import annotations

import shutil
import sqlite3
import tarfile
import threading
from pathlib import Path

import pytest

from tests.deploy.conftest import DEPLOY, Site, run

TLS = DEPLOY / "server" / "tls.sh"
BACKUP = DEPLOY / "server" / "backup.sh"
RESTORE = DEPLOY / "server" / "restore.sh"


def test_ca_broker_and_client_certificates_verify(tmp_path: Path) -> None:
    tls = tmp_path / "tls"
    run(TLS, "--dir", tls, "--group", "", "ca")
    run(
        TLS,
        "--dir",
        tls,
        "--group",
        "",
        "broker",
        "--dns",
        "broker.gw01.lan",
        "--ip",
        "192.168.1.10",
    )
    run(TLS, "--dir", tls, "--group", "", "client", "east-in")
    for cert in ("broker.crt", "clients/east-in.crt"):
        assert run("openssl", "verify", "-CAfile", tls / "ca.crt", tls / cert).stdout.endswith(
            "OK\n"
        )
    text = run("openssl", "x509", "-in", tls / "broker.crt", "-noout", "-text").stdout
    assert "DNS:broker.gw01.lan" in text
    assert "IP Address:192.168.1.10" in text
    assert "TLS Web Server Authentication" in text
    assert (
        "TLS Web Client Authentication"
        in run("openssl", "x509", "-in", tls / "clients/east-in.crt", "-noout", "-text").stdout
    )
    for key in ("ca.key", "broker.key", "clients/east-in.key"):
        assert (tls / key).stat().st_mode & 0o077 == 0  # no group here (--group '')


def test_existing_ca_is_kept(tmp_path: Path) -> None:
    tls = tmp_path / "tls"
    run(TLS, "--dir", tls, "--group", "", "ca")
    before = (tls / "ca.crt").read_bytes()
    proc = run(TLS, "--dir", tls, "--group", "", "ca")
    assert (tls / "ca.crt").read_bytes() == before
    assert "kept" in proc.stderr
    assert run(TLS, "--dir", tls, "broker", check=False).returncode == 1  # no SAN given


def test_broker_needs_a_ca(tmp_path: Path) -> None:
    proc = run(TLS, "--dir", tmp_path, "--group", "", "broker", "--dns", "x", check=False)
    assert proc.returncode == 1
    assert "no CA" in proc.stderr


@pytest.fixture
def data(tmp_path: Path, site: Site) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(site.data, copy)
    return copy


def _writer(db: Path, stop: threading.Event) -> None:
    """The server's pattern: WAL, small transactions, while the backup runs."""
    with sqlite3.connect(db, timeout=10) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE IF NOT EXISTS backup_probe (n INTEGER)")
        n = 0
        while not stop.is_set():
            conn.execute("INSERT INTO backup_probe VALUES (?)", (n,))
            conn.commit()
            n += 1


def test_backup_is_consistent_while_written_and_rotates(tmp_path: Path, data: Path) -> None:
    dest = tmp_path / "backups"
    stop = threading.Event()
    writer = threading.Thread(target=_writer, args=(data / "registry.db", stop))
    writer.start()
    try:
        archives = [
            Path(run(BACKUP, "--data", data, "--dest", dest, "--keep", "2").stdout.strip())
            for _ in range(3)
        ]
    finally:
        stop.set()
        writer.join(10)
    kept = sorted(dest.glob("gatepass-*.tar.gz"))
    assert kept == sorted(archives[1:])  # the oldest was rotated away
    assert not list(dest.glob(".*"))  # no partial archive or work directory left behind
    assert archives[-1].stat().st_mode & 0o777 == 0o600
    out = tmp_path / "unpacked"
    with tarfile.open(archives[-1]) as tar:
        tar.extractall(out, filter="data")
    assert sorted(p.name for p in (out / "keys").iterdir())  # the signing keys come along
    assert (out / "broker" / "server.password").exists()
    with sqlite3.connect(out / "registry.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT COUNT(*) FROM gates").fetchone() == (1,)
        assert conn.execute("SELECT COUNT(*) FROM backup_probe").fetchone()[0] > 0


def test_restore_puts_the_archive_back_and_keeps_the_old_state(tmp_path: Path, data: Path) -> None:
    archive = Path(run(BACKUP, "--data", data, "--dest", tmp_path / "b").stdout.strip())
    with sqlite3.connect(data / "registry.db") as conn:
        conn.execute("DELETE FROM gates")  # the accident the backup is for
    old_keys = sorted(p.name for p in (data / "keys").iterdir())
    proc = run(RESTORE, "--data", data, archive)
    assert "restored" in proc.stdout
    with sqlite3.connect(data / "registry.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT COUNT(*) FROM gates").fetchone() == (1,)
    assert sorted(p.name for p in (data / "keys").iterdir()) == old_keys
    (aside,) = data.glob("pre-restore-*")
    with sqlite3.connect(aside / "registry.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM gates").fetchone() == (0,)


def test_backup_refuses_without_a_database(tmp_path: Path) -> None:
    proc = run(BACKUP, "--data", tmp_path, "--dest", tmp_path / "b", check=False)
    assert proc.returncode == 1
    assert "no SQLite registry" in proc.stderr
    assert run(BACKUP, "--data", tmp_path, "--keep", "0", check=False).returncode == 1
