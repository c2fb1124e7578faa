"""Settings shared by every environment, read from the environment with django-environ.

Knobs: DATABASE_URL (default: SQLite file under var/), REDIS_URL (absent: Celery tasks run
in-process), SECRET_KEY, ALLOWED_HOSTS, FACTORY_BASE_DOMAIN (default: localhost), and the
tenant runtime's FACTORY_* knobs below.
"""

import os
from pathlib import Path
from typing import Any

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-key-change-me")
DEBUG = env.bool("DEBUG", default=False)
FACTORY_BASE_DOMAIN = env("FACTORY_BASE_DOMAIN", default="localhost")
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS",
    default=[FACTORY_BASE_DOMAIN, f".{FACTORY_BASE_DOMAIN}", "127.0.0.1", "testserver"],
)

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
    "crm",
    "factory",
    "factory.tenants",
    "factory.agents",
    "factory.pipeline",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before everything that resolves URLs: a tenant host gets its own URLconf.
    "factory.tenants.middleware.TenantHostMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "factory.tenants.middleware.TenantAccessMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "crm.kit.middleware.CurrentUserMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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

VAR_DIR.mkdir(exist_ok=True)
# WhiteNoise warns on every request when the static folder is missing (before collectstatic).
(VAR_DIR / "static").mkdir(exist_ok=True)
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"].setdefault("ATOMIC_REQUESTS", False)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Tenants (factory.tenants). Each process loads the apps of the live and preview releases
# once, at start, from the database (the source of truth), materialised in FACTORY_APPS_DIR;
# the registry is never re-populated later. The test runner's own process loads none (its
# test database does not exist yet when settings load); the subprocesses that deploys start
# set FACTORY_LOAD_TENANT_APPS=1.
FACTORY_APPS_DIR = Path(env("FACTORY_APPS_DIR", default=str(VAR_DIR / "tenant_apps")))
FACTORY_BACKUPS_DIR = Path(env("FACTORY_BACKUPS_DIR", default=str(VAR_DIR / "backups")))
FACTORY_CONSOLE_HOSTS = env.list("FACTORY_CONSOLE_HOSTS", default=["127.0.0.1", "testserver"])
FACTORY_DEPLOY_LOCK_TIMEOUT = env.float("FACTORY_DEPLOY_LOCK_TIMEOUT", default=600.0)
FACTORY_RELOAD_PIDFILES = env.list(
    "FACTORY_RELOAD_PIDFILES",
    default=[str(VAR_DIR / "run" / "gunicorn.pid"), str(VAR_DIR / "run" / "celery-worker.pid")],
)
FACTORY_RELOAD_CELERY_BROADCAST = env.bool("FACTORY_RELOAD_CELERY_BROADCAST", default=False)
FACTORY_RELEASE_BUILDER = env(
    "FACTORY_RELEASE_BUILDER", default="factory.tenants.building.release_artifacts_build"
)
FACTORY_LOAD_TENANT_APPS = env.bool(
    "FACTORY_LOAD_TENANT_APPS",
    default=os.environ.get("DJANGO_SETTINGS_MODULE") != "config.settings.test",
)
if FACTORY_LOAD_TENANT_APPS:
    from factory.tenants.runtime.bootstrap import tenant_apps_bootstrap

    FACTORY_TENANT_APPS = tenant_apps_bootstrap(
        database=DATABASES["default"], apps_dir=FACTORY_APPS_DIR
    )
else:
    FACTORY_TENANT_APPS = []
INSTALLED_APPS += FACTORY_TENANT_APPS

# A login on a tenant host needs a membership of that tenant; cookies stay host-only, so a
# session opened on acme.<domain> is never even sent to another tenant's host.
AUTHENTICATION_BACKENDS = ["factory.tenants.auth.TenantMembershipBackend"]
SESSION_COOKIE_DOMAIN = None
CSRF_COOKIE_DOMAIN = None

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

LOGIN_URL = "admin:login"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Tenant APIs take per-tenant API keys; user tokens open the console's API only.
        "factory.tenants.auth.TenantApiKeyAuthentication",
        "factory.tenants.auth.ConsoleTokenAuthentication",
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

SPECTACULAR_SETTINGS = {
    "TITLE": "CRM Factory API",
    "DESCRIPTION": "REST API of the base CRM: companies, contacts, deals, tasks, notes, tags.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and Redoc served from our own static files: the docs page works offline
    # and loads no third-party script.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Celery: with REDIS_URL a real broker and worker; without, tasks run in-process.
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = False
else:
    CELERY_BROKER_URL = "memory://"
    CELERY_RESULT_BACKEND = "cache+memory://"
    CELERY_TASK_ALWAYS_EAGER = True
    CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A task a worker took but never acknowledged (the worker died) goes back to the queue after
# this many seconds: keep it above the longest step (a release build).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
}
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", default="celery")
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}

# The currency a new money value takes when none is given.
CRM_DEFAULT_CURRENCY = env("CRM_DEFAULT_CURRENCY", default="EUR")

# Model providers and agent budgets (factory.llm, factory.agents). FACTORY_LLM_PROVIDER is
# openai (Responses API), anthropic (Messages API), openai_compatible (any server speaking
# Chat Completions at FACTORY_LLM_BASE_URL: Ollama, vLLM, llama.cpp) or replay (answers from
# the JSONL at FACTORY_LLM_REPLAY_PATH, never online). FACTORY_LLM_RECORD_PATH records every
# call of a live provider. Each role may use its own model (FACTORY_LLM_MODEL_<ROLE>).
FACTORY_LLM_PROVIDER = env("FACTORY_LLM_PROVIDER", default="openai")
FACTORY_LLM_MODEL = env("FACTORY_LLM_MODEL", default="")
FACTORY_LLM_ROLE_MODELS = {
    role: env(f"FACTORY_LLM_MODEL_{role.upper()}", default="")
    for role in (
        "analyst",
        "architect",
        "data_model",
        "process",
        "automations",
        "screens",
        "api_roles",
        "qa",
    )
}
OPENAI_API_KEY = env("OPENAI_API_KEY", default="")
ANTHROPIC_API_KEY = env("ANTHROPIC_API_KEY", default="")
FACTORY_LLM_BASE_URL = env("FACTORY_LLM_BASE_URL", default="")
FACTORY_LLM_API_KEY = env("FACTORY_LLM_API_KEY", default="")
FACTORY_LLM_TIMEOUT = env.float("FACTORY_LLM_TIMEOUT", default=120.0)
FACTORY_LLM_MAX_ATTEMPTS = env.int("FACTORY_LLM_MAX_ATTEMPTS", default=4)
FACTORY_LLM_MAX_OUTPUT_TOKENS = env.int("FACTORY_LLM_MAX_OUTPUT_TOKENS", default=4096)
FACTORY_LLM_RECORD_PATH = env("FACTORY_LLM_RECORD_PATH", default="")
FACTORY_LLM_REPLAY_PATH = env("FACTORY_LLM_REPLAY_PATH", default="")
# Per run; a run past one of them stops with status "budget". 0 for the cost: no money cap.
FACTORY_AGENT_MAX_TURNS = env.int("FACTORY_AGENT_MAX_TURNS", default=40)
FACTORY_AGENT_MAX_INPUT_TOKENS = env.int("FACTORY_AGENT_MAX_INPUT_TOKENS", default=600_000)
FACTORY_AGENT_MAX_OUTPUT_TOKENS = env.int("FACTORY_AGENT_MAX_OUTPUT_TOKENS", default=60_000)
FACTORY_AGENT_MAX_COST_USD = env("FACTORY_AGENT_MAX_COST_USD", default="2.00")
# Change requests (factory.pipeline): a request's budget across all its agent runs, and
# where new requests get their answers ({} = the provider above; {"kind": "replay",
# "path": ...} or {"kind": "scripted", "path": scenario.yaml} for offline setups and tests).
FACTORY_PIPELINE_MAX_COST_USD = env("FACTORY_PIPELINE_MAX_COST_USD", default="10.00")
FACTORY_PIPELINE_MAX_AGENT_RUNS = env.int("FACTORY_PIPELINE_MAX_AGENT_RUNS", default=60)
FACTORY_PIPELINE_PROVIDER = env.json("FACTORY_PIPELINE_PROVIDER", default={})
# USD per million tokens (input, output, cached input). Check against the vendors' price
# lists; FACTORY_LLM_PRICES_JSON ({"model": {"input": .., "output": ..}}) adds or overrides.
FACTORY_LLM_PRICES = {
    "gpt-5": {"input": "1.25", "output": "10.00", "cached_input": "0.125"},
    "gpt-5-mini": {"input": "0.25", "output": "2.00", "cached_input": "0.025"},
    "gpt-5-nano": {"input": "0.05", "output": "0.40", "cached_input": "0.005"},
    "gpt-4.1": {"input": "2.00", "output": "8.00", "cached_input": "0.50"},
    "gpt-4.1-mini": {"input": "0.40", "output": "1.60", "cached_input": "0.10"},
    "claude-sonnet-4-5": {"input": "3.00", "output": "15.00", "cached_input": "0.30"},
    "claude-sonnet-4-6": {"input": "3.00", "output": "15.00", "cached_input": "0.30"},
    "claude-haiku-4-5": {"input": "1.00", "output": "5.00", "cached_input": "0.10"},
    "claude-opus-4-5": {"input": "5.00", "output": "25.00", "cached_input": "0.50"},
    **env.json("FACTORY_LLM_PRICES_JSON", default={}),
}
