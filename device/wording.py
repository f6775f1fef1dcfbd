"""The lane's words from its catalogs (device/messages/zh-CN.toml and en.toml): what the display
and the log say when the lane asks for something, e.g. which four digits to type (the phone's
last four, or the card PIN). One catalog per language, the same keys in each."""

from __future__ import annotations

import functools
import tomllib
from importlib import resources

from device.core.model import Prompt

LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"


@functools.cache
def catalog(language: str) -> dict[str, str]:
    """The flat ``section.key`` catalog of one language."""
    text = resources.files("device").joinpath("messages", f"{language}.toml").read_text("utf-8")
    return {
        f"{section}.{key}": str(value)
        for section, entries in tomllib.loads(text).items()
        for key, value in entries.items()
    }


def prompt_text(prompt: Prompt, language: str = DEFAULT_LANGUAGE) -> str:
    """What the lane shows when it asks for ``prompt``, in ``language`` (zh-CN by default)."""
    chosen = language if language in LANGUAGES else DEFAULT_LANGUAGE
    return catalog(chosen)[f"prompt.{prompt.value}"]
