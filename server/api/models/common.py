"""Response shapes every listing shares."""

from __future__ import annotations

from typing import Generic, TypeVar

from server.api.types import (
    Public,
)

T = TypeVar("T")


class PageOut(Public, Generic[T]):
    """One page of a listing."""

    items: list[T]
    total: int
    page: int
    size: int
