"""Events expire an hour after their last write, as kube-apiserver's `--event-ttl` (1h by default) has
etcd do: every Event is stored under a lease of that length, and each update (the event correlator's
count++) stores it again under a new one. When the lease runs out the Event is deleted, and watchers get
its DELETED event like any other. So `kubectl get events` on a cluster left alone for an hour is empty.

This is the API server's storage, not a controller of kube-controller-manager; it runs in the loop because
it acts on time. It is woken only by its own wake-up (the earliest expiry) or when Events appear while it
has none: an Event written later expires later than every one already there.
"""
from __future__ import annotations

from ..state import ClusterState, parse_timestamp

EVENT_TTL = 3600.0   # kube-apiserver --event-ttl


def last_written(event: dict) -> float:
    """When an Event was last written: the latest of the times its writers stamp on it."""
    series = event.get("series") or {}
    stamps = (event.get("lastTimestamp"), series.get("lastObservedTime"), event.get("eventTime"),
              event["metadata"].get("creationTimestamp"))
    return max((t for t in map(parse_timestamp, stamps) if t is not None), default=0.0)


def reconcile(state: ClusterState) -> None:
    with state.not_watching():   # new Events expire after the ones already here: the wake-up covers them
        events = state.list("Event")
    if not events:
        state.list("Event")      # none yet: the first one written must wake this up
        return
    earliest = None
    for event in events:
        expiry = last_written(event) + EVENT_TTL
        if expiry <= state.now:
            state.delete(event)
        elif earliest is None or expiry < earliest:
            earliest = expiry
    state.wake_at(earliest)
