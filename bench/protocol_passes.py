"""Pass verification throughput against one raw Ed25519 verify, and the QR size of a real pass."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import segno

from protocol.claims import PassClaims, PassKind
from protocol.keys import generate_ed25519
from protocol.manifest import KeyManifest, KeyUse, key_entry
from protocol.passes import Trust, issue, verify
from protocol.phonetag import phone_tag
from protocol.revocation import RevocationState
from server.services.text import display_name

NOW = 1_790_000_000


def rate(fn: Callable[[], object], n: int = 2000, repeats: int = 5) -> float:
    """Median calls per second over ``repeats`` runs of ``n`` calls."""
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        rates.append(n / (time.perf_counter() - start))
    return statistics.median(rates)


def resident_pass() -> tuple[str, Trust]:
    """A realistic resident pass (Chinese name, unit, two zones, phone tag) and its trust."""
    key = generate_ed25519()
    pid = os.urandom(12)
    claims = PassClaims(
        site="gw01",
        pass_id=pid,
        kind=PassKind.RESIDENT,
        issued_at=NOW,
        not_before=NOW,
        expires=NOW + 365 * 86400,
        zones=(1, 2),
        household=1042,
        unit="12-3-1502",
        name=display_name("欧阳秀英"),  # as the server prints it: masked
        phone_tag=phone_tag(os.urandom(32), pid, "6688"),
        phone_key_version=1,
    )
    manifest = KeyManifest(
        schema=1,
        site="gw01",
        seq=1,
        issued_at=NOW,
        keys=[key_entry(key, KeyUse.PASS, 0, 2**40, 2**40)],
    )
    refs = frozenset(os.urandom(8) for _ in range(10_000))
    state = RevocationState(site="gw01", seq=1, issued_at=NOW, next_update=NOW + 3600, refs=refs)
    return issue(claims, key), Trust.from_manifest(manifest, state)


def run() -> list[dict[str, Any]]:
    """Rows: verify rate, the Ed25519 floor, their ratio, and the pass's size and QR versions."""
    text, trust = resident_pass()
    key = generate_ed25519()
    public, signature = key.public_key(), key.sign(b"x" * 100)
    floor = rate(lambda: public.verify(signature, b"x" * 100))
    verified = rate(lambda: verify(text, trust, NOW))
    qr = {level: segno.make(text, error=level, micro=False) for level in ("m", "q")}
    return [
        {
            "name": "passes verified per second (10k revoked ids loaded)",
            "value": verified,
            "unit": "passes/s",
            "target": "far above need (≤ 1 scan/s per lane)",
            "baseline": f"raw Ed25519 verify {floor:,.0f}/s",
        },
        {
            "name": "verify cost over one raw Ed25519 verify",
            "value": floor / verified,
            "unit": "times",
            "target": "small (signature dominates)",
            "baseline": "1.0 = verify alone",
        },
        {
            "name": "realistic resident pass, text length",
            "value": len(text),
            "unit": "characters",
            "target": "≈ 250 (signed-passes.md 3.1)",
            "baseline": None,
        },
        {
            "name": "QR version at level M (phone screens)",
            "value": qr["m"].version,
            "unit": "version",
            "target": "9",
            "baseline": f"mode {qr['m'].mode}",
        },
        {
            "name": "QR version at level Q (printed cards)",
            "value": qr["q"].version,
            "unit": "version",
            "target": "11",
            "baseline": f"mode {qr['q'].mode}",
        },
    ]
