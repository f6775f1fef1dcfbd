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

import functools
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
    """``encoder.evaluate_mask``: the penalty score N1 + N2 + N3 + N4 of ``matrix``, on the
    whole symbol at once: its rows (and its columns) laid end to end as one bit string."""
    flat = b"".join(matrix)
    if width != height or max(flat) > 3:
        return int(_STOCK_EVALUATE(matrix, width, height))
    size = width
    masks = _masks(size)
    by_column = b"".join(flat[j::size] for j in range(size))
    rows, columns = _planes(flat), _planes(by_column)
    row_left, column_left = _same_as_left(rows, masks[0]), _same_as_left(columns, masks[0])
    n1 = _n1(row_left) + _n1(column_left)
    (a, b), full_but_first_row = rows, masks[1]
    same_as_above = ~((a ^ (a >> size)) | (b ^ (b >> size))) & full_but_first_row
    n2 = 3 * (row_left & (row_left >> size) & same_as_above).bit_count()
    light = b"\x00\x00\x00\x00"
    n3 = _n3(light + light.join(flat[i : i + size] for i in range(0, len(flat), size)) + light)
    n3 += _n3(
        light + light.join(by_column[i : i + size] for i in range(0, size * size, size)) + light
    )
    n4 = 10 * int(abs(float(sum(flat)) / (size**2) * 100 - 50) / 5)
    return n1 + n2 + n3 + n4


@functools.cache
def _masks(size: int) -> tuple[int, int]:
    """For a symbol of ``size`` laid out as one bit string: every module but each row's first;
    every module but the first row's."""
    row = (1 << (size - 1)) - 1
    every_row = sum(row << (size * i) for i in range(size))
    return every_row, (1 << (size * (size - 1))) - 1


def _planes(seq: bytes) -> tuple[int, int]:
    """The low and high bits of each module's value as two integers (first module highest)."""
    return int(seq.translate(_PLANE0), 2), int(seq.translate(_PLANE1), 2)


def _same_as_left(planes: tuple[int, int], inner: int) -> int:
    """Bit set where a module equals the one before it in its row (``x >> 1`` moves one module
    on; ``inner`` clears each row's first module, so that no run crosses into the next row)."""
    a, b = planes
    return ~((a ^ (a >> 1)) | (b ^ (b >> 1))) & inner


def _n1(same: int) -> int:
    """Each run of five or more equal modules scores its length less 2: one point per window
    of five equal modules (length less 4) and two per run."""
    windows = same & (same >> 1) & (same >> 2) & (same >> 3)
    return windows.bit_count() + 2 * (windows & ~(windows >> 1)).bit_count()


def _n3(seq: bytes) -> int:
    """40 points per 1:1:3:1:1 pattern with four light modules before or after it, as segno
    counts them in each row and column; here the rows (or columns) are joined by four light
    modules, which stand for segno's rule that a pattern at either end of a row counts."""
    count = 0
    idx = seq.find(_N3)
    while idx != -1:
        offset = idx + 7
        if not any(seq[idx - 4 : idx]) or not any(seq[offset : offset + 4]):
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
