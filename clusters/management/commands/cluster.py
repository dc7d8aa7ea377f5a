"""`manage.py cluster create|list|delete|kubeconfig`: clusters for operators and scripts."""
from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from clusters import selectors, services


class Command(BaseCommand):
    help = "Create, list and delete simulated clusters; print kubeconfigs."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create USER's cluster NAME (creates the user if missing)")
        create.add_argument("user")
        create.add_argument("name")
        create.add_argument("--nodes", type=int, default=services.DEFAULT_WORKERS,
                            help="worker nodes besides the control plane (default 2)")
        create.add_argument("--kubeconfig", type=Path, help="also write a kubeconfig for it to this file")
        create.add_argument("--server", help="API URL for the kubeconfig, e.g. https://host:6443")
        sub.add_parser("list", help="list all clusters")
        delete = sub.add_parser("delete", help="delete USER's cluster NAME")
        delete.add_argument("user")
        delete.add_argument("name")
        kubeconfig = sub.add_parser("kubeconfig", help="print a kubeconfig (with a new token) for a cluster")
        kubeconfig.add_argument("user")
        kubeconfig.add_argument("name")
        kubeconfig.add_argument("--server", help="API URL, e.g. https://host:6443 (the cluster path is appended)")

    def handle(self, *args, action: str, **options):
        getattr(self, f"do_{action}")(**options)

    def _cluster(self, user: str, name: str):
        cluster = selectors.cluster_by_name(username=user, name=name)
        if cluster is None:
            raise CommandError(f'{user} has no cluster named "{name}"')
        return cluster

    def do_create(self, *, user: str, name: str, nodes: int, kubeconfig: Path | None, server: str | None, **_):
        owner = services.user_get_or_create(username=user)
        try:
            cluster = services.cluster_create(owner=owner, name=name, workers=nodes)
        except services.ClusterError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"cluster {user}/{name} created: {cluster.pk} (1 control-plane + {nodes} workers)")
        if kubeconfig:
            kubeconfig.parent.mkdir(parents=True, exist_ok=True)
            kubeconfig.write_text(services.cluster_kubeconfig(cluster=cluster, server=server))
            kubeconfig.chmod(0o600)
            self.stdout.write(f"kubeconfig written to {kubeconfig}")

    def do_list(self, **_):
        rows = [("USER", "NAME", "ID", "OBJECTS", "RESOURCEVERSION", "CREATED")]
        for cluster in selectors.clusters_all():
            rows.append((cluster.owner.username, cluster.name, str(cluster.pk),
                         str(selectors.object_count(cluster)), str(cluster.resource_version),
                         cluster.created.strftime("%Y-%m-%d %H:%M")))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for row in rows:
            self.stdout.write("   ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())

    def do_delete(self, *, user: str, name: str, **_):
        services.cluster_delete(cluster=self._cluster(user, name))
        self.stdout.write(f"cluster {user}/{name} deleted")

    def do_kubeconfig(self, *, user: str, name: str, server: str | None, **_):
        self.stdout.write(services.cluster_kubeconfig(cluster=self._cluster(user, name), server=server), ending="")
