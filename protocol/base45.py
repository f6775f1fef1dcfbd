"""Base45 (RFC 9285): binary to the QR alphanumeric alphabet, so passes fit small QR versions.

Hand-written because it is 40 lines against a fixed RFC, and the one package on the index was last
released in 2022; the RFC's own examples are the tests.
"""

from __future__ import annotations

from protocol.errors import Base45Error

__all__ = ["ALPHABET", "decode", "encode"]

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_VALUE = {c: i for i, c in enumerate(ALPHABET)}


def encode(data: bytes) -> str:
    """Encode bytes: each pair becomes three characters, a trailing byte becomes two."""
    out: list[str] = []
    for i in range(0, len(data) - 1, 2):
        n = data[i] * 256 + data[i + 1]
        e, n = divmod(n, 45 * 45)
        d, c = divmod(n, 45)
        out += (ALPHABET[c], ALPHABET[d], ALPHABET[e])
    if len(data) % 2:
        d, c = divmod(data[-1], 45)
        out += (ALPHABET[c], ALPHABET[d])
    return "".join(out)


def decode(text: str) -> bytes:
    """Decode Base45 text; raise Base45Error for a bad character, length or overflowing group.

    Written as plain arithmetic over a list because it runs on every scan at the gate."""
    try:
        values = [_VALUE[c] for c in text]
    except KeyError as exc:
        raise Base45Error(f"character {exc.args[0]!r} is not in the Base45 alphabet") from None
    tail = len(values) % 3
    if tail == 1:
        raise Base45Error(f"length {len(values)} leaves a dangling character")
    full = len(values) - tail
    out = bytearray()
    for i in range(0, full, 3):
        n = values[i] + values[i + 1] * 45 + values[i + 2] * 2025
        if n > 0xFFFF:
            raise Base45Error(f"group at {i} decodes to {n}, above 65535")
        out += n.to_bytes(2, "big")
    if tail:
        n = values[full] + values[full + 1] * 45
        if n > 0xFF:
            raise Base45Error(f"final pair decodes to {n}, above 255")
        out.append(n)
    return bytes(out)
