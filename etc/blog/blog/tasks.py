"""Tasks of the demo: a quick one for round trips, a slow one for warm-shutdown tests."""
import os
import time

from celery import shared_task


@shared_task
def add(x, y):
    return x + y


@shared_task
def sleep(seconds):
    """Sleeps, then says who ran it: a warm shutdown lets it finish and store this."""
    time.sleep(seconds)
    return {"slept": seconds, "pid": os.getpid(), "uid": os.getuid()}
