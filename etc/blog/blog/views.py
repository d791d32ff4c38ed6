"""Views of the demo blog. Every answer says which process served it, so tests can
check the uid the service runs as and which gunicorn master the worker belongs to."""
import html
import json
import math
import os
import sys

from celery.result import AsyncResult
from django.http import HttpResponse, JsonResponse
from django.templatetags.static import static

from .celery import app as celery_app
from .tasks import add, sleep


def process_info(request=None):
    info = {
        "uid": os.getuid(),
        "gid": os.getgid(),
        "groups": sorted(os.getgroups()),
        "pid": os.getpid(),
        "ppid": os.getppid(),
        "euid": os.geteuid(),
        "egid": os.getegid(),
        # uvicorn.workers is imported only in gunicorn's UvicornWorker processes.
        "server": "uvicorn" if "uvicorn.workers" in sys.modules else "other",
    }
    if request is not None:
        info["interface"] = "asgi" if "asgi" in type(request).__module__ else "wsgi"
    return info


def index(request):
    info = json.dumps(process_info(request), indent=2)
    page = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>blog</title>
<link rel="stylesheet" href="{html.escape(static('blog/site.css'))}">
</head>
<body>
<h1>blog</h1>
<p>Served by gunicorn with uvicorn workers under superd. This process:</p>
<pre id="whoami">{html.escape(info)}</pre>
<p><a href="/whoami">/whoami</a> &middot; <a href="/task/add?x=2&amp;y=3">/task/add?x=2&amp;y=3</a>
&middot; <a href="/flower/">/flower/</a></p>
</body>
</html>
"""
    return HttpResponse(page)


def whoami(request):
    return JsonResponse(process_info(request))


def healthz(request):
    return JsonResponse({"ok": True})


def _number(request, name, kind):
    try:
        value = kind(request.GET[name])
    except (KeyError, ValueError):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def task_add(request):
    x, y = _number(request, "x", int), _number(request, "y", int)
    if x is None or y is None:
        return JsonResponse({"error": "x and y must be integers"}, status=400)
    return JsonResponse({"task_id": add.delay(x, y).id})


def task_sleep(request):
    seconds = _number(request, "seconds", float)
    if seconds is None or not 0 <= seconds <= 300:
        return JsonResponse({"error": "seconds must be a number in [0, 300]"}, status=400)
    return JsonResponse({"task_id": sleep.delay(seconds).id})


def task_result(request, task_id):
    result = AsyncResult(task_id, app=celery_app)
    state = result.state
    value = result.result
    if isinstance(value, BaseException):
        value = f"{type(value).__name__}: {value}"
    return JsonResponse({"task_id": task_id, "state": state, "result": value})
