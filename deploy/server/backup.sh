#!/usr/bin/env bash
# gatepass-backup: a consistent snapshot of the registry database (SQLite online backup, safe
# while the server writes) plus the signing keys and the server's broker password, checked with
# PRAGMA integrity_check, as one 0600 tar.gz; the newest KEEP archives are kept.
set -euo pipefail

DATA="${GATEPASS_DATA:-/var/lib/gatepass}"
WORK=""
DEST="${BACKUP_DIR:-/var/backups/gatepass}"
KEEP="${BACKUP_KEEP:-14}"

die() { printf 'gatepass-backup: %s\n' "$*" >&2; exit 1; }

usage() {
    echo "usage: $0 [--data DIR] [--dest DIR] [--keep N]  (defaults: $DATA, $DEST, $KEEP)"
}

parse() {
    while (($#)); do
        case "$1" in
            --data) DATA="${2:?--data needs a directory}"; shift ;;
            --dest) DEST="${2:?--dest needs a directory}"; shift ;;
            --keep) KEEP="${2:?--keep needs a number}"; shift ;;
            -h | --help) usage; exit 0 ;;
            *) usage >&2; die "unknown argument $1" ;;
        esac
        shift
    done
    [[ $KEEP =~ ^[1-9][0-9]*$ ]] || die "--keep must be a positive number, not '$KEEP'"
    # A PostgreSQL registry (GATEPASS_DATABASE_URL) is backed up with pg_dump, not here.
    [[ -f $DATA/registry.db ]] || die "no SQLite registry at $DATA/registry.db"
    command -v sqlite3 >/dev/null || die "sqlite3 is not installed (apt-get install sqlite3)"
}

# Online backup API: a page-consistent copy even while the server commits.
snapshot() {  # WORKDIR
    sqlite3 "$DATA/registry.db" ".timeout 10000" ".backup '$1/registry.db'"
    local check
    check="$(sqlite3 "$1/registry.db" 'PRAGMA integrity_check;')"
    [[ $check == ok ]] || die "the snapshot fails integrity_check: $check"
}

# Without the keys a restored registry could not sign passes or talk to the broker.
secrets() {  # WORKDIR
    local item
    for item in keys broker; do
        [[ ! -d $DATA/$item ]] || cp -a "$DATA/$item" "$1/$item"
    done
}

archive() {  # WORKDIR -> prints the archive path
    local name
    name="gatepass-$(date -u +%Y%m%dT%H%M%S.%3NZ).tar.gz"
    tar -C "$WORK" -czf "$DEST/.$name.partial" .
    chmod 0600 "$DEST/.$name.partial"
    mv "$DEST/.$name.partial" "$DEST/$name"
    printf '%s\n' "$DEST/$name"
}

rotate() {
    local old
    # Names sort by time (UTC, fixed width): drop everything but the newest KEEP.
    find "$DEST" -maxdepth 1 -name 'gatepass-*.tar.gz' -printf '%f\n' | sort -r |
        tail -n +"$((KEEP + 1))" | while read -r old; do
        rm -f -- "${DEST:?}/$old"
    done
}

main() {
    parse "$@"
    umask 077
    mkdir -p "$DEST"
    WORK="$(mktemp -d "$DEST/.work.XXXXXX")"
    trap 'rm -rf "$WORK"' EXIT
    snapshot "$WORK"
    secrets "$WORK"
    archive "$WORK"
    rotate
}

main "$@"
