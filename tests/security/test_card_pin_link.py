"""A card PIN issued by the server opens a gate that knows only what the server sent it
(issue 16 item 6): the pass from the real issuing service, the phone-tag keys from the gate's
signed config over a real broker and the server's real link, the gate's own verification and its
pure decision. The PIN is read from the printed card, as the holder would."""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
from pathlib import Path

import pytest

from device.core.decision import decide
from device.core.model import Lane, Outcome, Prompt, ScanAttempt, Signal
from device.core.state import GateState
from protocol.claims import HolderProof
from protocol.messages import LaneDirection, PhoneCheck, Policy
from protocol.reasons import ReasonCode
from server.services.context import CLI_ACTOR
from server.services.passes import issuing, printing
from server.services.registry import places as registry
from server.services.registry import residents
from tests.faults.harness import build, running_gates, running_link

pytestmark = [pytest.mark.broker, pytest.mark.timeout(90)]


def _pdftotext(path: Path) -> str:
    done = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True)
    return done.stdout


async def test_a_server_issued_card_pin_opens_the_gate_and_a_wrong_one_does_not(
    tmp_path: Path,
) -> None:
    site = await build(tmp_path)
    site.broker.start()
    try:
        async with running_link(site), running_gates(site, "east-in") as (gate,):
            await asyncio.wait_for(gate.configured.wait(), 10)
            env = site.env()
            try:
                home = await registry.save_household(
                    env,
                    CLI_ACTOR,
                    None,
                    registry.HouseholdFields(zone_id=1, building="7", unit="1", room="302"),
                )
                granny = await residents.save(
                    env,
                    CLI_ACTOR,
                    None,
                    residents.ResidentFields(household_id=home.id, name="吴奶奶", role="owner"),
                )
                issued = await issuing.issue_resident(env, CLI_ACTOR, granny.id)
                pdf = await printing.card(env, CLI_ACTOR, issued.id)
            finally:
                await env.db.close()
            (tmp_path / "card.pdf").write_bytes(pdf)
            text = await asyncio.to_thread(_pdftotext, tmp_path / "card.pdf")
            match = re.search(r"卡片密码 / Card PIN:\s*(\d{4})", text)
            assert match is not None
            pin = match.group(1)

            now = int(time.time())
            assert issued.text is not None
            claims = gate.verify(issued.text, now)
            assert claims.proof == HolderProof.CARD_PIN
            config = gate.trust.applied.config
            assert config is not None
            lane = Lane(
                site=claims.site,
                gate="east-in",
                zone=1,
                direction=LaneDirection.IN,
                policy=Policy(phone_check_resident=PhoneCheck.ALWAYS, temperature_required=False),
                revocations=gate.trust.applied.revocations,
                phone_keys=dict(config.phone_keys),
            )
            asked, _ = decide(ScanAttempt(result=claims), GateState(), lane, now)
            assert (asked.outcome, asked.prompt) == (Outcome.NEED_DIGITS, Prompt.CARD_PIN)
            wrong = f"{(int(pin) + 1) % 10_000:04d}"
            refused, _ = decide(ScanAttempt(result=claims, digits=(wrong,)), GateState(), lane, now)
            assert (refused.signal, refused.prompt) == (Signal.WRONG_DIGITS, Prompt.CARD_PIN)
            opened, _ = decide(ScanAttempt(result=claims, digits=(pin,)), GateState(), lane, now)
            assert (opened.outcome, opened.reason) == (Outcome.GRANT, ReasonCode.OK)
    finally:
        site.broker.kill()
