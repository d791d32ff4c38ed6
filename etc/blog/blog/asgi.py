"""ASGI entry point: gunicorn -k asgi_worker.UvicornWorker blog.asgi:application."""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blog.settings")

application = get_asgi_application()

# Warm up before the worker says it is ready. Django loads the database layer (every
# request's request_started/finished handlers touch `connections`) and the URLconf with
# the views only on the first request: ~50-90 ms of imports, here. superd's readiness for
# a restart is uvicorn's "Application startup complete" (etc/super.toml), printed after
# this module is imported. Without this, a new worker's first requests waited for those
# imports while the old master was already leaving (a 120-260 ms stall per restart under
# load, tests/bench/zero_downtime); and a release whose views do not import now fails
# at boot, so superd keeps the old master, instead of going live and answering 500.
from django.db import connections  # noqa: E402
from django.urls import get_resolver  # noqa: E402

connections.all()
get_resolver().resolve("/")
