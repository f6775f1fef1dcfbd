"""Keyed fingerprints of erased residents: recognising a person a re-import would re-create
without keeping anything about them.

Erasure (server.services.privacy.subjects) deletes the resident and remembers
HMAC-SHA256(key, building|unit|room|name) under a secret of the server's own (a 0600 file in the
key directory, made at the first erasure). The fingerprint says nothing to whoever reads the
database without that file; an import computes the same fingerprint for each new person and
holds back the ones that match until the operator confirms the row.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
import unicodedata
from pathlib import Path

from server.services.passes.keys import write_secret
from server.store import imports as store
from server.store.db import Connection

KEY_FILE = "erasure-fingerprint.key"


def load_key(keys_dir: Path) -> bytes | None:
    """The fingerprint key, or None before the first erasure."""
    path = keys_dir / KEY_FILE
    return bytes.fromhex(path.read_text().strip()) if path.exists() else None


def _ensure_key(keys_dir: Path) -> bytes:
    key = load_key(keys_dir)
    if key is None:
        with contextlib.suppress(FileExistsError):  # another process made it first
            write_secret(keys_dir / KEY_FILE, secrets.token_hex(32).encode())
        key = load_key(keys_dir)
        assert key is not None
    return key


def fingerprint(key: bytes, address: tuple[str, str, str], name: str) -> str:
    """The keyed fingerprint of a person at an address (NFC, case-folded)."""
    text = "\x1f".join(unicodedata.normalize("NFC", p).strip().casefold() for p in (*address, name))
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


async def remember(
    conn: Connection, keys_dir: Path, *, address: tuple[str, str, str], name: str, at: int
) -> None:
    """Keep the fingerprint of a resident being erased (inside the erasure's transaction)."""
    key = _ensure_key(keys_dir)
    await store.add_erased(conn, fingerprint=fingerprint(key, address, name), at=at)
