"""Model fields: secrets encrypted at rest.

:class:`EncryptedTextField` stores a Fernet token (AES-128-CBC with an HMAC-SHA256, from
``cryptography``) and hands the code the clear text. The keys come from
``FIELD_ENCRYPTION_KEY`` (comma-separated): the first encrypts, every one decrypts, so a key
is rotated by putting a new one first, running ``manage.py secrets_rotate`` and then
dropping the old one. Tokens are random, so the column cannot be searched or compared.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def secret_fernet() -> MultiFernet:
    """The keys of ``FIELD_ENCRYPTION_KEY``, the first one encrypting."""
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def secret_encrypt(value: str) -> str:
    return secret_fernet().encrypt(value.encode()).decode("ascii")


def secret_decrypt(token: str) -> str:
    try:
        return secret_fernet().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeEncodeError) as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY: none of the keys decrypts a stored secret "
            "(was a key dropped before `manage.py secrets_rotate` ran?)"
        ) from exc


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]
    """A text column holding a Fernet token; reads and writes are clear text in Python."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if not value:
            return value
        return secret_decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if not value:
            return value
        return secret_encrypt(value)
