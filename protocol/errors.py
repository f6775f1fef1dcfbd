"""The protocol's exception tree; every failure class has its own type and a reason code.

Callers catch the branch they handle and log the rest; nothing here is ever swallowed::

    ProtocolError
    ├── IdError                  an id is not [a-z0-9-] or too long
    ├── TopicError               a topic string is not one of ours
    ├── PassError                a scanned pass must be denied (carries .reason)
    │   ├── UnreadablePass       empty, too long or not printable ASCII
    │   ├── UnknownFormat        not our prefix (a URL, Wi-Fi QR, EU DCC "HC1:", ...)
    │   ├── BadEncoding          not Base45, or a broken/oversized zlib body
    │   │   ├── Base45Error
    │   │   └── DecompressionBomb
    │   ├── MalformedPass        not a well-formed, tagged COSE_Sign1
    │   ├── BadAlgorithm         alg missing, not allow-listed, or not the key's algorithm
    │   ├── UnknownKey           no trusted key for this kid
    │   │   └── MissingKeyId     kid absent from the protected header
    │   ├── KeyNotValid          the key exists but not for this pass's issue time or today
    │   ├── BadSignature         signature does not verify
    │   ├── BadClaims            signed, but the claims break the schema
    │   │   └── UnsupportedSchema
    │   ├── WrongSite            issued for another community
    │   ├── NotYetValid          before nbf or iat (beyond the clock skew)
    │   ├── PassExpired          at or after exp (beyond the clock skew)
    │   ├── PassRevoked          listed in the revocation list
    │   └── HouseholdCutOff      issued before its household's cutoff
    └── MessageError             an MQTT payload must be refused (carries .reason text)
        ├── PayloadTooLarge
        ├── MalformedMessage     not JSON/CBOR, duplicate or non-deterministic encoding
        ├── UnknownField
        ├── WrongType
        ├── OutOfRange           includes NaN and infinities
        ├── UnsupportedVersion   a schema version this build does not speak
        ├── UntrustedMessage     a signed message whose signature or key does not check
        ├── WrongSiteMessage     a message for another site or gate
        ├── PeerRefused          presence from a gate the config does not name, or retained
        ├── StaleUpdate          not newer than what is already applied
        └── SequenceGap          a revocation delta that does not follow the applied list
"""

from __future__ import annotations

from protocol.reasons import ReasonCode, RefusalCode


class ProtocolError(Exception):
    """Root of every error the protocol package raises."""


class IdError(ProtocolError, ValueError):
    """A site, gate or request id is not lower-case [a-z0-9-] within the length limit."""


class TopicError(ProtocolError, ValueError):
    """A topic string does not parse as one of the gatepass/v1 topics."""


class PassError(ProtocolError):
    """A pass must be denied; ``reason`` is the code shown to staff and logged."""

    reason: ReasonCode = ReasonCode.UNREADABLE


class UnreadablePass(PassError):
    """The scanned text is empty, too long or contains characters a pass never has."""

    reason = ReasonCode.UNREADABLE


class UnknownFormat(PassError):
    """The text does not start with our prefix: another system's code."""

    reason = ReasonCode.UNKNOWN_FORMAT


class BadEncoding(PassError):
    """The body is not valid Base45, or its compression is broken."""

    reason = ReasonCode.BAD_ENCODING


class Base45Error(BadEncoding, ValueError):
    """Text outside the Base45 alphabet, a dangling character, or a group that overflows."""


class DecompressionBomb(BadEncoding):
    """A zlib body inflates beyond the output cap."""


class MalformedPass(PassError):
    """The bytes are not a well-formed, tagged COSE_Sign1 structure."""

    reason = ReasonCode.MALFORMED


class BadAlgorithm(PassError):
    """The protected alg is missing, not allow-listed, or does not fit the key."""

    reason = ReasonCode.BAD_ALGORITHM


class UnknownKey(PassError):
    """No trusted key carries this key id."""

    reason = ReasonCode.UNKNOWN_KEY


class MissingKeyId(UnknownKey):
    """The key id is not in the protected header (an unprotected kid is never used)."""


class KeyNotValid(PassError):
    """The key is trusted, but not for a pass issued at this time, or no longer at all."""

    reason = ReasonCode.KEY_NOT_VALID


class BadSignature(PassError):
    """The signature does not verify: forged, altered or truncated."""

    reason = ReasonCode.BAD_SIGNATURE


class BadClaims(PassError):
    """The signature is good but the claims do not follow the schema."""

    reason = ReasonCode.BAD_SCHEMA


class UnsupportedSchema(BadClaims):
    """The claims carry a schema version this build does not know."""


class WrongSite(PassError):
    """The pass was issued for another community."""

    reason = ReasonCode.WRONG_SITE


class NotYetValid(PassError):
    """The pass starts later (nbf or iat after now, beyond the allowed skew)."""

    reason = ReasonCode.NOT_YET_VALID


class PassExpired(PassError):
    """The pass's exp is past (beyond the allowed skew)."""

    reason = ReasonCode.EXPIRED


class PassRevoked(PassError):
    """The pass id is on the signed revocation list."""

    reason = ReasonCode.REVOKED


class HouseholdCutOff(PassError):
    """The pass was issued before its household's cutoff (moved out, phone changed)."""

    reason = ReasonCode.HOUSEHOLD_CUTOFF


class MessageError(ProtocolError, ValueError):
    """An MQTT payload is refused; the message says which field and why, ``refusal`` the code
    an ack or a dead letter carries."""

    refusal: RefusalCode = RefusalCode.MALFORMED


class PayloadTooLarge(MessageError):
    """The payload is larger than the cap for its topic."""

    refusal = RefusalCode.PAYLOAD_TOO_LARGE


class MalformedMessage(MessageError):
    """Not valid JSON or CBOR, or an encoding we never produce (duplicate keys, non-canonical)."""

    refusal = RefusalCode.MALFORMED


class UnknownField(MessageError):
    """The payload has a field the schema does not define."""

    refusal = RefusalCode.UNKNOWN_FIELD


class WrongType(MessageError):
    """A field has the wrong type or a required field is missing."""

    refusal = RefusalCode.WRONG_TYPE


class OutOfRange(MessageError):
    """A number or string is outside its allowed range (NaN and infinities included)."""

    refusal = RefusalCode.OUT_OF_RANGE


class UnsupportedVersion(MessageError):
    """The payload's schema version is not one this build speaks."""

    refusal = RefusalCode.UNSUPPORTED_VERSION


class UntrustedMessage(MessageError):
    """A signed message whose signature, key or algorithm does not check."""


class WrongSiteMessage(MessageError):
    """A message addressed to another site or gate than the one receiving it."""


class PeerRefused(MessageError):
    """Presence from a gate this gate's signed config does not name, or a retained copy."""


class StaleUpdate(MessageError):
    """A manifest, list or config that is not newer than the one already applied."""


class SequenceGap(MessageError):
    """A revocation delta that does not continue from the applied list's sequence number."""
