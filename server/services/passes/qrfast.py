"""segno's mask selection, the same choice made faster: it is four fifths of drawing a symbol.

segno applies each of the eight data masks module by module (a closure call per module) and
scores each result in a Python loop per module. This module gives ``segno.encoder`` two drop-in
replacements with the same results: ``apply_mask`` XORs each row with a precomputed row (the
encoding region and the mask pattern depend only on the symbol size), and ``evaluate_mask``
scores rows and columns with whole-row operations (runs and 2x2 blocks on bit planes held
as integers, the 1:1:3:1:1 pattern with ``bytes.find`` as segno does). The symbols are
identical to stock segno's, bit for bit (tests/server/test_cards_site.py checks it on many
passes); ``install()`` is idempotent and refuses a segno whose functions it does not know.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from segno import encoder

_STOCK_APPLY: Callable[..., None] = encoder.apply_mask
_STOCK_EVALUATE: Callable[..., int] = encoder.evaluate_mask
_N3 = b"\x01\x00\x01\x01\x01\x00\x01"
_PLANE0 = bytes.maketrans(bytes(range(4)), b"0101")
_PLANE1 = bytes.maketrans(bytes(range(4)), b"0011")
#: the positions each mask flips, per symbol size and mask (at most 40 sizes x 8 masks)
_flips: dict[tuple[int, int, Any], tuple[int, ...]] = {}


def apply_mask(
    matrix: Sequence[bytearray],
    mask_pattern: Callable[[int, int], int],
    width: int,
    height: int,
    is_encoding_region: Callable[[int, int], bool],
) -> None:
    """``encoder.apply_mask``: XOR the mask into the encoding region of ``matrix``, a row at a
    time (each module is one byte of 0 or 1 there, so a whole-row XOR never carries)."""
    key = (width, height, mask_pattern.__code__)  # segno makes new closures for every symbol
    flips = _flips.get(key)
    if flips is None:
        flips = tuple(
            int.from_bytes(
                bytes(
                    1 if is_encoding_region(i, j) and mask_pattern(i, j) else 0
                    for j in range(width)
                ),
                "big",
            )
            for i in range(height)
        )
        _flips[key] = flips
    for row, flip in zip(matrix, flips, strict=True):
        if flip:
            row[:] = (int.from_bytes(row, "big") ^ flip).to_bytes(width, "big")


def evaluate_mask(matrix: Sequence[bytearray], width: int, height: int) -> int:
    """``encoder.evaluate_mask``: the penalty score N1 + N2 + N3 + N4 of ``matrix``."""
    rows = [bytes(row) for row in matrix]
    if width != height or max(b"".join(rows)) > 3:
        return int(_STOCK_EVALUATE(matrix, width, height))
    columns = [bytes(column) for column in zip(*rows, strict=True)]
    inner = (1 << (width - 1)) - 1  # every position but the first
    row_planes = [_planes(seq) for seq in rows]
    row_left = [_same_as_left(planes, inner) for planes in row_planes]
    n1 = sum(_n1(same) for same in row_left)
    n1 += sum(_n1(_same_as_left(_planes(seq), inner)) for seq in columns)
    n3 = sum(_n3(seq, width) for seq in (*rows, *columns))
    dark = sum(sum(row) for row in rows)
    n4 = 10 * int(abs(float(dark) / (width**2) * 100 - 50) / 5)
    return n1 + _n2(row_planes, row_left, width) + n3 + n4


def _planes(seq: bytes) -> tuple[int, int]:
    """The low and high bits of each module's value as two integers (first module highest)."""
    return int(seq.translate(_PLANE0), 2), int(seq.translate(_PLANE1), 2)


def _same_as_left(planes: tuple[int, int], inner: int) -> int:
    """Bit set where a module equals the one before it (``x >> 1`` moves one module on)."""
    a, b = planes
    return ~((a ^ (a >> 1)) | (b ^ (b >> 1))) & inner


def _n1(same: int) -> int:
    """Each run of five or more equal modules scores its length less 2: one point per window
    of five equal modules (length less 4) and two per run."""
    windows = same & (same >> 1) & (same >> 2) & (same >> 3)
    return windows.bit_count() + 2 * (windows & ~(windows >> 1)).bit_count()


def _n2(planes: list[tuple[int, int]], same_as_left: list[int], width: int) -> int:
    """3 points for each 2x2 block of one value, as segno counts them."""
    full = (1 << width) - 1
    count = 0
    for i in range(1, len(planes)):
        (a0, a1), (b0, b1) = planes[i - 1], planes[i]
        same_as_above = ~((a0 ^ b0) | (a1 ^ b1)) & full
        count += (same_as_left[i] & same_as_left[i - 1] & same_as_above).bit_count()
    return 3 * count


def _n3(seq: bytes, size: int) -> int:
    """40 points per 1:1:3:1:1 pattern with light modules before or after (segno's rule)."""
    count = 0
    idx = seq.find(_N3)
    while idx != -1:
        offset = idx + 7
        if (
            idx in (0, size - 7)
            or not any(seq[max(idx - 4, 0) : min(idx, size)])
            or not any(seq[max(offset, 0) : min(offset + 4, size)])
        ):
            count += 40
        else:
            offset = idx + 4
        idx = seq.find(_N3, offset)
    return count


def install() -> None:
    """Put the replacements into ``segno.encoder`` (once)."""
    if encoder.apply_mask is apply_mask:
        return
    if encoder.apply_mask is not _STOCK_APPLY or encoder.evaluate_mask is not _STOCK_EVALUATE:
        raise RuntimeError("segno.encoder's mask functions were replaced by someone else")
    encoder.apply_mask = apply_mask
    encoder.evaluate_mask = evaluate_mask


def uninstall() -> None:
    """Restore stock segno (for the comparison test)."""
    encoder.apply_mask = _STOCK_APPLY
    encoder.evaluate_mask = _STOCK_EVALUATE
