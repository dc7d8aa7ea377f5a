"""`manage.py serve`: daphne, the page over HTTP and the Kubernetes API over HTTPS.

One process by default. `--processes K` (classroom mode) starts K processes listening on the same ports
(SO_REUSEPORT: the kernel spreads the connections among them), so the web side of a class uses more than
the one core a Python process can: every process reads and writes the same database and hears the same
Redis channel layer, so any of them may serve any learner's request, page or watch.
"""
from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

# Set for the processes a `serve --processes K` starts besides itself.
_SIBLING = "PLAYGROUND_SERVE_SIBLING"
_PR_SET_PDEATHSIG = 1
LISTEN_BACKLOG = 1024
SIBLING_STOP_SECONDS = 10


def _escape(value: str) -> str:
    """Twisted endpoint strings use ':' as a separator."""
    return str(value).replace("\\", "\\\\").replace(":", "\\:")


def _share_listening_ports() -> None:
    """Every listening socket Twisted makes from now on takes SO_REUSEPORT, so that the processes of one
    `serve --processes K` can all listen on the same ports (Twisted's endpoints have no such option)."""
    from twisted.internet import tcp

    create = tcp.Port.createInternetSocket

    def create_shared(port):
        sock = create(port)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        return sock

    tcp.Port.createInternetSocket = create_shared


def _die_with_parent() -> None:
    """In a sibling, before exec: it gets SIGTERM when the `serve` that started it ends, however it ends."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


class Command(BaseCommand):
    help = "Serve the playground: the browser over HTTP and the Kubernetes API over HTTPS (own CA)."

    def add_arguments(self, parser):
        conf = settings.PLAYGROUND
        parser.add_argument("--http-port", type=int, default=conf["HTTP_PORT"])
        parser.add_argument("--api-port", type=int, default=conf["API_PORT"])
        parser.add_argument("--bind", default="127.0.0.1",
                            help="address to listen on (0.0.0.0 for a classroom server)")
        parser.add_argument("--processes", type=int, default=conf["SERVE_PROCESSES"],
                            help="server processes sharing the ports (classroom mode only; default "
                                 "PLAYGROUND_SERVE_PROCESSES or 1)")

    def handle(self, *args, http_port: int, api_port: int, bind: str, processes: int, **options):
        from clusters.sim.runner import celery_mode

        if processes < 1:
            raise CommandError("--processes must be at least 1")
        if processes > 1 and not celery_mode():
            raise CommandError("--processes above 1 needs classroom mode (REDIS_URL set): in embedded mode the "
                               "one server process runs the control loops too")
        # daphne.server installs Twisted's asyncio reactor on import: it must come first.
        from daphne.server import Server

        from clusters.config import pool_database_connections, serving_files
        from playground.asgi import application

        pool_database_connections()
        from playground.gc_tuning import tune_garbage_collector

        tune_garbage_collector()   # what exists now (Django, the URL patterns, the app) is long-lived
        files = serving_files()   # made before the siblings start, so that they all serve the same
        # The browser terminal's kubectl reaches the API on this port (clusters/terminal/sandbox.py), and the
        # kubeconfigs the page hands out name it (clusters/web/views.py) unless API_SERVER_URL says otherwise.
        settings.PLAYGROUND["SERVED_API_PORT"] = api_port
        settings.PLAYGROUND["API_PORT"] = api_port
        settings.PLAYGROUND["SERVED_API_BIND"] = bind
        settings.PLAYGROUND["SERVE_PROCESSES"] = processes
        interface = _escape(bind.strip("[]"))
        # A class opening its pages at once connects faster than Twisted's default backlog of 50 is served:
        # the connections beyond it would wait for the client's SYN retry (a second or more).
        endpoints = [
            f"tcp:port={http_port}:interface={interface}:backlog={LISTEN_BACKLOG}",
            f"ssl:port={api_port}:interface={interface}:backlog={LISTEN_BACKLOG}:privateKey={_escape(files.key)}"
            f":certKey={_escape(files.cert)}",
        ]
        sibling = bool(os.environ.get(_SIBLING))
        if processes > 1 or sibling:
            _share_listening_ports()
        if not sibling:
            shown = f"[{bind}]" if ":" in bind else bind
            self.stdout.write(f"Kubernetes Playground: page http://{shown}:{http_port}/ , "
                              f"Kubernetes API https://{shown}:{api_port}/clusters/<id>"
                              + (f" ({processes} processes)" if processes > 1 else ""))
            if celery_mode():
                self.stdout.write("Control loops: Celery workers (REDIS_URL is set); start a worker and beat.")
        logging.getLogger("daphne").setLevel(logging.WARNING)
        siblings = [] if sibling else [
            subprocess.Popen([sys.executable, *sys.argv[:2], "--http-port", str(http_port), "--api-port", str(api_port),
                              "--bind", bind, "--processes", str(processes)],
                             env={**os.environ, _SIBLING: "1"}, preexec_fn=_die_with_parent)
            for _ in range(processes - 1)]

        def ready() -> None:
            if not celery_mode():
                # Embedded mode: this process runs the control loops too (no Redis, no Celery).
                import asyncio

                from clusters.sim.runner import embedded_runner

                asyncio.ensure_future(embedded_runner().run())

        try:
            Server(application=application, endpoints=endpoints, verbosity=options.get("verbosity", 1) - 1,
                   action_logger=None, ready_callable=ready).run()
        finally:
            for process in siblings:
                process.terminate()
            for process in siblings:
                try:
                    process.wait(SIBLING_STOP_SECONDS)
                except subprocess.TimeoutExpired:
                    process.kill()
        # The event loop has stopped: work a thread still holds for it (a wake-up to publish through the
        # channel layer, say) can never finish, and the interpreter's exit would wait for that thread for
        # ever, keeping the ports. What was committed is committed; leave now.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
