"""The Celery app of the blog: `/usr/bin/python3 -m celery -A blog worker`.

Configured from Django's settings, keys with the CELERY_ prefix (CELERY_BROKER_URL,
CELERY_RESULT_BACKEND, ...); tasks are found in the `tasks` module of installed apps.
"""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blog.settings")

app = Celery("blog")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
