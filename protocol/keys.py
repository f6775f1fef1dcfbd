"""Key ids and key (de)serialisation shared by the issuer, the gate and the inspect tool.

A key id is the first four bytes of SHA-256 over the raw public key: 32 bytes for Ed25519, the
65-byte uncompressed point for P-256. Raw public keys travel in the key manifest; PEM is only for
files on disk.
"""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from protocol.cose import KID_LENGTH, PrivateKey, PublicKey

__all__ = [
    "generate_ed25519",
    "is_encrypted_pem",
    "kid_for",
    "load_pem_private",
    "load_pem_public",
    "private_pem",
    "public_from_raw",
    "public_pem",
    "raw_public",
]

_ED25519_RAW = 32
_P256_RAW = 65
_PRIVATE = (ed25519.Ed25519PrivateKey, ec.EllipticCurvePrivateKey)


def _public(key: PublicKey | PrivateKey) -> PublicKey:
    """The public half of a key pair, or the key itself if it is already public."""
    return key.public_key() if isinstance(key, _PRIVATE) else key


def raw_public(key: PublicKey | PrivateKey) -> bytes:
    """Raw public key bytes: Ed25519 32 bytes, P-256 uncompressed point."""
    public = _public(key)
    if isinstance(public, ed25519.Ed25519PublicKey):
        return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return public.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def kid_for(key: PublicKey | PrivateKey) -> bytes:
    """The key id: SHA-256(raw public key)[:4]."""
    return hashlib.sha256(raw_public(key)).digest()[:KID_LENGTH]


def public_from_raw(raw: bytes) -> PublicKey:
    """Rebuild a public key from its raw bytes (length tells the type); ValueError if invalid."""
    if len(raw) == _ED25519_RAW:
        return ed25519.Ed25519PublicKey.from_public_bytes(raw)
    if len(raw) == _P256_RAW:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    raise ValueError(f"raw public key of {len(raw)} bytes is neither Ed25519 nor P-256")


def generate_ed25519() -> ed25519.Ed25519PrivateKey:
    """A fresh Ed25519 signing key."""
    return ed25519.Ed25519PrivateKey.generate()


def private_pem(key: PrivateKey, passphrase: bytes | None = None) -> bytes:
    """PKCS#8 PEM for a private key file (the caller writes it 0600); with a passphrase, the
    encrypted PKCS#8 form (``cryptography``'s best available: PBKDF2 and AES-256-CBC)."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.NoEncryption()
        if passphrase is None
        else serialization.BestAvailableEncryption(passphrase)
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def is_encrypted_pem(data: bytes) -> bool:
    """Whether a PEM private key file is passphrase-encrypted (PKCS#8 ``ENCRYPTED``)."""
    return b"-----BEGIN ENCRYPTED PRIVATE KEY-----" in data


def public_pem(key: PublicKey | PrivateKey) -> bytes:
    """SubjectPublicKeyInfo PEM for a public key file."""
    return _public(key).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_pem_private(data: bytes, passphrase: bytes | None = None) -> PrivateKey:
    """Load an Ed25519 or P-256 private key from PEM, decrypting it with ``passphrase`` if it is
    encrypted; ValueError for a wrong or missing passphrase and for any other key type."""
    password = passphrase if is_encrypted_pem(data) else None
    if password is None and is_encrypted_pem(data):
        raise ValueError("the private key is encrypted: a passphrase is needed")
    try:
        key = serialization.load_pem_private_key(data, password=password)
    except ValueError:
        if password is None:
            raise
        raise ValueError("the passphrase does not decrypt the private key") from None
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    raise ValueError(f"unsupported private key type {type(key).__name__}")


def load_pem_public(data: bytes) -> PublicKey:
    """Load an Ed25519 or P-256 public key (or derive it from a private key) from PEM."""
    if b"PRIVATE KEY" in data:
        return load_pem_private(data).public_key()
    key = serialization.load_pem_public_key(data)
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    raise ValueError(f"unsupported public key type {type(key).__name__}")
