"""What containers write: where it is kept, for how long, and how much of it.

No disk exists, so the files a container writes are kept in the simulation's private notes
(state.sim(obj)), beside the object whose lifetime they share, and never shown by the API:

| written under…                       | kept in the notes of | lives as long as                        |
| ------------------------------------ | -------------------- | --------------------------------------- |
| an emptyDir mount                    | the Pod              | the pod (shared by its containers)      |
| a hostPath mount                     | the Node             | the node: the next pod on that node     |
|                                      |                      | sees it, a pod elsewhere does not       |
| a PVC's mount of a static hostPath   | the Node             | the node, as a hostPath mount: a pod of |
| or local PV                          |                      | the claim on another node sees that     |
|                                      |                      | node's directory                        |
| a PVC's mount of any other PV        | the PersistentVolume | the volume: the next pod of the claim   |
|                                      |                      | sees it (a StatefulSet's pod recreated) |
| anywhere else                        | the Pod's container  | the container: a restart starts from    |
|                                      | record ("layer")     | the image again                         |

A hostPath or local PersistentVolume is a directory of one node's disk: a pod on another node that mounts
the same PV gets that node's directory of that path (empty, or different) — why such a PV has node
affinity, and why the PV tutorial asks for a one-node cluster. The local-path provisioner's volumes are
hostPaths too, with node affinity to the node they were made on, so their pods always find their data;
it is kept with the PV, which the provisioner's directory goes with when the volume is deleted.

ConfigMap, Secret, downwardAPI and projected volumes are the kubelet's projections: read-only
(`Read-only file system`), and a ConfigMap or Secret change reaches them only after the kubelet's
next sync of the pod (SYNC_DELAY, the docs' "kubelet sync period + cache propagation delay"); a
subPath mount of one never changes.

A store is a dict path → its last few versions (VERSIONS), oldest first, each [t, content] or
[t, content, writer]: the time of the write, the content (None: removed; a path ending in "/" is a
directory) and, for what a container's own program wrote, which run of which container wrote it.
Containers are replayed from their start (the kubelet, `kubectl logs --previous`), so a run must find
the file as it was when it started, not as it later left it itself: that is what the versions and the
writer are for. `kubectl exec` writes at once (record_writes, persisted by clusters/sim/replay.py);
what a program writes is replayed from its script while it runs, and the kubelet keeps what it
wrote into volumes when it ends (flush_program_writes).

Bounds, so that no learner can fill the database: CAPACITY bytes per volume and per container's
layer, CLUSTER_CAPACITY for all of a cluster's stores; a write past them fails with the kernel's
`No space left on device`. Paths count with their contents, so emptying files in a loop is bounded too.
"""
from __future__ import annotations

import posixpath
import zlib
from dataclasses import dataclass

from ..state import ClusterState
from .shell.filesystem import size_of

CAPACITY = 1 << 20                  # bytes per volume, and per container's writable layer
CLUSTER_CAPACITY = 8 << 20          # bytes of all the stores of one cluster
SYNC_DELAY = (60.0, 90.0)           # seconds from a ConfigMap/Secret change to its files changing in a pod
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"   # the annotation of a dynamically provisioned PV


@dataclass(frozen=True)
class Store:
    """Where a volume's files are kept: the notes of `owner`, at `keys`, under `root`."""
    owner: dict
    keys: tuple[str, ...]
    root: str = ""                  # the node path of a hostPath volume; "" for the others

    def entries(self, state: ClusterState) -> dict:
        notes = state.sim(self.owner)
        for key in self.keys:
            notes = notes.get(key)
            if notes is None:
                return {}
        return notes

    def writable_entries(self, state: ClusterState) -> dict:
        notes = state.sim(self.owner)
        for key in self.keys:
            notes = notes.setdefault(key, {})
        return notes

    def key(self, relative: str) -> str:
        """The store's key for `relative` (a path inside the volume, "" for its root)."""
        return norm(f"{self.root}/{relative}") if relative else (self.root or "/")

    def used(self, state: ClusterState) -> int:
        entries = self.entries(state)
        if not self.root:
            return _size(entries.items())
        prefix = self.root.rstrip("/") + "/"
        return _size((k, v) for k, v in entries.items() if k.startswith(prefix))


VERSIONS = 4                        # versions kept per path (the current and the previous run of a container
                                    # each need the one from before their start)


def _size(items) -> int:
    return sum(len(key) + sum(size_of(version[1]) for version in versions) for key, versions in items)


def _put(entries: dict, key: str, version: list) -> None:
    versions = entries.get(key)
    if versions is None:
        entries[key] = [version]
        return
    versions.append(version)
    versions.sort(key=lambda v: v[0])
    del versions[:-VERSIONS]


def view(versions: list, start: float | None, own: str | None) -> tuple[list | None, list[list]]:
    """A path's versions as a run started at `start` finds them: (the one it starts with, the ones written
    after its start, from outside), leaving out what that run (`own`) wrote itself."""
    initial = None
    later = []
    for version in versions:
        if own is not None and len(version) > 2 and version[2] == own:
            continue
        if start is None or version[0] <= start:
            initial = version
        else:
            later.append(version)
    return initial, later


@dataclass(frozen=True)
class MountPlan:
    """One volumeMount of a container, resolved."""
    path: str                     # where it is mounted in the container
    volume: dict                  # the pod's volume
    read_only: bool
    sub: str                      # subPath ("" for none)
    store: Store | None           # where writes go; None for the kubelet's projections


def norm(path: str) -> str:
    """An absolute, normalised path (posixpath keeps a leading "//", the kernel does not)."""
    return "/" + posixpath.normpath("/" + path).lstrip("/")


def _node_of(state: ClusterState, pod: dict) -> dict | None:
    return state.get("Node", "", (pod.get("spec") or {}).get("nodeName") or "")


def volume_store(state: ClusterState, pod: dict, volume: dict) -> Store | None:
    """Where data written into `volume` lives (None: a read-only projection, or nowhere known)."""
    if "emptyDir" in volume:
        return Store(pod, ("vol", volume["name"]))
    if "hostPath" in volume:
        node = _node_of(state, pod)
        path = norm(volume["hostPath"].get("path") or "/")
        return Store(node, ("host",), path) if node is not None else None
    if "persistentVolumeClaim" in volume:
        namespace = pod["metadata"].get("namespace", "default")
        claim = state.get("PersistentVolumeClaim", namespace, volume["persistentVolumeClaim"].get("claimName", ""))
        name = ((claim or {}).get("spec") or {}).get("volumeName")
        pv = state.get("PersistentVolume", "", name) if name else None
        if pv is None:
            return None
        source = pv.get("spec") or {}
        on_node = source.get("hostPath") or source.get("local")
        if on_node is not None and PROVISIONED_BY not in (pv["metadata"].get("annotations") or {}):
            # A directory of the node's disk: the data of the node the pod runs on, as a hostPath mount's.
            node = _node_of(state, pod)
            return Store(node, ("host",), norm(on_node.get("path") or "/")) if node is not None else None
        return Store(pv, ("data",))
    if "ephemeral" in volume:
        return Store(pod, ("vol", volume["name"]))
    return None


def _claim_read_only(volume: dict) -> bool:
    return bool((volume.get("persistentVolumeClaim") or {}).get("readOnly")) or \
        bool((volume.get("hostPath") or {}).get("readOnly"))


def container_mounts(state: ClusterState, pod: dict, container: dict) -> list[MountPlan]:
    """The container's volumeMounts, outermost first (a mount inside another one comes after it)."""
    volumes = {v.get("name"): v for v in (pod.get("spec") or {}).get("volumes") or []}
    plans = []
    for mount in container.get("volumeMounts") or []:
        volume = volumes.get(mount.get("name"))
        if volume is None or not mount.get("mountPath"):
            continue
        store = volume_store(state, pod, volume)
        projected = any(k in volume for k in ("configMap", "secret", "downwardAPI", "projected"))
        read_only = bool(mount.get("readOnly")) or projected or _claim_read_only(volume)
        path = norm(mount["mountPath"])
        plans.append(MountPlan(path, volume, read_only, (mount.get("subPath") or "").strip("/"),
                               None if projected else store))
    plans.sort(key=lambda p: len(p.path))
    return plans


def mount_of(plans: list[MountPlan], path: str) -> MountPlan | None:
    """The innermost mount `path` is under."""
    found = None
    for plan in plans:
        if path == plan.path or path.startswith(plan.path.rstrip("/") + "/"):
            found = plan
    return found


def container_path_to_key(plan: MountPlan, store: Store, path: str) -> str:
    relative = path[len(plan.path):].lstrip("/")
    inside = "/".join(part for part in (plan.sub, relative) if part)
    return store.key(inside)


def key_to_container_path(plan: MountPlan, store: Store, key: str) -> str | None:
    """Where the store's `key` shows in the container through this mount, or None (outside it)."""
    top = store.key(plan.sub)
    trailing = key.endswith("/")
    bare = key.rstrip("/") or "/"
    if bare == top:
        inside = ""
    elif bare.startswith(top.rstrip("/") + "/"):
        inside = bare[len(top.rstrip("/")) + 1:]
    else:
        return None
    path = plan.path if not inside else posixpath.join(plan.path, inside)
    return path + ("/" if trailing and inside else "")


def layer_store(pod: dict, name: str) -> Store:
    """A container's writable layer (absolute container paths), in its kubelet record."""
    return Store(pod, ("c", name, "layer"))


def writer_id(pod: dict, name: str, attempt: int) -> str:
    return f"{pod['metadata'].get('uid', '')[:8]}/{name}/{attempt}"


def cluster_used(state: ClusterState) -> int:
    """Bytes of every store of the cluster (a look at the notes of every pod, node and volume: only when
    writing)."""
    total = 0
    for kind in ("Pod", "Node", "PersistentVolume"):
        for obj in state.list(kind):
            notes = state.sim(obj)
            if not notes:
                continue
            for store in (notes.get("vol") or {}).values():
                total += _size(store.items())
            total += _size((notes.get("host") or {}).items()) + _size((notes.get("data") or {}).items())
            for record in (notes.get("c") or {}).values():
                if isinstance(record, dict) and record.get("layer"):
                    total += _size(record["layer"].items())
    return total


def _bytes(quantity: str) -> int:
    from ..resources import memory_bytes

    try:
        return int(memory_bytes(quantity))
    except ValueError:
        return CAPACITY


# ----------------------------------------------------------------------------- writing
def record_writes(state: ClusterState, pod: dict, name: str, events, *, volumes_only: bool = False,
                  writer: str = "") -> int:
    """Keep file changes a container made — (time, "write"|"mkdir"|"remove", path, content) with absolute
    container paths — in the stores they belong to. Returns how many were kept."""
    container = container_spec(pod, name)
    if container is None:
        return 0
    plans = container_mounts(state, pod, container)
    kept = 0
    for t, kind, path, content in events:
        plan = mount_of(plans, path)
        if plan is not None and plan.read_only:
            continue
        if plan is not None and plan.store is None:
            continue
        if plan is None:
            if volumes_only:
                continue
            store, key = layer_store(pod, name), path
        else:
            store, key = plan.store, container_path_to_key(plan, plan.store, path)
        entries = store.writable_entries(state)
        if kind == "write":
            _put(entries, key, [t, content or "", writer] if writer else [t, content or ""])
        elif kind == "mkdir":
            _put(entries, key.rstrip("/") + "/", [t, ""])
        elif kind == "remove":
            prefix = key.rstrip("/") + "/"
            for other in {key, prefix} | {k for k in entries if k.startswith(prefix)}:
                _put(entries, other, [t, None])
        kept += 1
    return kept


def container_spec(pod: dict, name: str) -> dict | None:
    """The pod's container (init and ephemeral ones included) of that name, or None."""
    spec = pod.get("spec") or {}
    for key in ("containers", "initContainers", "ephemeralContainers"):
        for container in spec.get(key) or []:
            if container.get("name") == name:
                return container
    return None


def program_writes(run, until: float) -> list[tuple[float, str, str, str | None]]:
    """The file changes a program's Run made up to `until`, jumped steady loops included (their last
    iteration's changes, at their instants)."""
    events = [e for e in run.fs_events if e[0] <= until]
    for t0, t1, period, pattern in run.fs_cycles:
        if t0 > until or period <= 0:
            continue
        end = min(until, t1)
        last = t0 + int((end - t0) // period) * period
        events.extend((last + rel, kind, path, content) for rel, kind, path, content in pattern
                      if last + rel <= end)
    events.sort(key=lambda e: e[0])
    return events


def flush_program_writes(state: ClusterState, pod: dict, name: str, attempt: int, run, until: float) -> None:
    """A container's program ended: what it wrote into its volumes stays there (its layer goes)."""
    if run is None or not getattr(run, "shell_run", None):
        return
    events = program_writes(run.shell_run, until)
    if events:
        record_writes(state, pod, name, events, volumes_only=True, writer=writer_id(pod, name, attempt))


# ----------------------------------------------------------------------------- ConfigMap/Secret projections
def sync_delay(pod: dict) -> float:
    """How long after a ConfigMap/Secret change this pod's kubelet sync projects it (stable per pod)."""
    low, high = SYNC_DELAY
    return low + zlib.crc32(pod["metadata"].get("uid", "").encode()) % int(high - low + 1)


def watch_sources(state: ClusterState, pod: dict, node: dict) -> None:
    """Note on the node the ConfigMaps and Secrets this pod's volumes project (the kubelet's watches)."""
    namespace = pod["metadata"].get("namespace", "default")
    if namespace in _NOT_WATCHED_NAMESPACES:
        return
    wanted = []
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        for kind, ref in _sources(volume):
            wanted.append([kind, namespace, ref])
    if not wanted:
        return
    notes = state.sim(node)
    watched = notes.get("watch") or []
    missing = [w for w in wanted if w not in watched]
    if missing:
        notes["watch"] = watched + missing
    for kind, ns, ref in wanted:
        obj = state.get(kind, ns, ref)
        if obj is not None and "proj" not in state.sim(obj):
            state.sim(obj)["proj"] = _projection_note(state, obj)


# The cluster's CA bundle, which every pod's kube-api-access volume projects: the playground never rotates it.
_NOT_WATCHED = ("kube-root-ca.crt",)
# The add-ons' own configuration (CoreDNS's Corefile, kube-proxy's): their pods read it at start, and keeping
# a copy of it for every idle pass to load would cost every cluster; a change to it shows at once.
_NOT_WATCHED_NAMESPACES = ("kube-system", "local-path-storage", "ingress-nginx")


def _sources(volume: dict):
    """The ConfigMaps and Secrets a volume projects and the kubelet watches, as (kind, name)."""
    for kind, name in _all_sources(volume):
        if name not in _NOT_WATCHED:
            yield kind, name


def _all_sources(volume: dict):
    if "configMap" in volume:
        yield "ConfigMap", volume["configMap"].get("name", "")
    elif "secret" in volume:
        yield "Secret", volume["secret"].get("secretName", "")
    elif "projected" in volume:
        for source in volume["projected"].get("sources") or []:
            if "configMap" in source:
                yield "ConfigMap", source["configMap"].get("name", "")
            elif "secret" in source:
                yield "Secret", source["secret"].get("name", "")


def track_sources(state: ClusterState, node: dict) -> None:
    """The kubelet's watches of the node: a ConfigMap/Secret that changed is projected after SYNC_DELAY.

    The notes keep what was projected before the change until every pod has moved on (SYNC_DELAY high)."""
    notes = state.sim(node)
    watched = notes.get("watch")
    if not watched:
        return
    keep = []
    for kind, namespace, name in watched:
        obj = state.get(kind, namespace, name)
        if obj is None:
            continue
        keep.append([kind, namespace, name])
        proj = state.sim(obj).get("proj")
        if proj is None:
            continue
        if _changed(state, obj, proj):
            _freeze_sub_paths(state, node, obj, proj["data"])
            pending = "prev" in proj and state.now < proj.get("at", 0) + SYNC_DELAY[1]
            state.sim(obj)["proj"] = {**_projection_note(state, obj), "at": state.now,
                                      "prev": proj["prev"] if pending else proj["data"]}
            state.wake_at(state.now + SYNC_DELAY[1])
        elif not obj["metadata"].get("resourceVersion"):
            fingerprint = state.fingerprint(obj)
            if fingerprint is not None and proj.get("fp") != fingerprint:
                proj["fp"] = fingerprint        # unchanged: the next passes compare this checksum only
        if "prev" in proj and not _changed(state, obj, proj):
            done = proj["at"] + SYNC_DELAY[1]
            if state.now >= done:
                state.sim(obj)["proj"] = {k: v for k, v in proj.items() if k not in ("prev", "at")}
            else:
                state.wake_at(done)
    if len(keep) != len(watched):
        notes["watch"] = keep


def _revision(obj: dict) -> str:
    """Which version of a ConfigMap/Secret this is: its resourceVersion (a checksum of its data where it has
    none: an engine test's objects)."""
    rv = obj["metadata"].get("resourceVersion")
    if rv:
        return str(rv)
    data = {**(obj.get("data") or {}), **(obj.get("stringData") or {})}
    return f"crc:{zlib.crc32(chr(0).join(f'{k}={v}' for k, v in sorted(data.items())).encode())}"


def _projection_note(state: ClusterState, obj: dict) -> dict:
    """What the kubelet projected of `obj`: its version and values (and the state's checksum of the object,
    which spares computing the version again while nobody writes it)."""
    return {"rv": _revision(obj), "fp": state.fingerprint(obj), "data": _values(obj)}


def _changed(state: ClusterState, obj: dict, proj: dict) -> bool:
    """Is `obj` another version than the one projected?"""
    rv = obj["metadata"].get("resourceVersion")
    if rv:
        return proj["rv"] != str(rv)
    fingerprint = state.fingerprint(obj)
    if fingerprint is not None and proj.get("fp") == fingerprint:
        return False
    return proj["rv"] != _revision(obj)


def _freeze_sub_paths(state: ClusterState, node: dict, obj: dict, before: dict[str, str]) -> None:
    """A subPath mount of a ConfigMap/Secret key is the file as it was when the container started, for good:
    the running containers of the node's pods that have one keep it in their record ("subpaths")."""
    kind, namespace, name = obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"]
    node_name = node["metadata"]["name"]
    for pod in state.list("Pod", namespace):
        if (pod.get("spec") or {}).get("nodeName") != node_name:
            continue
        volumes = {v.get("name"): v for v in pod["spec"].get("volumes") or []
                   if any(k == kind and ref == name for k, ref in _sources(v))}
        if not volumes:
            continue
        records = state.sim(pod).get("c") or {}
        for container in pod["spec"].get("containers") or []:
            record = records.get(container.get("name"))
            for mount in container.get("volumeMounts") or []:
                volume = volumes.get(mount.get("name"))
                sub = (mount.get("subPath") or "").strip("/")
                if volume is None or not sub or record is None or record.get("st") != "run":
                    continue
                items = (volume.get("configMap") or volume.get("secret") or {}).get("items")
                key = next((i["key"] for i in items if i.get("path") == sub), None) if items else sub
                frozen = record.setdefault("subpaths", {})
                if key in before and norm(mount["mountPath"]) not in frozen:
                    frozen[norm(mount["mountPath"])] = before[key]


def _values(obj: dict) -> dict[str, str]:
    from .environment import _values as values

    return values(obj)


def projected_values(state: ClusterState, pod: dict, obj: dict, when: float | None
                     ) -> tuple[dict[str, str], float | None, dict[str, str] | None]:
    """What a pod's volume shows of `obj` at `when`: (values, when they change, what they change to)."""
    current = _values(obj)
    proj = state.sim(obj).get("proj")
    if not proj:
        return current, None, None
    if _changed(state, obj, proj):
        return proj["data"], None, None            # changed since the kubelet last looked
    prev = proj.get("prev")
    admitted = state.sim(pod).get("admitted")
    if prev is None or admitted is None or admitted >= proj["at"]:
        return current, None, None
    switch = proj["at"] + sync_delay(pod)
    if when is not None and when >= switch:
        return current, None, None
    return prev, switch, current
