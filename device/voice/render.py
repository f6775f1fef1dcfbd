"""Render every clip of the lane's catalog offline with Debian's espeak-ng, into
``<out>/<language>/<clip id>.wav``, skipping clips whose input has not changed.

Mandarin goes to the ``cmn-latn-pinyin`` voice as pinyin with tone numbers (pypinyin, phrase
aware: 银行 is yin2 hang2); never to the ``cmn`` voice, which reads tone digits as English
numbers. Speech is a little slow for elderly listeners. Each file is written to a temporary
name and renamed, so a player never reads half a clip.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from device.voice.clips import clip_path
from protocol.wording import LANGUAGES, clip_texts

VOICES = {"zh-CN": "cmn-latn-pinyin", "en": "en"}
SPEED_WPM = 140  # espeak-ng's default is 175: a little slower for elderly listeners
MANIFEST = "manifest.json"
ESPEAK = "espeak-ng"
# Chinese punctuation becomes a pause espeak-ng understands between pinyin syllables.
PAUSES = {  # comma, enumeration comma, semicolon, colon: a pause; full stop, ! and ?: a stop
    "\uff0c": ", ",
    "\u3001": ", ",
    "\uff1b": ", ",
    "\uff1a": ", ",
    "\u3002": ". ",
    "\uff01": ". ",
    "\uff1f": ". ",
}


class RenderError(RuntimeError):
    """The clips cannot be rendered (espeak-ng missing or failing, text it cannot read)."""


@dataclass(frozen=True, slots=True)
class Rendered:
    """What one language's render did: clips written, clips left as they were."""

    language: str
    rendered: int
    skipped: int


def pinyin_text(text: str) -> str:
    """Hanzi as tone-numbered pinyin (neutral tone 5), punctuation as pauses."""
    from pypinyin import Style, lazy_pinyin  # the optional "voice" extra

    words: list[str] = []
    for chunk in lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True):
        if chunk[-1:].isdigit() and chunk[:-1].isascii() and chunk[:-1].isalpha():
            words.append(chunk + " ")
            continue
        for char in chunk:
            if char in PAUSES:
                words.append(PAUSES[char])
            elif not char.isspace():
                raise RenderError(f"cannot read {char!r} in {text!r} as pinyin")
    return " ".join("".join(words).split()).replace(" ,", ",").replace(" .", ".")


def espeak_input(text: str, language: str) -> tuple[str, str]:
    """The voice and the text espeak-ng is given for one clip of ``language``."""
    if language not in VOICES:
        raise RenderError(f"no voice for language {language!r} (known: {', '.join(VOICES)})")
    fed = pinyin_text(text) if language == "zh-CN" else text
    return VOICES[language], fed


def fingerprint(voice: str, fed: str, speed: int) -> str:
    """What decides a clip's sound: a clip is rendered again only when this changes."""
    return hashlib.sha256(f"{voice}\n{speed}\n{fed}".encode()).hexdigest()


def espeak_binary() -> str:
    """The espeak-ng program, or a clear error saying how to install it."""
    found = shutil.which(ESPEAK)
    if found is None:
        raise RenderError("espeak-ng is not installed (apt install espeak-ng)")
    return found


def _speak(binary: str, voice: str, fed: str, speed: int, target: Path) -> None:
    """One clip, written to a temporary name then renamed over ``target``."""
    tmp = target.with_name(f".{target.name}.tmp")
    command = [binary, "-v", voice, "-s", str(speed), "-w", str(tmp), "--", fed]
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0 or not tmp.is_file():
        tmp.unlink(missing_ok=True)
        why = done.stderr.strip() or f"exit status {done.returncode}"
        raise RenderError(f"espeak-ng failed on {target.name}: {why}")
    os.replace(tmp, target)


def _read_manifest(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise RenderError(f"{path}: unreadable manifest ({exc}); delete it to render all") from exc
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise RenderError(f"{path}: not a clip manifest; delete it to render all")
    return data


def _write_manifest(path: Path, manifest: dict[str, str]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", "utf-8")
    os.replace(tmp, path)


def render_language(
    out: Path,
    language: str,
    *,
    speed: int = SPEED_WPM,
    progress: Callable[[str], None] | None = None,
) -> Rendered:
    """Render one language's clips under ``out``; unchanged clips (manifest) are skipped."""
    binary = espeak_binary()
    folder = out / language
    folder.mkdir(parents=True, exist_ok=True)
    manifest_path = folder / MANIFEST
    old = _read_manifest(manifest_path)
    new: dict[str, str] = {}
    rendered = skipped = 0
    for clip_id, text in sorted(clip_texts(language).items()):
        voice, fed = espeak_input(text, language)
        mark = fingerprint(voice, fed, speed)
        target = clip_path(out, language, clip_id)
        if old.get(clip_id) == mark and target.is_file():
            skipped += 1
        else:
            _speak(binary, voice, fed, speed, target)
            rendered += 1
            if progress is not None:
                progress(clip_id)
        new[clip_id] = mark
    _write_manifest(manifest_path, new)
    return Rendered(language, rendered, skipped)


def render(out: Path, languages: tuple[str, ...] = LANGUAGES) -> list[Rendered]:
    """Render every clip of each language under ``out``."""
    return [render_language(out, language) for language in languages]
