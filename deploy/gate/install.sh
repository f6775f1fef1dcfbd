#!/usr/bin/env bash
# Install (or upgrade) a gatepass gate unit on Raspberry Pi OS (64-bit). Idempotent: running it
# again installs only what changed. docs/deploy.md walks through the whole Pi.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=deploy/lib.sh
source "$HERE/../lib.sh"

PREFIX=/opt/gatepass
VENV=$PREFIX/venv
CONF=/etc/gatepass/gate.toml
USER_NAME=gatepass
SOURCE="$(cd "$HERE/../.." && pwd)"
APT=1
PI_CONFIG=0
DATA_LABEL=""
NTP_SERVER=""
CA_FILE=""
SCANNER_USB=""
THERMO_USB=""
GATE_TOML=""
KIOSK=0
KIOSK_USER=gatepass-kiosk

usage() {
    cat <<EOF
usage: $0 [options] GATE.toml

GATE.toml is the file 'gatepass-server gate add' wrote for this lane.

  --root DIR             install into DIR instead of / (commands are recorded, not run)
  --dry-run              print what would be done, change nothing
  --source SRC           gatepass source tree or wheel to install (default: $SOURCE)
  --no-apt               do not install distribution packages
  --scanner-usb SPEC     name the USB scanner /dev/gate-scanner; SPEC is VID:PID or port:1-1.3
  --thermometer-usb SPEC name a USB thermometer /dev/gate-thermometer (same SPEC forms)
  --pi-config            enable the UART (no serial console, Bluetooth off) and the DS3231 RTC
  --data-label LABEL     mount the ext4 partition labelled LABEL at /var/lib/gatepass (fstab)
  --ntp-server HOST      chrony also asks HOST (e.g. the site server on an offline LAN)
  --ca FILE              the site CA (gatepass-tls ca) as /etc/gatepass/ca.crt, for gate add --tls-ca
  --kiosk                a lane screen: cage + Chromium showing the lane display on tty1 at boot
EOF
}

parse() {
    while (($#)); do
        case "$1" in
            --root) ROOT="${2:?--root needs a directory}"; shift ;;
            --dry-run) DRY_RUN=1 ;;
            --source) SOURCE="${2:?--source needs a path}"; shift ;;
            --no-apt) APT=0 ;;
            --scanner-usb) SCANNER_USB="${2:?--scanner-usb needs VID:PID or port:PATH}"; shift ;;
            --thermometer-usb) THERMO_USB="${2:?--thermometer-usb needs a SPEC}"; shift ;;
            --pi-config) PI_CONFIG=1 ;;
            --data-label) DATA_LABEL="${2:?--data-label needs a label}"; shift ;;
            --ntp-server) NTP_SERVER="${2:?--ntp-server needs a host}"; shift ;;
            --ca) CA_FILE="${2:?--ca needs the site CA certificate}"; shift ;;
            --kiosk) KIOSK=1 ;;
            -h | --help) usage; exit 0 ;;
            -*) usage >&2; die "unknown option $1" ;;
            *) [[ -z $GATE_TOML ]] || die "one GATE.toml only"; GATE_TOML="$1" ;;
        esac
        shift
    done
    [[ -n $GATE_TOML ]] || { usage >&2; die "the gate's TOML file is required"; }
    [[ -r $GATE_TOML ]] || die "cannot read $GATE_TOML"
    grep -q '^\[gate\]' "$GATE_TOML" || die "$GATE_TOML has no [gate] section: not a gate file"
    # The unit may write only its state directory (ProtectSystem=strict).
    if grep -q '^data_dir = ' "$GATE_TOML" && ! grep -qx 'data_dir = "/var/lib/gatepass"' "$GATE_TOML"; then
        die "$GATE_TOML: data_dir must be /var/lib/gatepass (gate add --gate-data-dir)"
    fi
    if grep -qx 'hardware = "sim"' "$GATE_TOML"; then
        log "warning: $GATE_TOML says hardware = \"sim\": the lane will not drive real pins"
    fi
}

packages() {
    ((APT)) || return 0
    # lgpio from the distribution: gpiozero's pin library (the only one that works on a Pi 5).
    # espeak-ng renders the voice clips offline, alsa-utils' aplay plays them (docs/lane.md).
    system apt-get install -y --no-install-recommends \
        python3-venv python3-lgpio sqlite3 chrony espeak-ng alsa-utils
    # The lane screen: a kiosk compositor, the browser, and a CJK font for the Chinese text.
    if ((KIOSK)); then
        system apt-get install -y --no-install-recommends cage chromium fonts-noto-cjk
    fi
}

service_user() {
    # The gpio group exists on Raspberry Pi OS; create it elsewhere so the unit can start.
    system sh -c "getent group gpio >/dev/null || groupadd --system gpio"
    system sh -c "getent passwd $USER_NAME >/dev/null || useradd --system --user-group \
--home-dir /var/lib/gatepass --no-create-home --shell /usr/sbin/nologin $USER_NAME"
    system usermod --append --groups gpio,dialout,audio "$USER_NAME"
}

venv() {
    ensure_dir "$PREFIX" 0755
    # --system-site-packages: the venv sees the distribution's lgpio (a C library binding).
    system sh -c "test -x $VENV/bin/python || python3 -m venv --system-site-packages $VENV"
    # voice: pypinyin, the hanzi-to-pinyin step of rendering the Mandarin clips.
    system "$VENV/bin/pip" install --quiet --upgrade "${SOURCE}[device,voice]"
}

config() {
    ensure_dir /etc/gatepass 0750 "root:$USER_NAME"
    # The file holds the gate's broker password: readable by the service user only.
    put_file "$GATE_TOML" "$CONF" 0640 "root:$USER_NAME"
    [[ -z $CA_FILE ]] || put_file "$CA_FILE" /etc/gatepass/ca.crt 0644
    # A TLS gate file names the CA's path on the gate: it must be there.
    local ca
    ca="$(sed -n 's/^tls_ca = "\(.*\)"$/\1/p' "$GATE_TOML")"
    if [[ -n $ca && ! -f $ROOT$ca ]] && ((!DRY_RUN)); then
        log "warning: $GATE_TOML uses tls_ca = $ca, which is not installed: give --ca FILE"
    fi
    system "$VENV/bin/gatepass-gate" check-config "$CONF"
}

# One udev line naming a tty by USB vendor:product or by physical port.
udev_rule() {  # NAME SPEC
    local name="$1" spec="$2"
    case "$spec" in
        port:?*) printf 'SUBSYSTEM=="tty", KERNELS=="%s", SYMLINK+="%s", GROUP="dialout", MODE="0660"\n' \
            "${spec#port:}" "$name" ;;
        [0-9a-f][0-9a-f][0-9a-f][0-9a-f]:[0-9a-f][0-9a-f][0-9a-f][0-9a-f])
            printf 'SUBSYSTEM=="tty", ATTRS{idVendor}=="%s", ATTRS{idProduct}=="%s", SYMLINK+="%s", GROUP="dialout", MODE="0660"\n' \
                "${spec%:*}" "${spec#*:}" "$name" ;;
        *) die "bad USB spec '$spec': use VID:PID (4 lowercase hex digits each) or port:1-1.3" ;;
    esac
}

udev() {
    {
        echo "# gatepass: stable names for the lane's serial devices (deploy/gate/install.sh)."
        echo "# Find a device's IDs and port: udevadm info -a -n /dev/ttyUSB0 (docs/deploy.md)."
        echo "# The header UART needs no rule: always configure /dev/serial0."
        [[ -z $SCANNER_USB ]] || udev_rule gate-scanner "$SCANNER_USB"
        [[ -z $THERMO_USB ]] || udev_rule gate-thermometer "$THERMO_USB"
    } | put_text /etc/udev/rules.d/99-gatepass.rules 0644
    warn_unnamed /dev/gate-scanner "$SCANNER_USB" --scanner-usb
    warn_unnamed /dev/gate-thermometer "$THERMO_USB" --thermometer-usb
}

# The gate file names a udev symlink this install does not create: say so, do not guess.
warn_unnamed() {  # PATH SPEC OPTION
    if [[ -z $2 ]] && grep -q "^port = \"$1\"" "$GATE_TOML"; then
        log "warning: $GATE_TOML uses $1 but no $3 was given: add a rule or change the port"
    fi
}

units() {
    put_file "$HERE/gatepass-gate.service" /etc/systemd/system/gatepass-gate.service 0644
    # The chain: hardware watchdog <- systemd <- WatchdogSec <- the gate's event loop.
    put_text /etc/systemd/system.conf.d/gatepass-watchdog.conf 0644 <<'EOF'
# gatepass: systemd feeds the SoC watchdog (bcm2835_wdt, at most ~15 s); a hung kernel reboots.
[Manager]
RuntimeWatchdogSec=10s
RebootWatchdogSec=2min
EOF
}

# The lane screen (docs/lane.md "Screen and kiosk"): an unprivileged user, a session on tty1.
kiosk() {
    ((KIOSK)) || return 0
    system sh -c "getent passwd $KIOSK_USER >/dev/null || useradd --system --user-group \
--home-dir /var/lib/$KIOSK_USER --no-create-home --shell /usr/sbin/nologin $KIOSK_USER"
    system usermod --append --groups video,render,input "$KIOSK_USER"
    put_file "$HERE/gatepass-kiosk.service" /etc/systemd/system/gatepass-kiosk.service 0644
}

pi_config() {
    ((PI_CONFIG)) || return 0
    local boot=/boot/firmware
    # Header UART for a serial device; the full PL011 instead of the mini UART; the DS3231 RTC.
    ensure_line "$boot/config.txt" "enable_uart=1"
    ensure_line "$boot/config.txt" "dtoverlay=disable-bt"
    ensure_line "$boot/config.txt" "dtoverlay=i2c-rtc,ds3231"
    # No login console on the UART the thermometer or scanner uses.
    if [[ -f $ROOT$boot/cmdline.txt ]] && grep -q 'console=serial0,[0-9]* ' "$ROOT$boot/cmdline.txt"; then
        if ((DRY_RUN)); then
            log "would remove console=serial0 from $boot/cmdline.txt"
        else
            sed -i 's/console=serial0,[0-9]* //' "$ROOT$boot/cmdline.txt"
        fi
    fi
    # The gate trusts its clock offline only when told an RTC is fitted (docs/gate.md, Clock).
    grep -qx 'rtc = true' "$GATE_TOML" ||
        log "warning: --pi-config fits an RTC but $GATE_TOML lacks [clock] rtc = true"
    # With the RTC, fake-hwclock would set the clock back to its last saved time at boot.
    system sh -c "dpkg -s fake-hwclock >/dev/null 2>&1 && apt-get purge -y fake-hwclock || true"
    # Bluetooth is off (disable-bt): its UART attach service would only fail.
    system sh -c "systemctl disable --now hciuart.service 2>/dev/null || true"
}

time_sync() {
    [[ -n $NTP_SERVER ]] || return 0
    # Debian's chrony.conf reads sources.d; rtcsync there keeps the DS3231 set from NTP.
    printf 'server %s iburst\n' "$NTP_SERVER" |
        put_text /etc/chrony/sources.d/gatepass.sources 0644
    system chronyc reload sources
}

data_partition() {
    [[ -n $DATA_LABEL ]] || return 0
    ensure_line /etc/fstab "LABEL=$DATA_LABEL /var/lib/gatepass ext4 defaults,noatime 0 2"
    ensure_dir /var/lib/gatepass 0700
}

voice() {
    # An operator's recordings, same names as the generated clips, replace them (docs/lane.md).
    ensure_dir /etc/gatepass/voice 0755
    ensure_dir /var/lib/gatepass 0700 "$USER_NAME:$USER_NAME"
    ensure_dir /var/lib/gatepass/voice 0700 "$USER_NAME:$USER_NAME"
    # The generated clip set in the unit's state directory; an upgrade renders changed lines only.
    system runuser -u "$USER_NAME" -- "$VENV/bin/gatepass-gate" voice render \
        --out /var/lib/gatepass/voice
    [[ -z $DATA_LABEL ]] ||
        log "note: once LABEL=$DATA_LABEL is mounted on /var/lib/gatepass, run this again to render the clips there"
}

activate() {
    system systemctl daemon-reload
    system udevadm control --reload-rules
    system udevadm trigger --subsystem-match=tty
    system systemctl enable gatepass-gate.service
    # An upgrade restarts a running gate; a first install is started by hand after checks.
    system systemctl try-restart gatepass-gate.service
    if ((KIOSK)); then
        system systemctl enable gatepass-kiosk.service
        system systemctl try-restart gatepass-kiosk.service
    fi
}

main() {
    parse "$@"
    begin "deploy/gate/install.sh"
    packages
    service_user
    venv
    config
    udev
    units
    kiosk
    pi_config
    time_sync
    data_partition
    voice
    activate
    log "done. Next: systemctl start gatepass-gate; journalctl -u gatepass-gate -f (docs/deploy.md)"
}

main "$@"
