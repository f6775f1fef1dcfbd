"""A page of a listing, as the edges ask for it and the store serves it.

The sort key is checked against each listing's allow-list in the store (a key it does not know
is a programming error: the edges validate it first); sizes outside 1..MAX_PAGE_SIZE are
clamped, not refused (reliability-security.md 9.2 item 14).
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_PAGE_SIZE = 100
MAX_PAGE_NUMBER = 100_000


@dataclass(frozen=True, slots=True)
class Page:
    """A validated page request: 1-based page, clamped size, and an allow-listed sort key."""

    page: int = 1
    size: int = 50
    sort: str = "id"
    descending: bool = False

    @classmethod
    def request(cls, number: int, size: int, *, sort: str = "id", descending: bool = False) -> Page:
        """The page a caller asked for, its number and size clamped to what is served."""
        return cls(max(1, min(number, MAX_PAGE_NUMBER)), clamp_size(size), sort, descending)

    @property
    def offset(self) -> int:
        """Rows to skip."""
        return (self.page - 1) * self.size


def clamp_size(size: int) -> int:
    """Page sizes outside 1..MAX_PAGE_SIZE are clamped, not refused."""
    return max(1, min(size, MAX_PAGE_SIZE))
