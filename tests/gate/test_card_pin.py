"""The real gate asks a resident without a phone for their card PIN (issue 16 item 6), exactly
as it asks others for their phone's last four digits, and names which on its display.

The whole lane runs: simulators on ptys, the gate daemon on gpiozero's mock pins (the keypad is
typed on the mock matrix), a real broker, a stand-in server that signs passes and lists.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any

import pytest

from protocol.claims import HolderProof
from protocol.phonetag import phone_tag
from protocol.reasons import ReasonCode
from tests.gate.conftest import Lane

pytestmark = [pytest.mark.broker, pytest.mark.timeout(120)]
ALWAYS = {"temperature_required": False, "phone_check_resident": "always"}


async def _asked(lane: Lane) -> str:
    await lane.until(lambda: lane.gate.lane.prompt is not None, 10)
    await asyncio.sleep(0.3)  # keys typed before the lane listens are dropped
    text = lane.gate.lane.prompt_text()
    assert text is not None
    return text


async def test_a_card_pin_pass_is_asked_for_its_pin_and_a_phone_pass_for_its_digits(
    lane_factory: Callable[..., Any],
) -> None:
    lane: Lane = await lane_factory(policy=ALWAYS)
    panel = lane.gate.panel
    assert panel is not None

    pin_id = os.urandom(12)
    card = lane.site.pass_text(
        pass_id=pin_id,
        phone_tag=phone_tag(lane.site.phone_key, pin_id, "0427"),
        proof=HolderProof.CARD_PIN,
    )
    lane.present(card)
    assert await _asked(lane) == "请输入卡片密码"
    assert lane.gate.lane.prompt_text("en") == "Enter the card PIN"
    await panel.type_keys("6688")  # phone-like digits are not the PIN
    await lane.until(lambda: lane.gate.rt.state.wrong_digits.get(pin_id[:8].hex()) == 1, 10)
    assert lane.gate.lane.prompt_text() == "请输入卡片密码"  # asked again, by name
    await asyncio.sleep(0.3)
    await panel.type_keys("0427")
    event = await lane.decision()
    assert (event.granted, event.reason) == (True, ReasonCode.OK)
    assert lane.gate.lane.prompt is None
    lane.scanner.command("remove")

    phone = lane.site.pass_text(digits="1357")  # no holder-proof claim: an older pass
    lane.present(phone)
    assert await _asked(lane) == "请输入手机后四位"
    await panel.type_keys("1357")
    event = await lane.decision()
    assert (event.granted, event.reason) == (True, ReasonCode.OK)
