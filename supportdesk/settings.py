"""Settings for supportdesk, read from the environment.

Nothing set means the embedded default: SQLite in ``data/`` and Celery on kombu's
filesystem transport, so ``make run`` needs no server. Every variable is listed in the
README. A bad value stops start-up with a message naming the variable.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from pathlib import Path

import django_stubs_ext
import environ
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

# Lets classes like ModelForm[Article] be subscripted at run time, as the type hints do.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


def _fail(variable: str, problem: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"{variable}: {problem}")


_BOOLEANS = {
    **dict.fromkeys(("1", "true", "yes", "on"), True),
    **dict.fromkeys(("0", "false", "no", "off", ""), False),
}


def _bool(variable: str, default: bool) -> bool:
    raw = env.str(variable, default=str(default)).strip().lower()
    if raw not in _BOOLEANS:
        raise _fail(variable, f"expected one of 1/0, true/false, yes/no, on/off; got {raw!r}")
    return _BOOLEANS[raw]


def _int(variable: str, default: int) -> int:
    raw = env.str(variable, default=str(default))
    try:
        return int(raw)
    except ValueError:
        raise _fail(variable, f"expected a whole number, got {raw!r}") from None


DEBUG = _bool("DEBUG", default=False)
DATA_DIR = Path(env.str("DATA_DIR", default=str(BASE_DIR / "data")))

_secret = env.str("SECRET_KEY", default="")
if not _secret:
    if not DEBUG:
        raise _fail("SECRET_KEY", "must be set when DEBUG is off (set DEBUG=1 for development)")
    _secret = "django-insecure-development-only-key-not-for-production-use-0123456789"  # noqa: S105
SECRET_KEY = _secret

# Secrets stored in the database (mailbox passwords) are encrypted with these Fernet keys;
# the first encrypts, all decrypt (rotation: docs/email.md, "Mailbox security").
FIELD_ENCRYPTION_KEYS = [
    k.strip() for k in env.list("FIELD_ENCRYPTION_KEY", default=[]) if k.strip()
]
if not FIELD_ENCRYPTION_KEYS:
    if not DEBUG:
        raise _fail(
            "FIELD_ENCRYPTION_KEY",
            'must be set when DEBUG is off; make one with python -c "from cryptography.fernet '
            'import Fernet; print(Fernet.generate_key().decode())"',
        )
    _derived = hashlib.sha256(b"supportdesk field encryption:" + SECRET_KEY.encode()).digest()
    FIELD_ENCRYPTION_KEYS = [base64.urlsafe_b64encode(_derived).decode()]
for _key in FIELD_ENCRYPTION_KEYS:
    try:
        Fernet(_key)
    except ValueError:
        raise _fail(
            "FIELD_ENCRYPTION_KEY", "each key must be 32 url-safe base64-encoded bytes"
        ) from None

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=[".localhost", "localhost", "127.0.0.1", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# The port tenants' links are built with in development (http://<slug>.localhost:8000/).
SITE_PORT = _int("SITE_PORT", default=8000)
SITE_SCHEME = env.str("SITE_SCHEME", default="http" if DEBUG else "https")
# The parent domain tenants live under: <slug>.<TENANT_DOMAIN>.
TENANT_DOMAIN = env.str("TENANT_DOMAIN", default="localhost")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "supportdesk",
    "contracts",
    "sla",
    "tickets",
    "tickets.mail",
    "notifications",
    "knowledgebase",
    "reports",
]

MIDDLEWARE = [
    "supportdesk.observability.RequestIdMiddleware",
    "supportdesk.observability.HealthMiddleware",
    "supportdesk.limits.RequestSizeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "supportdesk.middleware.RetryReadOnLostConnectionMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "supportdesk.middleware.RejectNulMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "supportdesk.tenancy.TenantMiddleware",
    "supportdesk.observability.TenantLogMiddleware",
    "supportdesk.tenancy.LanguageMiddleware",
    "supportdesk.tenancy.TimeZoneMiddleware",
    "supportdesk.idempotency.IdempotencyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
]

ROOT_URLCONF = "supportdesk.urls"
WSGI_APPLICATION = "supportdesk.wsgi.application"
AUTH_USER_MODEL = "supportdesk.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "supportdesk.tenancy.tenant_context",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
_default_sqlite = f"sqlite:///{DATA_DIR / 'supportdesk.sqlite3'}"
try:
    _db = env.db_url("DATABASE_URL", default=_default_sqlite)
except Exception as exc:  # django-environ raises several kinds; name the variable once.
    raise _fail("DATABASE_URL", f"cannot parse ({exc})") from exc
if _db.get("ENGINE") not in (
    "django.db.backends.sqlite3",
    "django.db.backends.postgresql",
):
    raise _fail("DATABASE_URL", "only sqlite:/// and postgres:// URLs are supported")
if _db["ENGINE"] == "django.db.backends.sqlite3":
    if _db["NAME"] not in ("", ":memory:"):
        # A fresh checkout has no data folder yet; SQLite will not create it.
        Path(_db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets the web server and the Celery worker read while one writes; IMMEDIATE takes
    # the write lock at BEGIN so two writers queue instead of failing with "database locked".
    _db.setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    _db.setdefault("CONN_MAX_AGE", _int("DB_CONN_MAX_AGE", default=60))
    _db.setdefault("CONN_HEALTH_CHECKS", True)
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, Celery ------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL and not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise _fail("REDIS_URL", "must start with redis://, rediss:// or unix://")


def redis_cache_settings(url: str) -> dict[str, object]:
    """The cache on Redis, degrading to misses while Redis is away (logged, never a 500).

    Sessions read through the cache fall back to the database on a miss, so pages and the
    login keep working during an outage. Short socket timeouts keep a blackholed Redis from
    holding every request for the operating system's TCP timeout.
    """
    return {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": url,
        "OPTIONS": {
            "IGNORE_EXCEPTIONS": True,
            "SOCKET_CONNECT_TIMEOUT": 0.5,
            "SOCKET_TIMEOUT": 0.5,
        },
    }


DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
if REDIS_URL:
    CACHES = {"default": redis_cache_settings(REDIS_URL)}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Sessions are read from the cache (Redis when configured) and written through to the
# database: one query fewer on every page, and nothing lost when the cache is.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or REDIS_URL or "filesystem://"
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if CELERY_BROKER_URL == "filesystem://":
    _queue = DATA_DIR / "celery"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue / "queue"),
        "data_folder_out": str(_queue / "queue"),
        "processed_folder": str(_queue / "processed"),
        "control_folder": str(_queue / "control"),
        "store_processed": False,
        # kombu polls the folder and sleeps this long whenever it has nothing to hand out,
        # including while every prefetch slot is taken: at its default of 1 s a worker of
        # two processes ran two tasks a second (issue 18). docs/operations.md, "Brokers".
        "polling_interval": 0.1,
    }
    # kombu does not create these, and a task enqueued on a fresh checkout would fail.
    for _folder in ("queue", "processed", "control"):
        (_queue / _folder).mkdir(parents=True, exist_ok=True)
# --- Broker: RabbitMQ (recommended in production), Redis, or the serverless filesystem ---------
# docs/operations.md ("Brokers") has the measured recovery after a worker kill on each.
_broker_scheme = CELERY_BROKER_URL.partition("://")[0]
_amqp, _redis = ("amqp", "amqps", "pyamqp"), ("redis", "rediss", "redis+socket", "unix")
# memory:// is kombu's in-process transport: one process with eager tasks (.ci/schemathesis).
if _broker_scheme not in ("filesystem", "memory", *_amqp, *_redis):
    raise _fail(
        "CELERY_BROKER_URL",
        "must start with amqp://, amqps://, redis://, rediss://, filesystem:// or memory:// "
        "(or be unset)",
    )
# No task may outlive Redis's visibility timeout (below): one that would is stopped, never
# handed to a second worker while the first still runs it. Every task is a small unit of
# work (one mail, one mailbox, one tenant's sweep), so this limit is far from reached.
CELERY_TASK_TIME_LIMIT = _int("CELERY_TASK_TIME_LIMIT", default=90)
CELERY_TASK_SOFT_TIME_LIMIT = max(1, CELERY_TASK_TIME_LIMIT - 10)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
if _broker_scheme in _amqp:
    # RabbitMQ requeues a dead consumer's unacknowledged messages the moment its connection
    # drops. Publisher confirms: a publish returns once the broker has the message. Quorum
    # queues are durable and replicated; countdowns and retries use RabbitMQ's native delayed
    # delivery, which quorum queues need and which needs topic exchanges.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"confirm_publish": True}
    CELERY_TASK_DEFAULT_QUEUE_TYPE = "quorum"
    CELERY_TASK_CREATE_MISSING_QUEUE_TYPE = "quorum"
    CELERY_TASK_DEFAULT_EXCHANGE_TYPE = "topic"
    CELERY_TASK_CREATE_MISSING_QUEUE_EXCHANGE_TYPE = "topic"
elif _broker_scheme in _redis:
    # Redis hands a killed worker's task to another worker once it has been unacknowledged
    # for visibility_timeout (kombu's default is an hour); the sweep looks every 5 s. So a
    # kill is recovered within about 100 s + 5 s, and no running task reaches the timeout.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": CELERY_TASK_TIME_LIMIT + 10,
        "unacked_restore_interval": 5,
        "unacked_restore_throttle": 1,
    }
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
if _broker_scheme == "filesystem":
    # Four tasks per process in hand, so a process finishing one never waits out a poll.
    CELERY_WORKER_PREFETCH_MULTIPLIER = 4
CELERY_TASK_ALWAYS_EAGER = _bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = "UTC"

# --- E-mail --------------------------------------------------------------------------------
try:
    _email = env.email_url("EMAIL_URL", default="consolemail://")
except Exception as exc:
    raise _fail("EMAIL_URL", f"cannot parse ({exc})") from exc
vars().update(_email)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="support@supportdesk.localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Tenant admins choose their mailboxes' IMAP servers; off, only public addresses and the
# standard IMAP ports are reached, so a mailbox cannot probe the internal network.
MAIL_ALLOW_INTERNAL_SERVERS = _bool("MAIL_ALLOW_INTERNAL_SERVERS", default=False)
# The same rule for the URLs tenants' webhooks post to (notifications/channels/webhook.py).
WEBHOOK_ALLOW_INTERNAL_HOSTS = _bool("WEBHOOK_ALLOW_INTERNAL_HOSTS", default=False)

# --- I18N ------------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("sv", _("Swedish")), ("nl", _("Dutch"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
# English pages in day-month order with the 24-hour clock (supportdesk/formats/en).
FORMAT_MODULE_PATH = ["supportdesk.formats"]
USE_TZ = True
TIME_ZONE = "UTC"

# --- Static, media ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(DATA_DIR / "media")))
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 30 * 1024 * 1024
# Any request body over this is refused from its Content-Length, unread (413); set the
# proxy's limit (nginx client_max_body_size) to the same. Room for a reply with attachments.
REQUEST_MAX_BYTES = _int("REQUEST_MAX_BYTES", default=40 * 1024 * 1024)

# --- API -------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "supportdesk.authentication.TenantTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["supportdesk.access.IsTenantStaff"],
    "DEFAULT_PARSER_CLASSES": [  # JSON nested deeper than supportdesk.api.MAX_JSON_DEPTH: 400
        "supportdesk.api.DepthLimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "supportdesk.schema.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "supportdesk.api.exception_handler",
}
# Content-Security-Policy (django-csp): scripts only from our own static files, no inline
# script or event handler (docs/security.md). Styles may be inline: htmx and Swagger UI set them.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
SPECTACULAR_SETTINGS = {
    "TITLE": "supportdesk API",
    "DESCRIPTION": "Tenant-scoped REST API. Authenticate with `Authorization: Token <key>`; "
    "the token decides the tenant.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "DEFAULT_GENERATOR_CLASS": "supportdesk.schema.TenantSchemaGenerator",
    "GET_MOCK_REQUEST": "supportdesk.schema.build_mock_request",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "supportdesk.schema.document_common_errors",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ChannelEnum": "tickets.choices.Channel",
        "CategoryEnum": "tickets.choices.Category",
        "TicketStatusEnum": "tickets.choices.Status",
        "ContractStatusEnum": "contracts.models.ContractStatus",
        "ArticleKindEnum": "knowledgebase.models.ArticleKind",
        "TicketLinkKindEnum": "tickets.models.LinkKind",
        "ProblemStatusEnum": "tickets.models.ProblemStatus",
        "ReviewStatusEnum": "tickets.models.ReviewStatus",
    },
}

# --- Security --------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
if not DEBUG:
    SECURE_SSL_REDIRECT = _bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = _int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_REFERRER_POLICY = "same-origin"

# --- Login throttling -------------------------------------------------------------------------
# django-axes counts failed logins per user name and IP address; after LOGIN_FAILURE_LIMIT
# failures that pair is refused (429 with Retry-After) for LOGIN_LOCKOUT_MINUTES, each new
# try during the lockout starting the wait again. A successful login resets the count.
INSTALLED_APPS.append("axes")
MIDDLEWARE.append("axes.middleware.AxesMiddleware")
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = _int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=_int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False
AXES_USERNAME_CALLABLE = "supportdesk.authentication.login_username"
AXES_CLIENT_IP_CALLABLE = "supportdesk.authentication.client_ip"
AXES_LOCKOUT_CALLABLE = "supportdesk.authentication.login_locked_out"
# Password-reset requests and failed API tokens: DRF's cache throttles (Redis when set).
# The reply box's live preview renders Markdown on every pause in typing: per user.
THROTTLE_RATES = {
    "reset-per-ip": "10/hour",
    "reset-per-address": "3/hour",
    "bad-api-key": "20/min",
    "reply-preview": "120/min",
}
# The client address is REMOTE_ADDR unless NUM_PROXIES proxies in front add X-Forwarded-For.
REST_FRAMEWORK["NUM_PROXIES"] = _int("NUM_PROXIES", default=0)

# Every record names its request id and tenant; LOG_FORMAT=json for one JSON object a line.
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
if LOG_FORMAT not in ("text", "json"):
    raise _fail("LOG_FORMAT", f"expected text or json, got {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request": {"()": "supportdesk.observability.RequestContextFilter"}},
    "formatters": {
        "text": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(tenant)s] %(message)s"
        },
        "json": {"()": "supportdesk.observability.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request"],
            "formatter": LOG_FORMAT,
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # WeasyPrint (the report PDF) and fontTools log every layout step at INFO.
    "loggers": {name: {"level": "WARNING"} for name in ("weasyprint", "fontTools")},
}
# /metrics (Prometheus text format) answers only "Authorization: Bearer <this>"; unset: 404.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
