# shellcheck shell=bash
# Shared by deploy/*/install.sh: --root/--dry-run handling and idempotent file steps.
#
# Three modes:
#   real      : change this machine (run as root).
#   --root D  : write every file under D; commands that would touch the real system (apt, useradd,
#               systemctl, pip, chown, ...) are recorded in D/install-commands.txt, never run.
#   --dry-run : print what would be done; change nothing (also with --root).

ROOT=""
DRY_RUN=0
RECORD=""

log() { printf '%s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Shell-quoted command line, for logs and the record file.
quoted() { local out; printf -v out '%q ' "$@"; printf '%s' "${out% }"; }

# Set up the mode once the options are parsed; the record file is rewritten on each run so
# that two runs into the same root leave the same tree.
begin() {
    if [[ -n $ROOT ]]; then
        [[ $ROOT == /* ]] || ROOT="$PWD/$ROOT"
        ROOT="${ROOT%/}"
        [[ $ROOT != "" ]] || die "--root / is the real system: leave --root out instead"
        RECORD="$ROOT/install-commands.txt"
        if ((!DRY_RUN)); then
            mkdir -p "$ROOT"
            printf '# commands %s would run on a real system (not run: --root)\n' "$1" >"$RECORD"
        fi
    elif ((!DRY_RUN)) && [[ $EUID -ne 0 ]]; then
        die "run as root (or use --root DIR / --dry-run)"
    fi
}

# Run a command that changes the real system: recorded under --root, printed under --dry-run.
system() {
    if ((DRY_RUN)); then
        log "would run: $(quoted "$@")"
    elif [[ -n $ROOT ]]; then
        printf '%s\n' "$(quoted "$@")" >>"$RECORD"
    else
        log "run: $(quoted "$@")"
        "$@"
    fi
}

# Read-only question about the real system; under --root the answer is always "no".
real_system() { [[ -z $ROOT ]]; }

ensure_dir() {  # DIR MODE [OWNER:GROUP]
    local dir="$ROOT$1" mode="$2" owner="${3:-}"
    if ((DRY_RUN)); then
        [[ -d $dir ]] || log "would create $dir ($mode${owner:+ $owner})"
    else
        install -d -m "$mode" "$dir"
    fi
    [[ -z $owner ]] || system chown "$owner" "$1"
}

# Install SRC as DEST (a path on the target) only if content or mode differ.
put_file() {  # SRC DEST MODE [OWNER:GROUP]
    local src="$1" dest="$ROOT$2" mode="$3" owner="${4:-}"
    [[ -f $src ]] || die "missing $src"
    if [[ -f $dest ]] && cmp -s "$src" "$dest" && [[ $(stat -c '%a' "$dest") == "${mode#0}" ]]; then
        log "unchanged $2"
    elif ((DRY_RUN)); then
        log "would install $2 ($mode) from $src"
    else
        install -D -m "$mode" "$src" "$dest"
        log "installed $2"
    fi
    [[ -z $owner ]] || system chown "$owner" "$2"
}

# Install stdin as DEST: put_file through a temporary file.
put_text() {  # DEST MODE [OWNER:GROUP] < content
    local tmp
    tmp="$(mktemp)"
    cat >"$tmp"
    put_file "$tmp" "$@"
    rm -f "$tmp"
}

# Append LINE to FILE unless a line equal to it is there already.
ensure_line() {  # FILE LINE
    local file="$ROOT$1" line="$2"
    if [[ -f $file ]] && grep -qxF -- "$line" "$file"; then
        return 0
    elif ((DRY_RUN)); then
        log "would add to $1: $line"
    else
        mkdir -p "$(dirname "$file")"
        printf '%s\n' "$line" >>"$file"
        log "added to $1: $line"
    fi
}
