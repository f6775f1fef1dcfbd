"""The base of every record, and the JSON column types."""

from __future__ import annotations

from typing import Any

import msgspec

JSON = Any  # a JSON column: what the JSON type decodes (dict, list, str, number, bool, None)
JSONObject = dict[str, JSON]  # a JSON column that holds an object (details, overrides)


class Record(msgspec.Struct, frozen=True, kw_only=True):
    """Base of every record."""
