"""CLI subcommands of the MQTT link: ``gate add|remove|rekey`` and ``broker-config``.

Registered in server.cli.run; they run with the database opened and migrated, as the CLI
actor, and raise service errors the dispatcher turns into a message and exit status 1.
"""

from __future__ import annotations

import argparse

from protocol.messages import LaneDirection
from server.services.context import CLI_ACTOR, Env
from server.services.errors import Invalid
from server.services.gates.gate_file import Hardware
from server.services.gates.provisioning import (
    BrokerAddress,
    add_gate,
    legacy_file,
    rekey_gate,
    remove_gate,
)

RELOAD_HINT = "reload the broker to apply: systemctl reload mosquitto (or kill -HUP its pid)"


def _broker(env: Env, args: argparse.Namespace) -> BrokerAddress:
    host = args.broker_host or env.settings.mqtt_host
    if host is None:
        raise Invalid("where is the broker? give --broker-host or set GATEPASS_MQTT_HOST")
    port = args.broker_port or env.settings.mqtt_port
    return BrokerAddress(host=host, port=port, tls_ca=args.tls_ca)


def _hardware(args: argparse.Namespace) -> Hardware:
    return Hardware(
        hardware=args.hardware,
        data_dir=args.gate_data_dir,
        scanner_model=args.scanner_model,
        scanner_port=args.scanner_port,
        thermometer_model=args.thermometer_model,
        thermometer_port=args.thermometer_port,
    )


async def gate(env: Env, args: argparse.Namespace) -> int:
    """``gate add|rekey|remove GATE``."""
    if args.action == "remove":
        await remove_gate(env, CLI_ACTOR, gate=args.gate, file=legacy_file(env, args.gate))
        print(f"gate {args.gate} removed; {RELOAD_HINT}")
        return 0
    out = args.out
    if args.action == "add":
        path = await add_gate(
            env,
            CLI_ACTOR,
            gate=args.gate,
            zone=args.zone,
            direction=LaneDirection(args.direction),
            name=args.name,
            broker=_broker(env, args),
            hardware=_hardware(args),
            out=out,
        )
        print(f"gate {args.gate} added; its configuration (with its password) is {path}")
    else:
        path = await rekey_gate(
            env,
            CLI_ACTOR,
            gate=args.gate,
            broker=_broker(env, args),
            hardware=_hardware(args),
            out=out,
        )
        print(f"gate {args.gate} has new credentials in {path}")
    print(
        "copy it to the gate's /etc/gatepass/gate.toml (0600), check it with "
        "`gatepass-gate check-config`, then delete it here: the server keeps only the "
        f"password's hash (gate rekey issues a new one); {RELOAD_HINT}"
    )
    return 0


async def broker_config(env: Env, args: argparse.Namespace) -> int:
    """``broker-config --out DIR``."""
    from server.link.broker_config import BrokerOptions, write_broker_config

    options = BrokerOptions(
        out=args.out,
        bind=args.bind,
        port=args.port,
        tls_port=args.tls_port,
        tls_bind=args.tls_bind,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        group=args.group,
        log_file=args.log_file,
    )
    try:
        files = await write_broker_config(env, options)
    except (ValueError, KeyError, OSError) as exc:
        raise Invalid(f"broker-config: {exc}") from None
    for path in files:
        print(f"wrote {path}")
    print(f"start: mosquitto -c {files[0]}; after changes: {RELOAD_HINT}")
    return 0
