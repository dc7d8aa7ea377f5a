"""etcd compaction, as kube-apiserver runs it: every --etcd-compaction-interval (5 minutes by default) its
compactor compacts etcd up to the revision it saw at the previous round, so history reaches back between one
and two intervals, and a watch from before that gets 410 Gone ("too old resource version").

Each cluster's change log (clusters.models.Change) is its etcd history. DbStore.finish trims it to the newest
CHANGE_LOG_SIZE writes as they come; a round here does what the interval does, per cluster: the rows up to
the resourceVersion the cluster had at the previous round go (Cluster.compaction_mark), and watches, pages and
a worker's kept state from before then get what a trimmed log gives them (410 Gone, a snapshot, a load). So
an idle cluster's log is gone two rounds after its last write, and its rows are its objects alone.
"""
from __future__ import annotations

from django.db import transaction
from django.db.models import F

from clusters.models import Change, Cluster


def compact_change_logs() -> int:
    """One round (beat's "compaction" task, the embedded loop, every COMPACTION_SECONDS): returns the rows
    deleted."""
    deleted = 0
    due = Cluster.objects.filter(compaction_mark__gt=F("compacted_resource_version")).values_list("pk", flat=True)
    for cluster_id in list(due):
        with transaction.atomic():   # under the row lock, as the store writes and trims the log
            marks = (Cluster.objects.select_for_update().filter(pk=cluster_id)
                     .values_list("compaction_mark", "compacted_resource_version").first())
            if marks is None or marks[0] <= marks[1]:
                continue
            deleted += Change.objects.filter(cluster_id=cluster_id, resource_version__lte=marks[0]).delete()[0]
            Cluster.objects.filter(pk=cluster_id).update(compacted_resource_version=marks[0])
    # The marks for the next round: each row as written last (an UPDATE waits for a pass holding the row).
    Cluster.objects.exclude(compaction_mark=F("resource_version")).update(compaction_mark=F("resource_version"))
    return deleted
