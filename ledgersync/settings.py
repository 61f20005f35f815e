"""LedgerSync settings: everything that differs between machines comes from the environment."""

import re
from pathlib import Path

import dj_database_url
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from ledgersync.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is required unless DEBUG=1")
    SECRET_KEY = "insecure-dev-only-key"  # only ever reached with DEBUG on

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1"] if DEBUG else [])

# Fernet key(s) for credentials at rest, comma separated; the first encrypts, all decrypt (rotation).
CREDENTIALS_KEYS = env_list("CREDENTIALS_KEY", [])
for _key in CREDENTIALS_KEYS:
    try:
        Fernet(_key.encode())
    except ValueError as exc:
        raise ImproperlyConfigured("CREDENTIALS_KEY holds a value that is not a Fernet key") from exc

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "import_export",
    "django_q",
    "reconciliation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "ledgersync.urls"
WSGI_APPLICATION = "ledgersync.wsgi.application"

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
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL")
if not DATABASE_URL:
    # Embedded default (DESIGN.md 9): a SQLite file under var/, which git ignores.
    (BASE_DIR / "var").mkdir(exist_ok=True)
    DATABASE_URL = f"sqlite:///{BASE_DIR / 'var' / 'ledgersync.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=env_int("DB_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Workers and the web process share one file: wait for locks instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 30
    # A transaction that reads, then writes after another process wrote, cannot wait for the
    # lock (SQLite answers "database is locked" at once, whatever the timeout): the demo's first
    # sync failed that way while a worker posted. IMMEDIATE takes the write lock when the
    # transaction begins, so it waits its turn instead (Django 5.1+ `transaction_mode`).
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
    DATABASES["default"]["TEST"] = {"NAME": env_str("TEST_SQLITE_NAME", None)}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# One date format on every page, audit times to the second: our en-gb formats override Django's
# (ledgersync/formats/); the settings below say the same for code that formats without a locale.
FORMAT_MODULE_PATH = ["ledgersync.formats"]
DATE_FORMAT = SHORT_DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = SHORT_DATETIME_FORMAT = "Y-m-d H:i:s T"
TIME_FORMAT = "H:i:s"

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"

REDIS_URL = env_str("REDIS_URL")
Q_CLUSTER = {
    "name": "ledgersync",
    "workers": env_int("Q_WORKERS", 2),
    "timeout": 600,
    "retry": 900,  # longer than timeout, so a slow task is not delivered twice while it runs
    "max_attempts": 3,
    "ack_failures": True,
    "catch_up": False,
    "sync": env_bool("Q_SYNC", False),
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# Where Xero's published OpenAPI description lives (used by the Xero sandbox to validate traffic).
XERO_OPENAPI_SPEC = Path(
    env_str("XERO_OPENAPI_SPEC", str(BASE_DIR.parent / "shared" / "specs" / "xero_accounting.yaml"))
)
# TikTok Shop's published OpenAPI description (finance.json, order.json, ...): the TikTok sandbox and
# every TikTok fixture are validated against it.
TIKTOK_OPENAPI_DIR = Path(env_str("TIKTOK_OPENAPI_DIR", str(BASE_DIR.parent / "shared" / "specs" / "tiktok")))


def _service_url(name: str, default: str) -> str:
    """A provider's root URL: the real host unless set (the demo points these at its sandbox servers)."""
    value = (env_str(name, default) or "").rstrip("/")
    if not value.startswith(("https://", "http://")):
        raise ImproperlyConfigured(f"{name}={value!r}: use an http(s):// URL")
    return value


# Where the ordinary clients reach each provider (`make demo`: the sandbox servers on 127.0.0.1).
XERO_API_URL = _service_url("XERO_API_URL", "https://api.xero.com")
XERO_IDENTITY_URL = _service_url("XERO_IDENTITY_URL", "https://identity.xero.com")
TIKTOK_API_URL = _service_url("TIKTOK_API_URL", "https://open-api.tiktokglobalshop.com")
TIKTOK_AUTH_URL = _service_url("TIKTOK_AUTH_URL", "https://auth.tiktok-shops.com")
# Where a browser is sent to approve a connection (Connections page): Xero's login/consent host and
# TikTok Shop's services site (US sellers: https://services.us.tiktokshop.com).
XERO_LOGIN_URL = _service_url("XERO_LOGIN_URL", "https://login.xero.com")
TIKTOK_SERVICES_URL = _service_url("TIKTOK_SERVICES_URL", "https://services.tiktokshop.com")
# The apps LedgerSync connects as, offered on the Connections page (each can also be typed there;
# what is typed is stored, encrypted, on the connection). Secrets come only from the environment.
XERO_CLIENT_ID = env_str("XERO_CLIENT_ID", "") or ""
XERO_CLIENT_SECRET = env_str("XERO_CLIENT_SECRET", "") or ""
# offline_access for a refresh token; the accounting scopes posting and the settings refresh need.
XERO_SCOPES = (
    env_str("XERO_SCOPES", "offline_access accounting.transactions accounting.settings accounting.contacts")
    or ""
)
# The address users open LedgerSync at, when the request cannot tell (a TLS-terminating proxy):
# the Connections callbacks are built on it. Empty: taken from the request.
CONNECT_CALLBACK_BASE = (env_str("CONNECT_CALLBACK_BASE", "") or "").rstrip("/")
if CONNECT_CALLBACK_BASE and not CONNECT_CALLBACK_BASE.startswith(("https://", "http://")):
    raise ImproperlyConfigured(f"CONNECT_CALLBACK_BASE={CONNECT_CALLBACK_BASE!r}: use an http(s):// URL")
TIKTOK_APP_KEY = env_str("TIKTOK_APP_KEY", "") or ""
TIKTOK_APP_SECRET = env_str("TIKTOK_APP_SECRET", "") or ""
TIKTOK_SERVICE_ID = env_str("TIKTOK_SERVICE_ID", "") or ""
# How old (or how far ahead of our clock) a TikTok notification's signed `timestamp` may be
# (reconciliation/webhooks.py). The age must cover TikTok's retries of a delivery, which resend the
# same signed body and so the same timestamp: 72 hours is the retry period TikTok documents for
# its developer-platform webhooks; its Shop partner pages (behind a login) give none we could read.
TIKTOK_WEBHOOK_MAX_AGE = env_int("TIKTOK_WEBHOOK_MAX_AGE", 72 * 3600)
TIKTOK_WEBHOOK_MAX_AHEAD = env_int("TIKTOK_WEBHOOK_MAX_AHEAD", 300)

# Rate-limit storage shared by all workers: Redis when configured, otherwise this process only.
RATE_LIMIT_STORAGE = env_str("RATE_LIMIT_STORAGE", REDIS_URL or "memory://")
if not RATE_LIMIT_STORAGE.startswith(("memory://", "redis://", "rediss://", "redis+unix://")):
    raise ImproperlyConfigured(f"RATE_LIMIT_STORAGE={RATE_LIMIT_STORAGE!r}: use memory:// or a redis:// URL")

# Email (reconciliation/services/notifications.py): Django's own settings. Under DEBUG the console
# backend prints what would be sent; otherwise SMTP. The demo's users have no addresses: no mail.
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "LedgerSync <ledgersync@localhost>")
# Finance hears of new quarantined items at once, or (1) in one email a day (a django-q2 schedule).
QUARANTINE_EMAIL_DIGEST = env_bool("QUARANTINE_EMAIL_DIGEST", False)
# Where the admin is reached from outside, for the links in emails.
SITE_URL = (env_str("SITE_URL", "http://localhost:8000") or "").rstrip("/")

API_TOKEN_RATE = env_str("API_TOKEN_RATE", "10/minute")
if not re.fullmatch(r"[1-9][0-9]*/(s|m|h|d)[a-z]*", API_TOKEN_RATE or ""):
    raise ImproperlyConfigured(f"API_TOKEN_RATE={API_TOKEN_RATE!r}: use a count per period, e.g. 10/minute")

# The REST API (reconciliation/api/, README "REST API"): a token or the admin's session; every
# endpoint checks the caller's model permissions, reads included (view_*), so roles hold as in the admin.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["reconciliation.api.permissions.ModelPermissions"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "reconciliation.api.pagination.NewestFirst",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "COERCE_DECIMAL_TO_STRING": True,
    # POST /api/token/ trades a password for a token: slow enough that passwords cannot be guessed
    # at speed (per client address, per process with the default cache).
    "DEFAULT_THROTTLE_RATES": {"token": API_TOKEN_RATE},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "LedgerSync API",
    "DESCRIPTION": "Postings, HTTP attempts, exceptions, statements and payouts; finance decisions; "
    "Seller Center statement uploads. Money is a decimal string with its currency.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI from our own static files (drf-spectacular-sidecar), never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
    # httpx logs every URL at INFO, and TikTok's token endpoints carry the app secret and the
    # refresh token in the query string: never let those lines out, whatever LOG_LEVEL says.
    "loggers": {
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}
