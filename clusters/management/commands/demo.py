"""`manage.py demo`: the demo learner and cluster that `make run` opens with, and its kubeconfig.

The kubeconfig names the API port `serve` will listen on: `make run` passes the same --api-port to both.
"""
from __future__ import annotations

import yaml
from django.conf import settings
from django.core.management.base import BaseCommand

from clusters import actions, selectors
from clusters.config import api_server_url

DEMO_USER = "demo"
DEMO_CLUSTER = "demo"


class Command(BaseCommand):
    help = "Create the demo user and cluster if missing and write var/demo.kubeconfig."

    def add_arguments(self, parser):
        parser.add_argument("--api-port", type=int, default=settings.PLAYGROUND["API_PORT"],
                            help="the port `manage.py serve --api-port` listens on (default: PLAYGROUND_API_PORT)")

    def handle(self, *args, api_port: int, **options):
        owner = actions.user_get_or_create(username=DEMO_USER)
        if not owner.has_usable_password():
            owner.set_password(DEMO_USER)
            owner.save(update_fields=["password"])
        cluster = selectors.cluster_by_name(username=DEMO_USER, name=DEMO_CLUSTER)
        if cluster is None:
            cluster = actions.cluster_create(owner=owner, name=DEMO_CLUSTER)
        server = _server(api_port)
        path = settings.VAR_DIR / "demo.kubeconfig"
        path.parent.mkdir(parents=True, exist_ok=True)
        if _named_server(path) != f"{server}/clusters/{cluster.pk}":
            path.write_text(actions.cluster_kubeconfig(cluster=cluster, server=server))
            path.chmod(0o600)
        self.stdout.write(f"Demo cluster ready. In another shell:\n"
                          f"  export KUBECONFIG={path}\n"
                          f"  .venv/bin/kubectl get nodes")


def _server(api_port: int) -> str:
    """The API's URL on `api_port`; an operator's PLAYGROUND_API_SERVER_URL (a proxy in front) wins."""
    conf = settings.PLAYGROUND
    if conf["API_SERVER_URL"]:
        return api_server_url()
    host = conf["PUBLIC_HOSTS"][0] if conf["PUBLIC_HOSTS"] else "127.0.0.1"
    return f"https://{host}:{api_port}"


def _named_server(path) -> str | None:
    """The server an existing kubeconfig names (None: no file, or not one this command wrote)."""
    try:
        return yaml.safe_load(path.read_text())["clusters"][0]["cluster"]["server"]
    except (OSError, yaml.YAMLError, KeyError, IndexError, TypeError):
        return None
