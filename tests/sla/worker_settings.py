"""Settings of the real Celery worker that ``test_notice_worker.py`` starts and kills.

The test passes the test database, the SMTP port and a private queue in the environment.
The broker settings are the production ones, so the measured recovery is production's.
"""

from __future__ import annotations

import os

from tests.settings import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = "127.0.0.1"
EMAIL_PORT = int(os.environ.get("NOTICE_TEST_SMTP_PORT", "25"))
EMAIL_USE_TLS = False
EMAIL_USE_SSL = False
EMAIL_HOST_USER = ""
EMAIL_HOST_PASSWORD = ""
EMAIL_TIMEOUT = 60
CELERY_TASK_ALWAYS_EAGER = False
