"""Settings of the demo blog, read from the environment (superd passes `environment` and
`env_file`; nothing is inherited from the daemon).

  SECRET_KEY     required unless DEBUG is on
  DEBUG          "1"/"true" to turn it on; off by default
  ALLOWED_HOSTS  comma-separated; default "127.0.0.1,localhost" (add the site's name)
  REDIS_URL      Celery broker and result backend; default redis://127.0.0.1:6379/0
  STATIC_ROOT    where collectstatic puts files and nginx serves /static/ from;
                 default <project>/staticfiles

No database: the blog has no models, so there is nothing to migrate.
"""
import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def _env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _env_list(name, default):
    value = os.environ.get(name, default)
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = _env_bool("DEBUG")

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is not set (put it in the service's env_file)")
    SECRET_KEY = "insecure-debug-only-key"

ALLOWED_HOSTS = _env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")

INSTALLED_APPS = [
    "django.contrib.staticfiles",
    "blog",  # for blog/tasks.py (Celery autodiscovery)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]

ROOT_URLCONF = "blog.urls"
ASGI_APPLICATION = "blog.asgi.application"

DATABASES = {}
TEMPLATES = []

USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = False

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = os.environ.get("STATIC_ROOT") or str(BASE_DIR / "staticfiles")

# nginx terminates the client connection and says which scheme it used.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
USE_X_FORWARDED_HOST = False

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")

# Celery reads the CELERY_-prefixed names (blog/celery.py).
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TASK_TRACK_STARTED = True  # /task/<id> shows STARTED while a task runs
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_MAX_RETRIES = None  # wait for redis however long it takes

# Everything goes to stderr, which superd writes to the service's log.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {"django": {"handlers": ["console"], "level": "INFO", "propagate": False}},
}
