"""What the server recorded during the demo, read back through its API (admin session).

One JSON-ready dict: events per gate and per reason code (alarms by their kind), grants per
kind of pass (resident, visitor, staff; ``none`` for staff overrides), events the
gates decided while offline, alerts by kind, dead letters, and each gate's last reported
outbox depth (0 once everything it decided has been acknowledged); and from the lanes
themselves, the voice prompts each one played (``prompts``).
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from deploy.demo.api import Api


def _reason(event: dict[str, Any]) -> str:
    if event["kind"] == "alarm":
        return f"alarm:{event['alarm']}"
    return str(event["reason"])


def prompts(said: dict[str, dict[str, int]]) -> dict[str, Any]:
    """The lanes' voice prompts (from each simulated speaker's record): how often each reason
    was said, each step asked for, in all and per lane."""
    total: Counter[str] = sum((Counter(counts) for counts in said.values()), Counter())
    reasons = {k.removeprefix("reason."): n for k, n in total.items() if k.startswith("reason.")}
    others = {k: n for k, n in total.items() if not k.startswith(("reason.", "temperature."))}
    return {
        "prompts_per_reason": dict(sorted(reasons.items())),
        "prompts": dict(sorted(others.items())),
        "temperatures_read_out": total["temperature.unit"],
        "prompts_per_gate": {g: sum(c.values()) for g, c in sorted(said.items())},
    }


def summarise(admin: Api, started_at: float) -> dict[str, Any]:
    """The summary the headless demo prints as its last line."""
    events = admin.all_pages("/api/v1/events", desc="false")
    alerts = admin.all_pages("/api/v1/alerts", state="all")
    dead = admin.call("GET", "/api/v1/dead-letters?size=1")["total"]
    per_gate: dict[str, Counter[str]] = {}
    for event in events:
        per_gate.setdefault(event["gate"], Counter())[_reason(event)] += 1
    offline = Counter(e["gate"] for e in events if e.get("offline"))
    health = admin.call("GET", "/api/v1/gate-health")
    return {
        "seconds": round(time.monotonic() - started_at, 1),
        "events": len(events),
        "granted": sum(1 for e in events if e["granted"]),
        "granted_per_holder": dict(
            sorted(Counter(e["holder_kind"] or "none" for e in events if e["granted"]).items())
        ),
        "events_per_gate": {g: sum(c.values()) for g, c in sorted(per_gate.items())},
        "reasons_per_gate": {g: dict(sorted(c.items())) for g, c in sorted(per_gate.items())},
        "reasons": dict(sorted(sum(per_gate.values(), Counter()).items())),
        "offline_events_per_gate": dict(sorted(offline.items())),
        "alerts": dict(sorted(Counter(a["kind"] for a in alerts).items())),
        "dead_letters": dead,
        "outbox_depth": {h["id"]: (h["status"] or {}).get("outbox_depth") for h in health},
    }
