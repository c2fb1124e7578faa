"""Canonical JSON: one byte-exact text per value, for hashing and comparing requests.

Recording keys, stuck detection and replay all compare values through this function, so
two equal values always give the same text whatever their key order.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_hash(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()
