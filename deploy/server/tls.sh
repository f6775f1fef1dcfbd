#!/usr/bin/env bash
# gatepass-tls: the site's own certificate authority for the broker's TLS listener (openssl).
#
#   gatepass-tls ca                                  site CA (once; never overwritten)
#   gatepass-tls broker --dns NAME... --ip ADDR...   broker certificate signed by the CA
#   gatepass-tls client GATE                         a client certificate for one gate
#
# Keys are EC P-256. Gates and the server verify the broker against DIR/ca.crt (gate add
# --tls-ca, GATEPASS_MQTT_TLS_CA). Existing keys and certificates are kept unless --force.
set -euo pipefail

DIR=/etc/gatepass/tls
DAYS=825
CA_DAYS=3650
FORCE=0
GROUP=""
getent group mosquitto >/dev/null 2>&1 && GROUP=mosquitto
SANS=()
COMMAND=""
CLIENT=""

die() { printf 'gatepass-tls: %s\n' "$*" >&2; exit 1; }
log() { printf '%s\n' "$*" >&2; }

usage() {
    cat <<EOF
usage: $0 [--dir DIR] [--days N] [--force] ca
       $0 [--dir DIR] [--days N] [--force] [--group G] broker --dns NAME [--dns NAME] [--ip ADDR]
       $0 [--dir DIR] [--days N] [--force] client GATE
defaults: --dir $DIR, --days $DAYS (CA: $CA_DAYS), --group ${GROUP:-none} (may read broker.key)
EOF
}

parse() {
    while (($#)); do
        case "$1" in
            --dir) DIR="${2:?--dir needs a directory}"; shift ;;
            --days) DAYS="${2:?--days needs a number}"; CA_DAYS="$DAYS"; shift ;;
            --force) FORCE=1 ;;
            --group) GROUP="${2?--group needs a group (or '')}"; shift ;;
            --dns) SANS+=("DNS:${2:?--dns needs a name}"); shift ;;
            --ip) SANS+=("IP:${2:?--ip needs an address}"); shift ;;
            ca | broker) COMMAND="$1" ;;
            client) COMMAND=client; CLIENT="${2:?client needs a gate id}"; shift ;;
            -h | --help) usage; exit 0 ;;
            *) usage >&2; die "unknown argument $1" ;;
        esac
        shift
    done
    [[ -n $COMMAND ]] || { usage >&2; die "say ca, broker or client"; }
    [[ $DAYS =~ ^[1-9][0-9]*$ ]] || die "--days must be a positive number"
    [[ -z $CLIENT || $CLIENT =~ ^[a-z0-9-]+$ ]] || die "gate ids are [a-z0-9-]"
}

# True when FILE exists and --force was not given (the caller then keeps it).
keep() {
    [[ -e $1 && $FORCE -eq 0 ]] && { log "kept $1 (use --force to replace it)"; return 0; }
    return 1
}

new_key() {  # FILE
    (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1")
}

make_ca() {
    keep "$DIR/ca.crt" && return 0
    new_key "$DIR/ca.key"
    openssl req -new -x509 -key "$DIR/ca.key" -out "$DIR/ca.crt" -days "$CA_DAYS" \
        -subj "/O=gatepass/CN=gatepass site CA $(hostname -s)" -sha256 \
        -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -addext "subjectKeyIdentifier=hash"
    chmod 0644 "$DIR/ca.crt"
    log "wrote $DIR/ca.crt (give it to gates and the server) and $DIR/ca.key (keep it secret)"
}

# Sign NAME.csr with the CA; EXTS are the leaf certificate's extensions.
sign() {  # NAME CN EXTS
    local name="$1" exts
    [[ -f $DIR/ca.key ]] || die "no CA in $DIR: run '$0 ca' first"
    exts="$(mktemp)"
    printf '%s\n' "$3" >"$exts"
    openssl req -new -key "$DIR/$name.key" -subj "/O=gatepass/CN=$2" -out "$DIR/$name.csr"
    openssl x509 -req -in "$DIR/$name.csr" -CA "$DIR/ca.crt" -CAkey "$DIR/ca.key" \
        -CAcreateserial -days "$DAYS" -sha256 -extfile "$exts" -out "$DIR/$name.crt"
    rm -f "$exts" "$DIR/$name.csr"
    chmod 0644 "$DIR/$name.crt"
    openssl verify -CAfile "$DIR/ca.crt" "$DIR/$name.crt" >/dev/null
}

make_broker() {
    ((${#SANS[@]})) || die "broker needs at least one --dns NAME or --ip ADDR (what gates dial)"
    keep "$DIR/broker.crt" && return 0
    local sans
    sans="$(IFS=,; echo "${SANS[*]}")"
    new_key "$DIR/broker.key"
    # The broker drops to its own user: its group may read the key, nobody else.
    if [[ -n $GROUP ]]; then
        chgrp "$GROUP" "$DIR/broker.key"
        chmod 0640 "$DIR/broker.key"
    fi
    sign broker "${SANS[0]#*:}" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=$sans"
    log "wrote $DIR/broker.crt for $sans"
}

make_client() {
    mkdir -p "$DIR/clients"
    chmod 0700 "$DIR/clients"
    keep "$DIR/clients/$CLIENT.crt" && return 0
    new_key "$DIR/clients/$CLIENT.key"
    sign "clients/$CLIENT" "$CLIENT" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
    log "wrote $DIR/clients/$CLIENT.crt and .key (CN=$CLIENT)"
}

main() {
    parse "$@"
    command -v openssl >/dev/null || die "openssl is not installed"
    mkdir -p "$DIR"
    chmod 0755 "$DIR"
    case "$COMMAND" in
        ca) make_ca ;;
        broker) make_broker ;;
        client) make_client ;;
    esac
}

main "$@"
