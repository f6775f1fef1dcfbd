"""deploy/gate/install.sh into scratch roots: idempotent, --dry-run inert, valid units."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.deploy.conftest import DEPLOY, Site, run, snapshot, systemd_verify

INSTALL = DEPLOY / "gate" / "install.sh"
CMDLINE = "console=serial0,115200 console=tty1 root=PARTUUID=1234-02 rootfstype=ext4 fsck.repair=yes rootwait\n"


def install(root: Path, gate_file: Path, *options: str, check: bool = True):  # type: ignore[no-untyped-def]
    return run(INSTALL, "--root", root, *options, gate_file, check=check)


@pytest.fixture
def pi_root(tmp_path: Path) -> Path:
    """A scratch root that looks like a fresh Raspberry Pi OS boot partition."""
    root = tmp_path / "root"
    (root / "boot/firmware").mkdir(parents=True)
    (root / "boot/firmware/cmdline.txt").write_text(CMDLINE)
    (root / "boot/firmware/config.txt").write_text("[all]\ndtparam=audio=on\n")
    (root / "etc").mkdir()
    (root / "etc/fstab").write_text("proc /proc proc defaults 0 0\n")
    return root


OPTIONS = (
    "--scanner-usb",
    "port:1-1.3",
    "--thermometer-usb",
    "1a86:7523",
    "--pi-config",
    "--data-label",
    "gpdata",
    "--ntp-server",
    "192.168.1.10",
)


def test_twice_gives_the_same_tree(pi_root: Path, site: Site) -> None:
    install(pi_root, site.gate_file, *OPTIONS)
    first = snapshot(pi_root)
    second_run = install(pi_root, site.gate_file, *OPTIONS)
    assert snapshot(pi_root) == first
    assert "installed" not in second_run.stderr  # nothing was rewritten the second time
    config = (pi_root / "boot/firmware/config.txt").read_text().splitlines()
    for line in ("enable_uart=1", "dtoverlay=disable-bt", "dtoverlay=i2c-rtc,ds3231"):
        assert config.count(line) == 1
    assert "console=serial0" not in (pi_root / "boot/firmware/cmdline.txt").read_text()
    assert "console=tty1 root=PARTUUID" in (pi_root / "boot/firmware/cmdline.txt").read_text()
    sources = pi_root / "etc/chrony/sources.d/gatepass.sources"
    assert sources.read_text() == "server 192.168.1.10 iburst\n"
    fstab = (pi_root / "etc/fstab").read_text().splitlines()
    assert fstab.count("LABEL=gpdata /var/lib/gatepass ext4 defaults,noatime 0 2") == 1


def test_what_is_installed(pi_root: Path, site: Site) -> None:
    install(pi_root, site.gate_file, *OPTIONS)
    conf = pi_root / "etc/gatepass/gate.toml"
    assert conf.read_bytes() == site.gate_file.read_bytes()
    assert conf.stat().st_mode & 0o777 == 0o640  # the broker password: root and the service only
    rules = (pi_root / "etc/udev/rules.d/99-gatepass.rules").read_text()
    assert 'KERNELS=="1-1.3", SYMLINK+="gate-scanner"' in rules
    assert 'ATTRS{idVendor}=="1a86", ATTRS{idProduct}=="7523", SYMLINK+="gate-thermometer"' in rules
    commands = (pi_root / "install-commands.txt").read_text().replace("\\", "")  # %q quoting
    # Nothing ran against this machine; what would have is recorded, device extra only.
    assert "pip install --quiet --upgrade" in commands
    assert "[device,voice]" in commands
    assert "[server]" not in commands
    assert "usermod --append --groups gpio,dialout,audio gatepass" in commands
    # the voice: packages, the recordings' folder, and the clip set rendered as the service user
    assert "espeak-ng alsa-utils" in commands
    assert (pi_root / "etc/gatepass/voice").is_dir()
    assert "chown gatepass:gatepass /var/lib/gatepass/voice" in commands
    render = "runuser -u gatepass -- /opt/gatepass/venv/bin/gatepass-gate voice render"
    assert f"{render} --out /var/lib/gatepass/voice" in commands
    assert commands.index("voice render") < commands.index("systemctl enable gatepass-gate")
    assert "systemctl enable gatepass-gate.service" in commands


def test_unit_shape() -> None:
    unit = (DEPLOY / "gate/gatepass-gate.service").read_text()
    keys = dict(re.findall(r"^(\w+)=(.*)$", unit, re.M))
    assert keys["Type"] == "notify"
    assert keys["Restart"] == "on-failure"
    assert keys["WatchdogSec"] == "15s"
    assert keys["StateDirectory"] == "gatepass"
    assert "network-online" not in re.sub(r"#.*", "", unit)  # must start with the network down
    assert "gpio" in keys["SupplementaryGroups"]
    assert "dialout" in keys["SupplementaryGroups"]
    assert "PrivateDevices" not in unit  # it would hide /dev/gpiochip* and the serial ports
    assert "char-gpiochip rw" in unit
    assert "char-ttyUSB rw" in unit
    assert "char-alsa rw" in unit  # the speaker (aplay)
    assert "audio" in keys["SupplementaryGroups"]


def test_units_pass_systemd_analyze_verify(pi_root: Path, site: Site, tmp_path: Path) -> None:
    install(pi_root, site.gate_file, *OPTIONS)
    proc = systemd_verify(pi_root, tmp_path / "verify", "gatepass-gate.service")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == "", proc.stderr  # bad values are only warnings: none allowed


def test_dry_run_changes_nothing(pi_root: Path, site: Site) -> None:
    before = snapshot(pi_root)
    proc = install(pi_root, site.gate_file, "--dry-run", *OPTIONS)
    assert snapshot(pi_root) == before
    assert "would install /etc/systemd/system/gatepass-gate.service" in proc.stderr
    assert "would run: systemctl enable gatepass-gate.service" in proc.stderr
    install(pi_root, site.gate_file, *OPTIONS)
    after_install = snapshot(pi_root)
    proc = install(pi_root, site.gate_file, "--dry-run", *OPTIONS)
    assert snapshot(pi_root) == after_install
    assert "would install" not in proc.stderr  # an installed tree has nothing left to do


def test_refuses_what_is_not_a_gate_file(tmp_path: Path, site: Site) -> None:
    bad = tmp_path / "server.env"
    bad.write_text("GATEPASS_DATA=/var/lib/gatepass\n")
    proc = install(tmp_path / "root", bad, check=False)
    assert proc.returncode == 1
    assert "not a gate file" in proc.stderr
    moved = tmp_path / "moved.toml"
    moved.write_text(site.gate_file.read_text().replace('"/var/lib/gatepass"', '"/srv/gate"'))
    proc = install(tmp_path / "root", moved, check=False)
    assert proc.returncode == 1
    assert "data_dir must be /var/lib/gatepass" in proc.stderr
    proc = install(tmp_path / "root", site.gate_file, "--scanner-usb", "CH340", check=False)
    assert proc.returncode == 1
    assert "bad USB spec" in proc.stderr


def test_warns_when_the_configured_name_has_no_rule(tmp_path: Path, site: Site) -> None:
    proc = install(tmp_path / "root", site.gate_file)
    assert "uses /dev/gate-scanner but no --scanner-usb" in proc.stderr


def test_warns_when_an_rtc_is_fitted_but_not_trusted(tmp_path: Path, site: Site) -> None:
    proc = install(tmp_path / "root", site.gate_file, "--pi-config")
    assert "lacks [clock] rtc = true" in proc.stderr
    with_rtc = tmp_path / "rtc.toml"
    with_rtc.write_text(site.gate_file.read_text() + "\n[clock]\nrtc = true\n")
    proc = install(tmp_path / "root2", with_rtc, "--pi-config")
    assert "rtc = true" not in proc.stderr


def test_real_mode_needs_root(site: Site) -> None:
    if shutil.which("runuser") is None:
        pytest.fail("runuser is missing: make sysdeps installs it (package util-linux)")
    # a copy of deploy/ that 'nobody' can reach (a clone may sit under a 0700 directory)
    shared = Path(tempfile.mkdtemp(prefix="gatepass-deploy-"))
    try:
        shared.chmod(0o755)
        shutil.copytree(DEPLOY, shared / "deploy")
        gate_file = shared / "east-in.toml"
        gate_file.write_text(site.gate_file.read_text())
        for path in (shared, *shared.rglob("*")):
            path.chmod(0o755 if path.is_dir() or path.suffix == ".sh" else 0o644)
        script = shared / "deploy" / "gate" / "install.sh"
        proc = run("runuser", "-u", "nobody", "--", script, gate_file, check=False)
    finally:
        shutil.rmtree(shared)
    assert proc.returncode == 1
    assert "run as root" in proc.stderr


def test_installs_the_site_ca_a_tls_gate_file_names(tmp_path: Path, site: Site) -> None:
    tls_file = tmp_path / "tls.toml"
    tls_file.write_text(
        site.gate_file.read_text().replace(
            "port = 1883\n", 'port = 8883\ntls_ca = "/etc/gatepass/ca.crt"\n', 1
        )
    )
    proc = install(tmp_path / "root", tls_file)
    assert "tls_ca = /etc/gatepass/ca.crt, which is not installed" in proc.stderr
    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    proc = install(tmp_path / "root", tls_file, "--ca", str(ca))
    assert "not installed" not in proc.stderr
    assert (tmp_path / "root/etc/gatepass/ca.crt").read_text() == ca.read_text()


KIOSK_FLAGS = (
    "--kiosk",
    "--app=http://127.0.0.1:8090/",
    "--noerrdialogs",
    "--disable-session-crashed-bubble",
    "--disable-pinch",
    "--disable-component-update",
    "--no-first-run",
)


def test_the_kiosk_is_installed_only_when_asked(pi_root: Path, site: Site, tmp_path: Path) -> None:
    install(pi_root, site.gate_file)
    assert not (pi_root / "etc/systemd/system/gatepass-kiosk.service").exists()
    assert "kiosk" not in (pi_root / "install-commands.txt").read_text()
    kiosk_root = tmp_path / "kiosk-root"
    shutil.copytree(pi_root, kiosk_root)
    install(kiosk_root, site.gate_file, "--kiosk")
    unit = kiosk_root / "etc/systemd/system/gatepass-kiosk.service"
    assert unit.read_bytes() == (DEPLOY / "gate/gatepass-kiosk.service").read_bytes()
    assert unit.stat().st_mode & 0o777 == 0o644
    commands = (kiosk_root / "install-commands.txt").read_text().replace("\\", "")
    assert "apt-get install -y --no-install-recommends cage chromium fonts-noto-cjk" in commands
    assert "useradd --system --user-group" in commands
    assert "gatepass-kiosk" in commands
    assert "usermod --append --groups video,render,input gatepass-kiosk" in commands
    assert "systemctl enable gatepass-kiosk.service" in commands
    proc = install(kiosk_root, site.gate_file, "--dry-run", "--kiosk")
    assert "would install" not in proc.stderr  # idempotent with the kiosk too


def test_the_kiosk_dry_run_says_what_it_would_do(pi_root: Path, site: Site) -> None:
    before = snapshot(pi_root)
    proc = install(pi_root, site.gate_file, "--dry-run", "--kiosk")
    assert snapshot(pi_root) == before
    assert "would install /etc/systemd/system/gatepass-kiosk.service" in proc.stderr
    assert "would run: systemctl enable gatepass-kiosk.service" in proc.stderr


def test_kiosk_unit_shape() -> None:
    from device.config import DisplaySection

    unit = (DEPLOY / "gate/gatepass-kiosk.service").read_text()
    keys = dict(re.findall(r"^(\w+)=(.*)$", unit, re.M))
    assert keys["User"] == "gatepass-kiosk"  # unprivileged, not the gate's own user
    assert (keys["PAMName"], keys["TTYPath"]) == ("login", "/dev/tty1")
    assert keys["Restart"] == "always"
    assert keys["StartLimitIntervalSec"] == "0"
    assert "gatepass-gate.service" in " ".join(re.findall(r"^After=(.*)$", unit, re.M))
    assert keys["WantedBy"] == "multi-user.target"  # at boot, on a Pi OS Lite too
    assert "Requires" not in keys
    assert "BindsTo" not in keys
    command = keys["ExecStart"].split()
    assert command[:4] == ["/usr/bin/cage", "-d", "-s", "--"]
    assert command[4] == "/usr/bin/chromium"
    assert set(KIOSK_FLAGS) <= set(command[5:])
    host, port = DisplaySection().address  # the page the gate serves by default
    assert f"--app=http://{host}:{port}/" in command
    assert f"/dev/tcp/{host}/{port}" in keys["ExecStartPre"]


def test_kiosk_unit_passes_systemd_analyze_verify(
    pi_root: Path, site: Site, tmp_path: Path
) -> None:
    install(pi_root, site.gate_file, "--kiosk")
    for stub in ("usr/bin/cage", "usr/bin/chromium", "bin/bash"):  # not on a build machine
        path = pi_root / stub
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
    proc = systemd_verify(
        pi_root, tmp_path / "verify", "gatepass-gate.service", "gatepass-kiosk.service"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == "", proc.stderr
