"""gatepass protocol: what the gate and the server agree on, with no I/O of its own.

Topics (protocol.topics), payload models (protocol.messages), signed passes (protocol.passes,
protocol.claims, protocol.cose, protocol.base45, protocol.phonetag), the key manifest
(protocol.manifest), revocation lists and holds (protocol.revocation), reason codes
(protocol.reasons) and the error tree (protocol.errors). docs/protocol.md describes the wire.
"""

from __future__ import annotations

from protocol.claims import PassClaims, PassKind
from protocol.errors import MessageError, PassError, ProtocolError
from protocol.passes import Trust, issue, verify
from protocol.reasons import ReasonCode

__all__ = [
    "PROTOCOL_VERSION",
    "MessageError",
    "PassClaims",
    "PassError",
    "PassKind",
    "ProtocolError",
    "ReasonCode",
    "Trust",
    "issue",
    "verify",
]

PROTOCOL_VERSION = 1
