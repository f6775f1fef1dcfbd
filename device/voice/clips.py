"""Where a prompt's clips are: ``<dir>/<language>/<clip id>.wav``, the operator's recordings
first, then the generated set, so a dropped-in ``reason.expired.wav`` replaces one clip."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

logger = logging.getLogger(__name__)

SUFFIX = ".wav"


def clip_path(root: Path, language: str, clip_id: str) -> Path:
    """The file a clip has under one folder of clips."""
    if "/" in clip_id or clip_id.startswith("."):
        raise ValueError(f"not a clip id: {clip_id!r}")
    return root / language / f"{clip_id}{SUFFIX}"


class ClipLibrary:
    """Looks clips up in folders in order (recorded, then generated); a missing clip is logged
    once and left out, so the rest of the prompt still plays."""

    def __init__(self, roots: Sequence[Path]) -> None:
        if not roots:
            raise ValueError("a clip library needs at least one folder")
        self.roots = tuple(roots)
        self.missing: set[tuple[str, str]] = set()  # (language, clip id) reported so far

    def find(self, clip_id: str, language: str) -> Path | None:
        """The first folder's file for the clip, or None if no folder has it."""
        for root in self.roots:
            path = clip_path(root, language, clip_id)
            if path.is_file():
                return path
        return None

    def resolve(self, clip_ids: Iterable[str], language: str) -> list[Path]:
        """The files of a prompt's clips, in order, without the missing ones."""
        found: list[Path] = []
        for clip_id in clip_ids:
            path = self.find(clip_id, language)
            if path is not None:
                found.append(path)
            elif (language, clip_id) not in self.missing:
                self.missing.add((language, clip_id))
                where = ", ".join(str(root / language) for root in self.roots)
                logger.warning("voice clip %s missing (looked in %s)", clip_id, where)
        return found
