"""Settings, read from the environment (django-environ); a bad value fails loudly.

Development defaults apply only when SESAME_DEV=1 (set by the Makefile for `make run` and
`make test`); anywhere else SECRET_KEY, ALLOWED_HOSTS and DATABASE_URL must be given.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
DEV = env.bool("SESAME_DEV", default=False)

# Off unless asked for, `make run` included: Django's debug pages list every URL pattern and the
# settings, in English; the portal's own error pages show instead (static files are served by
# WhiteNoise from the finders in development either way).
DEBUG = env.bool("DEBUG", default=False)
if DEV:
    SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-do-not-use-in-production")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
else:
    SECRET_KEY = env.str("SECRET_KEY")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters long")

SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework_api_key",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_htmx",
    "pgtrigger",
    "pghistory",
    "pghistory.admin",
    "dsfr",
    "widget_tweaks",
    "sesame.apps.SesameConfig",
    "tracking.apps.TrackingConfig",
    "appointments.apps.AppointmentsConfig",
    "dossier.apps.DossierConfig",
    "notifications.apps.NotificationsConfig",
    "gun.apps.GunConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "pghistory.middleware.HistoryMiddleware",
    "sesame.middleware.AgentSecondFactorMiddleware",
    "sesame.api.throttling.RateLimitHeadersMiddleware",
    "sesame.errors.MethodNotAllowedMiddleware",
]

ROOT_URLCONF = "sesame.urls"
WSGI_APPLICATION = "sesame.wsgi.application"
ASGI_APPLICATION = "sesame.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "sesame.context_processors.portal",
            ],
        },
    },
]

# --- Data ---------------------------------------------------------------------------------
if DEV:
    DATABASES = {
        "default": env.db("DATABASE_URL", default="postgres://sesame:sesame@127.0.0.1:54329/sesame")
    }
else:
    DATABASES = {"default": env.db("DATABASE_URL")}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL (postgres://...)")
# Persistent connections for the sync workers (gunicorn); checked before reuse.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# One plan per prepared statement (sesame/prepared.py: the hot paths' fixed-shape SQL, written
# for generic plans); nothing else is prepared, so nothing else is affected.
DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c plan_cache_mode=force_generic_plan"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:63799/0" if DEV else None)
if not REDIS_URL:
    raise ImproperlyConfigured("REDIS_URL is required")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="sesame"),
    }
}
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# --- Celery -------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# A task is acknowledged once done: a worker that dies mid-task leaves it for another one.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY", 300)}
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULE: dict = {}
CELERY_TIMEZONE = "Europe/Paris"

# --- People -------------------------------------------------------------------------------
AUTH_USER_MODEL = "sesame.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_ADAPTER = "sesame.adapters.AccountAdapter"
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_LOGOUT_ON_GET = False
# Failed sign-ins are throttled per account and per network address, separately (allauth,
# counted in Redis; sesame.adapters refuses before counting and says how long to wait).
ACCOUNT_RATE_LIMITS = {
    "login_failed": env.str("LOGIN_FAILED_RATE", default="5/5m/key,30/15m/ip"),
    "login": env.str("LOGIN_RATE", default="120/m/ip"),
}
# The client's address is the last one the front (nginx) adds to X-Forwarded-For; without the
# header (a request straight to the web server), the connection's address.
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=1)
# An invitation to join a company is valid this long (sesame.services.invitation_create).
INVITATION_TTL_DAYS = env.int("INVITATION_TTL_DAYS", default=7)
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Sesame"

# --- Internationalisation -----------------------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

# --- Static -------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=DEV)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEV
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Mail, SMS ----------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url(
    "EMAIL_URL", default="consolemail://" if DEV else "smtp://localhost:25"
)
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Sesame <no-reply@sesame.localhost>")
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="AC" + "0" * 32)
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="dev-token" if DEV else "")
TWILIO_FROM_NUMBER = env.str("TWILIO_FROM_NUMBER", default="+33700000000")
# Where the twilio client sends its requests; empty means Twilio itself.
TWILIO_BASE_URL = env.str("TWILIO_BASE_URL", default="")

# --- API ----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["sesame.api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["sesame.api.permissions.HasApiKey"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["sesame.api.parsers.BoundedJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "sesame.api.schema.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "sesame.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "sesame.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_THROTTLE_RATES": {"api": env.str("API_THROTTLE_RATE", default="6000/min")},
    # Per key, in Redis; a view's throttle_scope adds its own rate (sesame.api.throttling).
    "DEFAULT_THROTTLE_CLASSES": ["sesame.api.throttling.KeyRateThrottle"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Sesame API",
    "DESCRIPTION": "Border single-window portal: GUN declarations, partner documents, tracking.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "ENUM_NAME_OVERRIDES": {
        "EventTypeEnum": "notifications.feed.types.TYPE_CHOICES",
        "WebhookDeliveryStatusEnum": "notifications.webhooks.models.DeliveryState",
        "DocumentTypeEnum": "dossier.types.TYPE_CHOICES",
        "ConsignmentStatusEnum": "tracking.models.Status",
        "EventKindEnum": "tracking.kinds.KIND_CHOICES",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "sesame.api.schema.strict_request_bodies",
        "sesame.api.schema.blank_apart",
        "sesame.api.schema.openapi_links",
    ],
    # Swagger UI and ReDoc served by the portal itself (drf-spectacular-sidecar), no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
}
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=1_048_576)
# The API's robustness layer (docs/api.md): a request id on every response, Idempotency-Key on
# every POST and PATCH, JSON nested at most this deep, an idempotency claim's lease (seconds).
MIDDLEWARE.insert(0, "sesame.api.request_id.RequestIdMiddleware")
MIDDLEWARE.append("sesame.api.middleware.IdempotencyMiddleware")
MIDDLEWARE.append("sesame.api.middleware.NoBodyMiddleware")
API_JSON_MAX_DEPTH = env.int("API_JSON_MAX_DEPTH", default=32)
API_IDEMPOTENCY_LEASE = env.int("API_IDEMPOTENCY_LEASE", default=60)
CELERY_BEAT_SCHEDULE["sesame.idempotency_purge"] = {
    "task": "sesame.idempotency_purge",
    "schedule": 3600.0,
}

# --- Webhooks (notifications.webhooks; delivery tunables in notifications/webhooks/conf.py) --
# Private, loopback and link-local destinations: refused unless allowed (development, tests).
WEBHOOK_ALLOW_PRIVATE_URLS = env.bool("WEBHOOK_ALLOW_PRIVATE_URLS", default=False)
WEBHOOK_HTTPS_ONLY = env.bool("WEBHOOK_HTTPS_ONLY", default=not DEV)
# Fernet keys that encrypt the signing secrets (first encrypts); default: derived from SECRET_KEY.
WEBHOOK_SECRET_KEYS = env.list("WEBHOOK_SECRET_KEYS", default=[])

# --- Audit --------------------------------------------------------------------------------
PGHISTORY_DEFAULT_TRACKERS = None  # each model says what it tracks (sesame.audit)
PGHISTORY_MIDDLEWARE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
PGHISTORY_APPEND_ONLY = True

# --- Security -----------------------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEV)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEV)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEV)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEV else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEV
SECURE_HSTS_PRELOAD = not DEV
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "sesame.errors.csrf_failure"
# Content-Security-Policy on every response, pages and API (django-csp): scripts only from the
# portal's own static files, never inline; the API docs add what their bundles need
# (sesame.urls). `data:` images: the DSFR icons and the TOTP QR code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
    "loggers": {"sesame": {"level": env.str("LOG_LEVEL", default="INFO")}},
}
# The GUN's anticipation (register, replace) and validation, rectification, per API key
# (gun.api.views._Throttled, counted by sesame.api.throttling);
# "none" lifts a limit (the benchmarks measure capacity, not the quota).
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].update(  # type: ignore[attr-defined]
    {
        scope: None if rate.lower() == "none" else rate
        for scope, rate in (
            ("gun_anticipation", env.str("GUN_ANTICIPATION_RATE", default="120/min")),
            ("gun_validation", env.str("GUN_VALIDATION_RATE", default="120/min")),
        )
    }
)
# The mandates' representation kinds get their own name in the OpenAPI schema.
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {})[  # type: ignore[index]
    "MandateKindEnum"
] = "gun.models.MandateKind"
# How a GUN validation reaches PostgreSQL (gun/sql.py): "prepared" (server-side prepared
# statements, five round trips) or "orm" (no prepared statement, e.g. behind a pooler in
# transaction mode), or the dotted path of a store.
GUN_VALIDATION_STORE = env.str("GUN_VALIDATION_STORE", default="prepared")

# --- Appointments -------------------------------------------------------------------------
# How long a booking waits for a slot row another booking holds before answering 409 busy.
APPOINTMENTS_LOCK_TIMEOUT_MS = env.int("APPOINTMENTS_LOCK_TIMEOUT_MS", default=5000)
CELERY_BEAT_SCHEDULE["appointments: reminders"] = {
    "task": "appointments.reminders",
    "schedule": 120.0,
}
CELERY_BEAT_SCHEDULE["appointments: waitlist expiries and offers"] = {
    "task": "appointments.waitlist_sweep",
    "schedule": 60.0,
}

# --- Import dossier -----------------------------------------------------------------------
# Where the documents' bytes live: the file system (default) or an S3-compatible store.
DOSSIER_STORAGE = env.str("DOSSIER_STORAGE", default="filesystem")
if DOSSIER_STORAGE not in ("filesystem", "s3"):
    raise ImproperlyConfigured("DOSSIER_STORAGE must be 'filesystem' or 's3'")
DOSSIER_FILES_ROOT = env.str(
    "DOSSIER_FILES_ROOT",
    default=str(BASE_DIR / ".local" / "dossier") if DEV else "/var/lib/sesame/dossier",
)
if DOSSIER_STORAGE == "s3":
    STORAGES["dossier"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {  # type: ignore[dict-item]
            "bucket_name": env.str("DOSSIER_S3_BUCKET"),
            "endpoint_url": env.str("DOSSIER_S3_ENDPOINT_URL", default=None),
            "region_name": env.str("DOSSIER_S3_REGION", default=None),
            "access_key": env.str("DOSSIER_S3_ACCESS_KEY_ID", default=None),
            "secret_key": env.str("DOSSIER_S3_SECRET_ACCESS_KEY", default=None),
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
else:
    STORAGES["dossier"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": DOSSIER_FILES_ROOT, "base_url": None},  # type: ignore[dict-item]
    }
# With the file system, nginx sends the bytes (X-Accel-Redirect to this internal location of
# the front, deploy/nginx.conf.template) once Django has checked access; empty: Django streams.
DOSSIER_ACCEL_PREFIX = env.str("DOSSIER_ACCEL_PREFIX", default="/_dossier_files/")
DOSSIER_MAX_UPLOAD_BYTES = env.int("DOSSIER_MAX_UPLOAD_BYTES", default=20 * 1024 * 1024)
# Uploads are written to disk as they arrive (never whole in memory), here ("" = the system's).
FILE_UPLOAD_TEMP_DIR = env.str("FILE_UPLOAD_TEMP_DIR", default="") or None
# Ed25519 key signing dossier exports: PEM text, or a file; generated into .local/ in development.
DOSSIER_SIGNING_KEY = env.str("DOSSIER_SIGNING_KEY", default="")
DOSSIER_SIGNING_KEY_FILE = env.str(
    "DOSSIER_SIGNING_KEY_FILE",
    default=str(BASE_DIR / ".local" / "dossier-signing-key.pem") if DEV else "",
)
CELERY_BEAT_SCHEDULE["dossier-retention-purge"] = {
    "task": "dossier.retention_purge",
    "schedule": env.int("DOSSIER_PURGE_SECONDS", default=6 * 3600),
}
CELERY_BEAT_SCHEDULE["dossier-generation-sweep"] = {
    "task": "dossier.generation_sweep",
    "schedule": 60.0,
}

# Every log line names its request (sesame.api.request_id).
LOGGING["filters"] = {"request_id": {"()": "sesame.api.request_id.RequestIdFilter"}}
LOGGING["formatters"] = {
    "request": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
}
LOGGING["handlers"] = {
    "console": {
        "class": "logging.StreamHandler",
        "filters": ["request_id"],
        "formatter": "request",
    }
}
