"""gunicorn worker class for the blog: uvicorn's, with a graceful shutdown that answers
every request it has taken in.

    gunicorn -k asgi_worker.UvicornWorker blog.asgi:application

uvicorn (0.17 in Debian 12, and later versions alike) starts a graceful shutdown by
closing its listening socket, then at once closes every connection that has no request
in progress. A connection it has accepted but whose request it has not read yet looks
the same: its client sees the connection closed without an answer. Under superd's
start-new-first restart (etc/super.toml) the old master's workers are stopped while
clients keep connecting to the socket they share with the new master, and the last few
connections an old worker accepted were lost that way: 4 of 2841 requests straight at
the port in one restart under load (tests/e2e). nginx hid it by retrying on a reset.

Here the listening socket is closed first, as before; then each connection that has not
been answered a single time gets its first request read and answered, keep-alive off,
within FIRST_REQUEST_GRACE seconds of the shutdown; only then does uvicorn's shutdown go
on, closing the connections that are idle between requests (keep-alive) as it always did.
A client that connects and never sends anything is closed after the grace.
"""
import asyncio
import sys

from gunicorn.arbiter import Arbiter
from uvicorn.config import HTTP_PROTOCOLS
from uvicorn.importer import import_from_string
from uvicorn.main import Server
from uvicorn.workers import UvicornWorker as _UvicornWorker

FIRST_REQUEST_GRACE = 5.0   # s; well within gunicorn's --graceful-timeout


def _counting(protocol_class):
    """protocol_class, counting the responses it has completed on its connection."""

    class Counting(protocol_class):
        responses_done = 0

        def on_response_complete(self):
            self.responses_done += 1
            super().on_response_complete()

    Counting.__name__ = Counting.__qualname__ = f"Counting{protocol_class.__name__}"
    return Counting


class _DrainingServer(Server):
    async def shutdown(self, sockets=None):
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for server in self.servers:
            await server.wait_closed()
        # Nothing new comes in now. Connections taken in but never answered wait for their
        # request (already in flight, as a rule), which then runs with keep-alive off.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + FIRST_REQUEST_GRACE
        while loop.time() < deadline and not self.force_exit and any(
                getattr(c, "cycle", None) is None and getattr(c, "responses_done", 1) == 0
                for c in self.server_state.connections):
            await asyncio.sleep(0.005)
        await super().shutdown(sockets=[])


class UvicornWorker(_UvicornWorker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The protocol uvicorn would pick ("auto": httptools if installed, else h11), made
        # to count its responses. uvicorn.Config.load takes a class in `http` as is.
        http = self.config.http
        base = import_from_string(HTTP_PROTOCOLS[http]) if isinstance(http, str) else http
        self.config.http = _counting(base)

    async def _serve(self):  # uvicorn.workers.UvicornWorker._serve, with the server above
        self.config.app = self.wsgi
        server = _DrainingServer(config=self.config)
        await server.serve(sockets=self.sockets)
        if not server.started:
            sys.exit(Arbiter.WORKER_BOOT_ERROR)


__all__ = ("UvicornWorker",)
