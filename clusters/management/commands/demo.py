"""`manage.py demo`: the demo learner and cluster that `make run` opens with, and its kubeconfig."""
from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from clusters import actions, selectors

DEMO_USER = "demo"
DEMO_CLUSTER = "demo"


class Command(BaseCommand):
    help = "Create the demo user and cluster if missing and write var/demo.kubeconfig."

    def handle(self, *args, **options):
        owner = actions.user_get_or_create(username=DEMO_USER)
        if not owner.has_usable_password():
            owner.set_password(DEMO_USER)
            owner.save(update_fields=["password"])
        cluster = selectors.cluster_by_name(username=DEMO_USER, name=DEMO_CLUSTER)
        if cluster is None:
            cluster = actions.cluster_create(owner=owner, name=DEMO_CLUSTER)
        path = settings.VAR_DIR / "demo.kubeconfig"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or f"/clusters/{cluster.pk}" not in path.read_text():
            path.write_text(actions.cluster_kubeconfig(cluster=cluster))
            path.chmod(0o600)
        self.stdout.write(f"Demo cluster ready. In another shell:\n"
                          f"  export KUBECONFIG={path}\n"
                          f"  .venv/bin/kubectl get nodes")
