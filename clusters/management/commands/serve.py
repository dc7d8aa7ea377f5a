"""`manage.py serve`: one daphne process, the page over HTTP and the Kubernetes API over HTTPS."""
from __future__ import annotations

import logging

from django.conf import settings
from django.core.management.base import BaseCommand


def _escape(value: str) -> str:
    """Twisted endpoint strings use ':' as a separator."""
    return str(value).replace("\\", "\\\\").replace(":", "\\:")


class Command(BaseCommand):
    help = "Serve the playground: the browser over HTTP and the Kubernetes API over HTTPS (own CA)."

    def add_arguments(self, parser):
        conf = settings.PLAYGROUND
        parser.add_argument("--http-port", type=int, default=conf["HTTP_PORT"])
        parser.add_argument("--api-port", type=int, default=conf["API_PORT"])
        parser.add_argument("--bind", default="127.0.0.1",
                            help="address to listen on (0.0.0.0 for a classroom server)")

    def handle(self, *args, http_port: int, api_port: int, bind: str, **options):
        # daphne.server installs Twisted's asyncio reactor on import: it must come first.
        from daphne.server import Server

        from clusters.config import serving_files
        from playground.asgi import application

        files = serving_files()
        # The browser terminal's kubectl reaches the API on this port (clusters/terminal/sandbox.py), and the
        # kubeconfigs the page hands out name it (clusters/web/views.py) unless API_SERVER_URL says otherwise.
        settings.PLAYGROUND["SERVED_API_PORT"] = api_port
        settings.PLAYGROUND["API_PORT"] = api_port
        settings.PLAYGROUND["SERVED_API_BIND"] = bind
        interface = _escape(bind.strip("[]"))
        endpoints = [
            f"tcp:port={http_port}:interface={interface}",
            f"ssl:port={api_port}:interface={interface}:privateKey={_escape(files.key)}"
            f":certKey={_escape(files.cert)}",
        ]
        shown = f"[{bind}]" if ":" in bind else bind
        self.stdout.write(f"Kubernetes Playground: page http://{shown}:{http_port}/ , "
                          f"Kubernetes API https://{shown}:{api_port}/clusters/<id>")
        logging.getLogger("daphne").setLevel(logging.WARNING)
        from clusters.sim.runner import celery_mode, embedded_runner

        def ready() -> None:
            if not celery_mode():
                # Embedded mode: this process runs the control loops too (no Redis, no Celery).
                import asyncio

                asyncio.ensure_future(embedded_runner().run())

        if celery_mode():
            self.stdout.write("Control loops: Celery workers (REDIS_URL is set); start a worker and beat.")
        Server(application=application, endpoints=endpoints, verbosity=options.get("verbosity", 1) - 1,
               action_logger=None, ready_callable=ready).run()
