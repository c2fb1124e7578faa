"""Settings of the scratch project in which the sandbox checks compiled apps.

The compiled apps come from ``FACTORY_SANDBOX_APPS`` (comma-separated labels of packages
found in ``FACTORY_SANDBOX_APPS_DIR``), the database from ``FACTORY_SANDBOX_DATABASE_URL``
and the scratch folder from ``FACTORY_SANDBOX_DIR``. Beside them the base ``crm`` app is
installed (the kit's templates live there, and tenant apps always run next to it).

These settings cannot import ``config.settings``: the project's settings load the factory's
own apps, and in the scratch process ``factory`` is factory-boy. The knobs generated code
depends on (authentication, API defaults, middleware, templates) therefore mirror
``config.settings.base``; a test keeps the two in step.
"""

import os
from pathlib import Path

import environ

SANDBOX_DIR = Path(os.environ["FACTORY_SANDBOX_DIR"])
SANDBOX_APPS = [label for label in os.environ.get("FACTORY_SANDBOX_APPS", "").split(",") if label]

SECRET_KEY = "sandbox-only-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]

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
    "crm",
    *SANDBOX_APPS,
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "crm.kit.middleware.CurrentUserMiddleware",
]

ROOT_URLCONF = "sandbox_urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

DATABASES = {
    "default": environ.Env.db_url_config(
        os.environ.get("FACTORY_SANDBOX_DATABASE_URL", f"sqlite:///{SANDBOX_DIR / 'db.sqlite3'}")
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
MEDIA_URL = "media/"
MEDIA_ROOT = SANDBOX_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

LOGIN_URL = "admin:login"

# The project's tenant API keys and console tokens belong to the factory's apps; here
# DRF's own token and the session stand in for them.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["crm.kit.permissions.ModelPermissions"],
    "DEFAULT_PAGINATION_CLASS": "crm.kit.pagination.RecordPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

CRM_DEFAULT_CURRENCY = "EUR"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
