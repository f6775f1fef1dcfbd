"""The lane's words for the digits it asks for, from the one catalog the voice, the lane display
and the staff console share (protocol/wording): which four digits to type (the phone's last four,
or the card PIN)."""

from __future__ import annotations

from device.core.model import Prompt
from protocol.wording import DEFAULT_LANGUAGE, line


def prompt_text(prompt: Prompt, language: str = DEFAULT_LANGUAGE) -> str:
    """What the lane shows when it asks for ``prompt``, in ``language`` (zh-CN by default)."""
    return line(f"step.{prompt.value}", language).screen
