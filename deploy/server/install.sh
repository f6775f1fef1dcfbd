#!/usr/bin/env bash
# Install (or upgrade) the gatepass server on Debian: venv, service user, systemd units, the
# system mosquitto's configuration, backups. Idempotent: run it again after every change (TLS
# certificates, a new release). docs/deploy.md walks through a whole site.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=deploy/lib.sh
source "$HERE/../lib.sh"

PREFIX=/opt/gatepass
VENV=$PREFIX/venv
DATA=/var/lib/gatepass
BROKER_DIR=/etc/gatepass/broker
TLS_DIR=/etc/gatepass/tls
USER_NAME=gatepass
SOURCE="$(cd "$HERE/../.." && pwd)"
APT=1
PLAIN_BIND=127.0.0.1
PLAIN_PORT=1883
TLS_PORT=8883

usage() {
    cat <<EOF
usage: $0 [options]

  --root DIR          install into DIR instead of / (commands are recorded, not run)
  --dry-run           print what would be done, change nothing
  --source SRC        gatepass source tree or wheel to install (default: $SOURCE)
  --no-apt            do not install distribution packages
  --plain-bind ADDR   the broker's plain listener (default $PLAIN_BIND: the server only)
  --plain-port N      its port (default $PLAIN_PORT)
  --tls-port N        the TLS listener gates use, once $TLS_DIR/broker.crt exists (default $TLS_PORT)
EOF
}

parse() {
    while (($#)); do
        case "$1" in
            --root) ROOT="${2:?--root needs a directory}"; shift ;;
            --dry-run) DRY_RUN=1 ;;
            --source) SOURCE="${2:?--source needs a path}"; shift ;;
            --no-apt) APT=0 ;;
            --plain-bind) PLAIN_BIND="${2:?--plain-bind needs an address}"; shift ;;
            --plain-port) PLAIN_PORT="${2:?--plain-port needs a port}"; shift ;;
            --tls-port) TLS_PORT="${2:?--tls-port needs a port}"; shift ;;
            -h | --help) usage; exit 0 ;;
            *) usage >&2; die "unknown argument $1" ;;
        esac
        shift
    done
}

packages() {
    ((APT)) || return 0
    system apt-get install -y --no-install-recommends \
        python3-venv sqlite3 openssl mosquitto mosquitto-clients
}

service_user() {
    system sh -c "getent passwd $USER_NAME >/dev/null || useradd --system --user-group \
--home-dir $DATA --no-create-home --shell /usr/sbin/nologin $USER_NAME"
    # broker-config gives the broker's files to group mosquitto: the user must be a member.
    system usermod --append --groups mosquitto "$USER_NAME"
}

venv() {
    ensure_dir "$PREFIX" 0755
    system sh -c "test -x $VENV/bin/python || python3 -m venv $VENV"
    system "$VENV/bin/pip" install --quiet --upgrade "${SOURCE}[server]"
}

directories() {
    # The broker (user mosquitto) must reach broker/ and tls/; the files guard themselves.
    ensure_dir /etc/gatepass 0755 root:root
    ensure_dir "$BROKER_DIR" 0750 "$USER_NAME:mosquitto"
    ensure_dir "$TLS_DIR" 0755
    ensure_dir "$DATA" 0700 "$USER_NAME:$USER_NAME"
    ensure_dir /var/backups/gatepass 0700 "$USER_NAME:$USER_NAME"
}

# The settings file is the operator's after the first install: created once, never overwritten.
settings() {
    if [[ -f $ROOT/etc/gatepass/server.env ]]; then
        log "kept /etc/gatepass/server.env"
    else
        put_file "$HERE/server.env" /etc/gatepass/server.env 0640
    fi
    system chown "root:$USER_NAME" /etc/gatepass/server.env
}

tools() {
    # gatepass-server as the service user with the service's settings: files it creates in the
    # data directory stay readable by the service.
    put_text /usr/local/sbin/gatepass-server 0755 <<EOF
#!/bin/sh
# gatepass-server with the service's settings, as user $USER_NAME (deploy/server/install.sh).
set -eu
if [ "\$(id -u)" = 0 ]; then exec runuser -u $USER_NAME -- "\$0" "\$@"; fi
set -a
. /etc/gatepass/server.env
set +a
exec $VENV/bin/gatepass-server "\$@"
EOF
    put_file "$HERE/backup.sh" /usr/local/sbin/gatepass-backup 0755
    put_file "$HERE/restore.sh" /usr/local/sbin/gatepass-restore 0755
    put_file "$HERE/tls.sh" /usr/local/sbin/gatepass-tls 0755
}

units() {
    local unit
    for unit in gatepass-server.service gatepass-backup.service gatepass-backup.timer; do
        put_file "$HERE/$unit" "/etc/systemd/system/$unit" 0644
    done
}

# broker-config's arguments: the plain listener, and TLS once the broker has a certificate.
broker_args() {
    printf '%s\n' --data "$DATA" --out "$BROKER_DIR" --group mosquitto \
        --bind "$PLAIN_BIND" --port "$PLAIN_PORT"
    if [[ -f $ROOT$TLS_DIR/broker.crt ]]; then
        printf '%s\n' --tls-port "$TLS_PORT" --tls-cert "$TLS_DIR/broker.crt" \
            --tls-key "$TLS_DIR/broker.key"
    fi
}

broker() {
    local args
    mapfile -t args < <(broker_args)
    if [[ -f $ROOT$DATA/registry.db ]] || [[ -n $ROOT ]]; then
        system /usr/local/sbin/gatepass-server broker-config "${args[@]}"
    else
        log "no site yet: run 'gatepass-server init ...', then this script again (docs/deploy.md)"
    fi
    [[ -f $ROOT$BROKER_DIR/mosquitto.conf ]] || return 0
    # Debian's mosquitto.conf sets persistence_location and log_dest itself; mosquitto refuses
    # a second persistence_location, and the journal already has the log.
    {
        echo "# gatepass: generated from $BROKER_DIR/mosquitto.conf by deploy/server/install.sh."
        echo "# Re-run the install script after broker-config instead of editing this file."
        grep -Ev '^(persistence_location|log_dest) ' "$ROOT$BROKER_DIR/mosquitto.conf"
    } | put_text /etc/mosquitto/conf.d/gatepass.conf 0644
}

activate() {
    system systemctl daemon-reload
    system systemctl enable mosquitto.service gatepass-server.service gatepass-backup.timer
    # Restart, not reload: a reload (SIGHUP) re-reads passwords and ACL but not the listeners.
    system systemctl restart mosquitto.service
    # An upgrade restarts a running server; the first start is by hand after 'init'.
    system systemctl try-restart gatepass-server.service
    system systemctl start gatepass-backup.timer
}

main() {
    parse "$@"
    begin "deploy/server/install.sh"
    packages
    service_user
    venv
    directories
    settings
    tools
    units
    broker
    activate
    log "done. Next steps (first install): docs/deploy.md, 'The server'"
}

main "$@"
