"""Personal data at rest: encrypted columns with rotatable keys, and keyed blind indexes for exact lookup.

An ID number or a phone is stored twice: encrypted (AES-256-GCM, a fresh nonce each time, the key id in front so
old rows stay readable after a key rotation) and as a blind index (HMAC-SHA256 under a separate key) so that
"find the person with this ID number" is an indexed equality, without the database ever holding the number.

Keys come from settings (``GONGHUI_DATA_KEYS``: ``kid:base64key,...``, the first one encrypts, all decrypt;
``GONGHUI_BLIND_INDEX_KEY``). The embedded default generates both once into the data directory.
"""
from __future__ import annotations

import base64
import hmac
import os
from dataclasses import dataclass, field

import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class KeySettingError(ValueError):
    """A key setting is malformed, or a stored value names a key this deployment does not have."""


@dataclass(frozen=True)
class Keyring:
    #: key id -> 32-byte key; ``current`` encrypts, every key decrypts.
    keys: dict[str, bytes]
    current: str
    blind_index_key: bytes
    #: One AESGCM per key, built once: building it costs more than sealing an ID number (25 µs against 9 µs per
    #: call, measured on the import path). It holds no per-message state, so threads share it.
    _ciphers: dict[str, AESGCM] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "_ciphers", {kid: AESGCM(key) for kid, key in self.keys.items()})

    @classmethod
    def parse(cls, data_keys: str, blind_index_key: str) -> "Keyring":
        keys: dict[str, bytes] = {}
        order: list[str] = []
        for item in (part.strip() for part in data_keys.split(",") if part.strip()):
            kid, _, encoded = item.partition(":")
            try:
                key = base64.b64decode(encoded, validate=True)
            except ValueError:
                raise KeySettingError(f"GONGHUI_DATA_KEYS: key {kid!r} is not base64") from None
            if not kid.isalnum() or len(key) != 32:
                raise KeySettingError(f"GONGHUI_DATA_KEYS: key {kid!r} must be an alphanumeric id and 32 bytes")
            keys[kid] = key
            order.append(kid)
        if not order:
            raise KeySettingError("GONGHUI_DATA_KEYS: no key")
        try:
            index_key = base64.b64decode(blind_index_key, validate=True)
        except ValueError:
            raise KeySettingError("GONGHUI_BLIND_INDEX_KEY is not base64") from None
        if len(index_key) < 32:
            raise KeySettingError("GONGHUI_BLIND_INDEX_KEY must be at least 32 bytes")
        return cls(keys, order[0], index_key)

    def encrypt(self, plain: str) -> str:
        nonce = os.urandom(12)
        sealed = self._ciphers[self.current].encrypt(nonce, plain.encode(), self.current.encode())
        return f"{self.current}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, stored: str) -> str:
        kid, _, encoded = stored.partition(":")
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise KeySettingError(f"a value is encrypted with key {kid!r}, which is not in GONGHUI_DATA_KEYS")
        raw = base64.b64decode(encoded)
        return cipher.decrypt(raw[:12], raw[12:], kid.encode()).decode()

    def blind_index(self, purpose: str, value: str) -> str:
        """Equal values give equal indexes within one ``purpose`` ("id_number", "phone"), nothing else."""
        return hmac.digest(self.blind_index_key, f"{purpose}:{value}".encode(), "sha256").hex()


_keyring: Keyring | None = None


def configure(keyring: Keyring) -> None:
    global _keyring
    _keyring = keyring


def keyring() -> Keyring:
    if _keyring is None:
        raise RuntimeError("no keyring configured: create_app sets it from settings")
    return _keyring


def new_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def blind_index(purpose: str, value: str) -> str:
    return keyring().blind_index(purpose, value)


class Encrypted(sa.types.TypeDecorator):
    """A text column stored encrypted under the deployment's current key; reads decrypt with any key."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else keyring().encrypt(value)

    def process_result_value(self, value, dialect):
        return None if value is None else keyring().decrypt(value)
