"""The resident pseudonym: a keyed hash of the NIK, used as Kafka key and document id.

The NIK never leaves the payload of an event; anything that is logged, keyed or put in a
URL uses this pseudonym instead. Without the key the pseudonym cannot be reversed by
hashing all possible NIKs.
"""

from __future__ import annotations

import hashlib
import hmac


def resident_pseudonym(nik: str, *, key: str) -> str:
    """'r' followed by 32 hex digits of HMAC-SHA256(key, NIK)."""
    digest = hmac.new(key.encode(), nik.strip().encode(), hashlib.sha256).hexdigest()
    return "r" + digest[:32]
