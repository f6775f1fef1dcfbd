"""Field types shared by request models and route parameters: bounded, finite, well-formed.

Every string is refused if it holds lone surrogates (they cannot be stored or hashed) and has a
hard length cap; integers are bounded so no value reaches SQLite's 64-bit limit; floats are
never NaN or infinite (S-09).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

MAX_ID = 2**31 - 1
MAX_TIME = 2**40


def _well_formed(value: str) -> str:
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in value):
        raise ValueError("text contains lone surrogates")
    return value


def text(max_length: int, min_length: int = 0) -> Any:
    """A string type of bounded length without lone surrogates."""
    return Annotated[
        str, Field(min_length=min_length, max_length=max_length), AfterValidator(_well_formed)
    ]


class Strict(BaseModel):
    """Base of every request model: unknown fields refused (no mass assignment), no NaN/Inf."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Public(BaseModel):
    """Base of every response model."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False, from_attributes=True)


IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
RefPath = Annotated[str, Path(min_length=16, max_length=16, pattern=r"^[0-9a-f]{16}$")]
ZoneId = Annotated[int, Field(ge=1, le=MAX_ID)]
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]
Time = Annotated[int, Field(ge=0, le=MAX_TIME)]
PageNo = Annotated[int, Query(ge=1, le=100_000)]
GateQuery = Annotated[str | None, Query(min_length=1, max_length=32, pattern=r"^[a-z0-9-]+$")]
PageSize = Annotated[int, Query(description="clamped to 1-100")]
SearchText = Annotated[
    str | None, Query(max_length=64), AfterValidator(lambda v: v and _well_formed(v))
]
Name = text(64, 1)
Label = text(32)
Phone = text(32, 1)
Note = text(500)
Reason = text(200, 1)
