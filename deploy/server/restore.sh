#!/usr/bin/env bash
# gatepass-restore ARCHIVE: put a gatepass-backup archive back. The server must be stopped. What
# is there now (database, WAL, keys, broker password) is moved aside, never deleted.
set -euo pipefail

DATA="${GATEPASS_DATA:-/var/lib/gatepass}"
WORK=""
ARCHIVE=""

die() { printf 'gatepass-restore: %s\n' "$*" >&2; exit 1; }

parse() {
    while (($#)); do
        case "$1" in
            --data) DATA="${2:?--data needs a directory}"; shift ;;
            -h | --help) echo "usage: $0 [--data DIR] ARCHIVE"; exit 0 ;;
            -*) die "unknown option $1" ;;
            *) ARCHIVE="$1" ;;
        esac
        shift
    done
    [[ -f $ARCHIVE ]] || die "usage: $0 [--data DIR] ARCHIVE (a gatepass-*.tar.gz)"
    [[ -d $DATA ]] || die "no data directory $DATA"
    # Restoring under a running server would mix two databases: refuse.
    if command -v systemctl >/dev/null && systemctl is-active --quiet gatepass-server.service 2>/dev/null; then
        die "stop the server first: systemctl stop gatepass-server"
    fi
}

unpack() {  # WORKDIR
    tar -C "$1" -xzf "$ARCHIVE"
    [[ -f $1/registry.db ]] || die "$ARCHIVE holds no registry.db"
    local check
    check="$(sqlite3 "$1/registry.db" 'PRAGMA integrity_check;')"
    [[ $check == ok ]] || die "the archived database fails integrity_check: $check"
}

# Move the current state into DATA/pre-restore-TIME/ (the WAL belongs to the old database).
set_aside() {
    local aside item
    aside="$DATA/pre-restore-$(date -u +%Y%m%dT%H%M%SZ)"
    mkdir -m 0700 "$aside"
    for item in registry.db registry.db-wal registry.db-shm keys broker; do
        [[ ! -e $DATA/$item ]] || mv "$DATA/$item" "$aside/"
    done
    printf 'previous state moved to %s\n' "$aside"
}

main() {
    parse "$@"
    umask 077
    local item
    WORK="$(mktemp -d "$DATA/.restore.XXXXXX")"
    trap 'rm -rf "$WORK"' EXIT
    unpack "$WORK"
    set_aside
    for item in registry.db keys broker; do
        [[ ! -e $WORK/$item ]] || mv "$WORK/$item" "$DATA/$item"
    done
    # Run as root: hand the files to the data directory's owner (the service user).
    if [[ $EUID -eq 0 ]]; then
        chown -R --reference="$DATA" "$DATA/registry.db" "$DATA/keys" "$DATA/broker" 2>/dev/null || true
    fi
    printf 'restored %s into %s; start the server: systemctl start gatepass-server\n' \
        "$ARCHIVE" "$DATA"
}

main "$@"
