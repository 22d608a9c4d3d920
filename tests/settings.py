"""Settings for the test run: production settings with a test key.

DEBUG stays off so the suite runs the production code paths. DATABASE_URL and REDIS_URL
pass through, so the same suite runs on PostgreSQL and Redis when they are set.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("FIELD_ENCRYPTION_KEY", "dGVzdC1vbmx5LWZpZWxkLWVuY3J5cHRpb24ta2V5LTA=")
os.environ.setdefault("MAIL_ALLOW_INTERNAL_SERVERS", "1")  # the test Dovecot is on loopback
os.environ.setdefault("DATA_DIR", str(Path(__file__).resolve().parent.parent / "data" / "test"))

from supportdesk.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405

Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)  # noqa: F405 - whitenoise warns otherwise
