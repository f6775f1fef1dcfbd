"""Uploaded register files, kept between the validation report and the confirmation.

The browser's file name is never used: each upload is stored as ``uploads/<staff>-<token>.upload``
in the data directory (0700, files 0600, created exclusively), size-capped while it streams in,
and type-sniffed (an XLSX zip or text without NUL bytes). Uploads older than MAX_AGE_S are
deleted whenever a new one arrives; a confirmed import deletes its file, and so does every
failure on the way (a refused, broken or interrupted upload leaves nothing behind).
"""

from __future__ import annotations

import os
import re
import secrets
import time
from pathlib import Path

from starlette.datastructures import UploadFile

from server.services.errors import NotFound
from server.services.registry.file_limits import Problem, refused, too_large

MAX_AGE_S = 3600
CHUNK = 64 * 1024
SUFFIXES = (".csv", ".xlsx", ".txt")
_TOKEN = re.compile(r"^[0-9a-f]{32}$")


def _folder(data_dir: Path) -> Path:
    folder = data_dir / "uploads"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def path_of(data_dir: Path, staff_id: int, token: str) -> Path:
    """The stored upload for ``token`` of this staff member; NotFound if absent or malformed."""
    if not _TOKEN.fullmatch(token):
        raise NotFound("upload")
    path = _folder(data_dir) / f"{staff_id}-{token}.upload"
    if not path.is_file():
        raise NotFound("upload (expired or already imported)")
    return path


def _sweep(folder: Path, now: float) -> None:
    for old in folder.glob("*.upload"):
        if now - old.stat().st_mtime > MAX_AGE_S:
            old.unlink(missing_ok=True)


def _sniff(head: bytes) -> None:
    if not head:
        raise refused(Problem.EMPTY, "the file is empty")
    if not head.startswith(b"PK\x03\x04") and b"\x00" in head:
        raise refused(Problem.WRONG_TYPE, "the file is neither CSV text nor XLSX")


async def save(data_dir: Path, staff_id: int, upload: UploadFile, limit: int) -> str:
    """Store an upload under a new token, refusing wrong types and files over ``limit`` bytes."""
    name = (upload.filename or "").lower()
    if not name.endswith(SUFFIXES):
        raise refused(Problem.WRONG_SUFFIX, "choose a .csv or .xlsx file")
    folder = _folder(data_dir)
    _sweep(folder, time.time())
    token = secrets.token_hex(16)
    path = folder / f"{staff_id}-{token}.upload"
    try:
        await _copy(upload, path, limit)
    except BaseException:  # refused, disconnected, disk full or cancelled: nothing stays
        path.unlink(missing_ok=True)
        raise
    return token


async def _copy(upload: UploadFile, path: Path, limit: int) -> None:
    size = 0
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
        while chunk := await upload.read(CHUNK):
            if size == 0:
                _sniff(chunk[:4096])
            size += len(chunk)
            if size > limit:
                kb = limit // 1024
                raise too_large(Problem.FILE_TOO_LARGE, f"the file is larger than {kb} KB", kb=kb)
            out.write(chunk)
    if size == 0:
        raise refused(Problem.EMPTY, "the file is empty")
