"""Bad configuration stops start-up with a message naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEST_FIELD_KEY = "dGVzdC1vbmx5LWZpZWxkLWVuY3J5cHRpb24ta2V5LTA="
GOOD_KEY = "a-production-secret-key-that-is-long-and-random-enough-0123456789-abcdefghij"


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "SECRET_KEY",
            "DEBUG",
            "DATABASE_URL",
            "SECURE_SSL_REDIRECT",
            "DJANGO_ALLOW_ASYNC_UNSAFE",  # set by the browser tests' conftest
        )
    }
    clean["DJANGO_SETTINGS_MODULE"] = "supportdesk.settings"
    clean["DATA_DIR"] = str(ROOT / "data" / "test-settings")
    clean.update(env)
    return subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_missing_secret_key_in_production_stops_start_up() -> None:
    result = run_manage("check")
    assert result.returncode != 0
    assert "Configuration error: SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_field_encryption_key_in_production_stops_start_up() -> None:
    result = run_manage("check", SECRET_KEY=GOOD_KEY, FIELD_ENCRYPTION_KEY="")
    assert result.returncode != 0
    assert "Configuration error: FIELD_ENCRYPTION_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_development_starts_without_a_field_encryption_key() -> None:
    result = run_manage("check", DEBUG="1", FIELD_ENCRYPTION_KEY="")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "mysql://root@localhost/x"),
        ("DATABASE_URL", "not a url at all"),
        ("REDIS_URL", "http://127.0.0.1:6379"),
        ("DEBUG", "maybe"),
        ("SITE_PORT", "eighty"),
        ("FIELD_ENCRYPTION_KEY", "not-a-fernet-key"),
        ("FIELD_ENCRYPTION_KEY", f"{TEST_FIELD_KEY},short"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(variable: str, value: str) -> None:
    result = run_manage("check", SECRET_KEY=GOOD_KEY, **{variable: value})
    assert result.returncode != 0
    assert f"Configuration error: {variable}" in result.stderr


def test_production_settings_pass_the_deployment_check() -> None:
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY=GOOD_KEY,
        ALLOWED_HOSTS=".example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_embedded_default_needs_no_server() -> None:
    result = run_manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, "
        "s.DATABASES['default']['OPTIONS']['transaction_mode'])",
        DEBUG="1",
        REDIS_URL="",
        CELERY_BROKER_URL="",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.sqlite3", "filesystem://", "IMMEDIATE"]
