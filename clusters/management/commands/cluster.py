"""`manage.py cluster create|list|delete|kubeconfig|clock|node|idle|purge`: clusters for operators and scripts."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from clusters import actions, selectors


class Command(BaseCommand):
    help = "Create, list and delete simulated clusters; print kubeconfigs."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create USER's cluster NAME (creates the user if missing)")
        create.add_argument("user")
        create.add_argument("name")
        create.add_argument("--nodes", type=int, default=actions.DEFAULT_WORKERS,
                            help="worker nodes besides the control plane (default 2)")
        create.add_argument("--kubeconfig", type=Path, help="also write a kubeconfig for it to this file")
        create.add_argument("--server", help="API URL for the kubeconfig, e.g. https://host:6443")
        create.add_argument("--speed", type=float, default=1.0, help="simulated seconds per second (1-60)")
        clock = sub.add_parser("clock", help="change a cluster's simulated clock")
        clock.add_argument("user")
        clock.add_argument("name")
        what = clock.add_mutually_exclusive_group(required=True)
        what.add_argument("--speed", type=float, help="simulated seconds per real second (1-60)")
        what.add_argument("--pause", action="store_true")
        what.add_argument("--resume", action="store_true")
        what.add_argument("--advance", type=float, metavar="SECONDS", help="jump the clock ahead")
        node = sub.add_parser("node", help="fail or recover a node (its kubelet stops/resumes posting status)")
        node.add_argument("user")
        node.add_argument("name")
        node.add_argument("node")
        state = node.add_mutually_exclusive_group(required=True)
        state.add_argument("--fail", action="store_true")
        state.add_argument("--recover", action="store_true")
        sub.add_parser("list", help="list all clusters")
        delete = sub.add_parser("delete", help="delete USER's cluster NAME")
        delete.add_argument("user")
        delete.add_argument("name")
        kubeconfig = sub.add_parser("kubeconfig", help="print a kubeconfig (with a new token) for a cluster")
        kubeconfig.add_argument("user")
        kubeconfig.add_argument("name")
        kubeconfig.add_argument("--server", help="API URL, e.g. https://host:6443 (the cluster path is appended)")
        sub.add_parser("idle", help="list clusters by last activity (the longest idle first), running or stopped")
        purge = sub.add_parser("purge", help="apply the retention rule now: stop clusters idle past "
                               "PLAYGROUND_STOP_IDLE_AFTER, delete those idle past PLAYGROUND_DELETE_IDLE_AFTER")
        purge.add_argument("--dry-run", action="store_true", help="only print what would be stopped and deleted")

    def handle(self, *args, action: str, **options):
        getattr(self, f"do_{action}")(**options)

    def _cluster(self, user: str, name: str):
        cluster = selectors.cluster_by_name(username=user, name=name)
        if cluster is None:
            raise CommandError(f'{user} has no cluster named "{name}"')
        return cluster

    def do_create(self, *, user: str, name: str, nodes: int, kubeconfig: Path | None, server: str | None,
                  speed: float, **_):
        owner = actions.user_get_or_create(username=user)
        try:
            cluster = actions.cluster_create(owner=owner, name=name, workers=nodes, speed=speed)
        except actions.ClusterError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"cluster {user}/{name} created: {cluster.pk} (1 control-plane + {nodes} workers)")
        if kubeconfig:
            kubeconfig.parent.mkdir(parents=True, exist_ok=True)
            kubeconfig.write_text(actions.cluster_kubeconfig(cluster=cluster, server=server))
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
        actions.cluster_delete(cluster=self._cluster(user, name))
        self.stdout.write(f"cluster {user}/{name} deleted")

    def do_clock(self, *, user: str, name: str, speed: float | None, pause: bool, resume: bool,
                 advance: float | None, **_):
        try:
            cluster = actions.cluster_clock(cluster=self._cluster(user, name), speed=speed, pause=pause,
                                             resume=resume, advance=advance or 0.0)
        except actions.ClusterError as exc:
            raise CommandError(str(exc)) from None
        state = "paused" if cluster.paused else f"running at {cluster.speed:g}x"
        self.stdout.write(f"cluster {user}/{name}: clock {state}, simulated time "
                          f"{datetime.fromtimestamp(cluster.sim_now(), UTC):%Y-%m-%d %H:%M:%S} UTC")

    def do_node(self, *, user: str, name: str, node: str, fail: bool, recover: bool, **_):
        try:
            actions.node_set_failed(cluster=self._cluster(user, name), node=node, failed=fail)
        except actions.ClusterError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"node {node} of {user}/{name}: {'failed' if fail else 'recovered'}")

    def do_kubeconfig(self, *, user: str, name: str, server: str | None, **_):
        self.stdout.write(actions.cluster_kubeconfig(cluster=self._cluster(user, name), server=server), ending="")

    def do_idle(self, **_):
        now = timezone.now()
        rows = [("USER", "NAME", "STATE", "LAST ACTIVITY", "IDLE")]
        for cluster in selectors.clusters_by_activity():
            rows.append((cluster.owner.username, cluster.name, "running" if cluster.stopped is None else "stopped",
                         cluster.last_activity.strftime("%Y-%m-%d %H:%M"), _age(now - cluster.last_activity)))
        self._table(rows)

    def do_purge(self, *, dry_run: bool, **_):
        done = actions.clusters_purge(dry_run=dry_run)
        would = "would be " if dry_run else ""
        for cluster in done.deleted:
            self.stdout.write(f"{cluster.owner.username}/{cluster.name}: {would}deleted "
                              f"(idle since {cluster.last_activity:%Y-%m-%d %H:%M})")
        for cluster in done.stopped:
            self.stdout.write(f"{cluster.owner.username}/{cluster.name}: {would}stopped "
                              f"(idle since {cluster.last_activity:%Y-%m-%d %H:%M})")
        self.stdout.write(f"{len(done.stopped)} cluster(s) {would}stopped, {len(done.deleted)} {would}deleted")

    def _table(self, rows: list[tuple[str, ...]]) -> None:
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for row in rows:
            self.stdout.write("   ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())


def _age(delta) -> str:
    """kubectl's way of saying how long: 45s, 12m, 5h, 3d."""
    seconds = max(int(delta.total_seconds()), 0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
