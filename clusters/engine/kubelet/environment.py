"""What a container sees: its environment variables and its file system.

The kubelet resolves env / envFrom (ConfigMaps, Secrets, fieldRef,
resourceFieldRef, dependent `$(VAR)` expansion) and the Service links, and
assembles the container's files: its image's tree (rootfs.py), the files the
kubelet writes (/etc/hosts, /etc/hostname, /etc/resolv.conf), every volume at
its mount path — the configMap, secret, downwardAPI and projected ones
projected read-only, the others with the data kept for them (volumedata.py) —
and what was written into the container's own layer since it started, the way
pkg/kubelet/kubelet_pods.go does. Missing non-optional references are
reported with the kubelet's own messages (CreateContainerConfigError and
FailedMount), so a learner sees exactly what a real cluster says.
"""
from __future__ import annotations

import base64
import posixpath
import re
from collections.abc import Callable

from ..state import ClusterState, timestamp
from . import images, rootfs, volumedata
from .shell.filesystem import EMPTY_TREE, ContainerFiles, Mount

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
_EXPANSION = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


class ConfigError(Exception):
    """A container cannot be configured (CreateContainerConfigError): the message is the kubelet's."""


class ContainerWorld:
    """A container's environment and files. The files (a ContainerFiles) are built on first use: a server
    image's program needs them only when something asks it a page or execs into it."""

    def __init__(self, env: dict[str, str] | None = None, files: dict[str, str] | None = None, *,
                 build: Callable[[], dict[str, str]] | None = None) -> None:
        self.env = env if env is not None else {}
        self._files = files
        self._build = build

    @property
    def files(self) -> dict[str, str]:
        if self._files is None:
            self._files = self._build() if self._build is not None else {}
        return self._files

    @files.setter
    def files(self, value: dict[str, str]) -> None:
        self._files = value

    def __repr__(self) -> str:
        return f"ContainerWorld(env={len(self.env)} variables)"

    def files_at(self, when: float) -> dict[str, str]:
        """The files as they stand at `when` (changes made from outside up to then applied)."""
        return self.files.at(when) if isinstance(self.files, ContainerFiles) else self.files


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' `$(VAR)` expansion: known variables replaced, `$$` escapes, unknown left as they are."""
    def sub(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        return env.get(name, match.group(0))

    return _EXPANSION.sub(sub, text)


def _decoded(secret: dict, key: str) -> str:
    raw = (secret.get("data") or {}).get(key)
    if raw is None:
        return (secret.get("stringData") or {}).get(key, "")
    try:
        return base64.b64decode(raw).decode("utf-8", "replace")
    except (ValueError, TypeError):
        return ""


def _referenced(state: ClusterState, namespace: str, kind: str, ref: dict) -> dict | None:
    """The ConfigMap/Secret a reference names; None if missing but optional, else ConfigError."""
    found = state.get(kind, namespace, ref.get("name", ""))
    if found is None and not ref.get("optional"):
        raise ConfigError(f'{kind.lower()} "{ref.get("name", "")}" not found')
    return found


def _values(obj: dict) -> dict[str, str]:
    """A ConfigMap's data, or a Secret's decoded data (stringData too, as it would be stored)."""
    if obj["kind"] == "ConfigMap":
        return dict(obj.get("data") or {})
    keys = list(obj.get("data") or {}) + [k for k in obj.get("stringData") or {} if k not in (obj.get("data") or {})]
    return {key: _decoded(obj, key) for key in keys}


def _field_ref(pod: dict, path: str) -> str:
    meta, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
    simple = {
        "metadata.name": meta.get("name", ""), "metadata.namespace": meta.get("namespace", ""),
        "metadata.uid": meta.get("uid", ""), "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName", ""), "status.podIP": status.get("podIP", ""),
        "status.hostIP": status.get("hostIP", ""),
        "status.podIPs": ",".join(ip.get("ip", "") for ip in status.get("podIPs") or []),
        "status.hostIPs": ",".join(ip.get("ip", "") for ip in status.get("hostIPs") or []),
    }
    if path in simple:
        return simple[path]
    match = re.fullmatch(r"metadata\.(labels|annotations)\['(.+)'\]", path)
    if match:
        return (meta.get(match.group(1)) or {}).get(match.group(2), "")
    return ""


def _resource_ref(container: dict, ref: dict, node: dict | None) -> str:
    from ..resources import parse_quantity

    resource = ref.get("resource", "")
    kind, _, name = resource.partition(".")
    resources = container.get("resources") or {}
    value = (resources.get(kind) or {}).get(name)
    if value is None and node is not None:  # no limit: the node's allocatable, as the kubelet reports
        value = ((node.get("status") or {}).get("allocatable") or {}).get(name)
    if value is None:
        return "0"
    divisor = parse_quantity(ref.get("divisor") or "1")
    amount = parse_quantity(value) / divisor
    whole = -(-amount.numerator // amount.denominator)  # rounded up, as the kubelet does
    return str(whole)


def _existed(service: dict, when: str | None) -> bool:
    """Was the Service there when the container started? Both are RFC 3339 in whole seconds, which compare
    as strings."""
    created = service["metadata"].get("creationTimestamp")
    return when is None or not created or created <= when


def service_links(state: ClusterState, pod: dict, started: float | None, container: str | None = None
                  ) -> list[dict]:
    """The Services whose variables a container gets (kubelet_pods.go getServiceEnvVarMap): those of the
    pod's namespace when enableServiceLinks (default true), and the `kubernetes` Service of the default
    namespace always — as the kubelet's informer lists them when it creates the container, so a Service
    created after that is not among them until the container restarts. The kubelet notes their names in
    the container's record then (`links`, see linked_services); a run without that note falls back to the
    creationTimestamps, which have whole seconds only."""
    namespace = pod["metadata"].get("namespace", "default")
    record = (state.sim(pod).get("c") or {}).get(container) if container is not None and started is not None else None
    known = set(record["links"]) if record and record.get("start") == started and "links" in record else None
    since = timestamp(started) if started is not None else None

    def linked(service: dict, key: str) -> bool:
        return key in known if known is not None else _existed(service, since)
    chosen: dict[str, dict] = {}
    master = state.get("Service", "default", "kubernetes")
    if master is not None and linked(master, "kubernetes"):
        chosen["kubernetes"] = master
    if (pod.get("spec") or {}).get("enableServiceLinks", True):
        for service in state.list("Service", namespace):
            name = service["metadata"]["name"]
            if (namespace == "default" and name == "kubernetes") or not linked(service, name):
                continue
            chosen[name] = service
    return [chosen[name] for name in sorted(chosen)]


def linked_services(state: ClusterState, pod: dict) -> list[str]:
    """The names of the Services a container created now links (the record's `links`)."""
    return [service["metadata"]["name"] for service in service_links(state, pod, None)]


def _noted_sources(state: ClusterState, pod: dict, container: dict, started: float | None) -> dict | None:
    """What the kubelet read for the environment of the container run started at `started` (its record's
    `env`, or `prev_env` for the run before), or None when it noted nothing for that run."""
    if started is None:
        return None
    record = (state.sim(pod).get("c") or {}).get(container.get("name"))
    if not record:
        return None
    if record.get("start") == started and "env" in record:
        return record["env"]
    if record.get("prev_start") == started and "prev_env" in record:
        return record["prev_env"]
    return None


def container_environment(state: ClusterState, pod: dict, container: dict, node: dict | None, *,
                          started: float | None = None, note: dict | None = None) -> dict[str, str]:
    """The environment of one container (started at `started`: None, as of now), or ConfigError with the
    kubelet's message.

    The kubelet resolves env and envFrom once, when it creates the container (kuberuntime
    generateContainerConfig → makeEnvironmentVariables): a ConfigMap or Secret changed later, or a label a
    fieldRef names, shows in the next container, not in the running one. So what it read is noted in the
    container's record when it creates it (`note`, filled here: the values used of each ConfigMap and Secret
    by "Kind/name", None for a missing optional one, and the fieldRef values under "fieldRef"), and the
    environment of a run started at `started` is built from that note rather than from the objects as they
    are now."""
    namespace = pod["metadata"].get("namespace", "default")
    noted = _noted_sources(state, pod, container, started)

    def referenced(kind: str, ref: dict) -> dict[str, str] | None:
        """The values of the ConfigMap/Secret `ref` names, as the kubelet read them for this run."""
        key = f"{kind}/{ref.get('name', '')}"
        if noted is not None and key in noted:
            return noted[key]
        found = _referenced(state, namespace, kind, ref)
        return _values(found) if found is not None else None

    def keep(kind: str, ref: dict, values: dict[str, str] | None, only: str | None = None) -> None:
        if note is None:
            return
        key = f"{kind}/{ref.get('name', '')}"
        if values is None:
            note.setdefault(key, None)
        elif only is None:
            note[key] = {**(note.get(key) or {}), **values}
        elif only in values:
            note[key] = {**(note.get(key) or {}), only: values[only]}
        else:
            note[key] = note.get(key) or {}

    env: dict[str, str] = {}
    for service in service_links(state, pod, started, container.get("name")):
        spec = service.get("spec") or {}
        ip = spec.get("clusterIP")
        if not ip or ip == "None" or not spec.get("ports"):
            continue
        prefix = service["metadata"]["name"].upper().replace("-", "_")
        first = spec["ports"][0]
        env[f"{prefix}_SERVICE_HOST"] = ip
        env[f"{prefix}_SERVICE_PORT"] = str(first.get("port"))
        for port in spec["ports"]:
            protocol = port.get("protocol", "TCP")
            if port.get("name"):
                env[f"{prefix}_SERVICE_PORT_{port['name'].upper().replace('-', '_')}"] = str(port.get("port"))
            base = f"{prefix}_PORT_{port.get('port')}_{protocol}"
            env[base] = f"{protocol.lower()}://{ip}:{port.get('port')}"
            env[f"{base}_PROTO"] = protocol.lower()
            env[f"{base}_PORT"] = str(port.get("port"))
            env[f"{base}_ADDR"] = ip
        env[f"{prefix}_PORT"] = f"{first.get('protocol', 'TCP').lower()}://{ip}:{first.get('port')}"
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix", "")
        for ref_field, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
            if ref_field in source:
                values = referenced(kind, source[ref_field])
                keep(kind, source[ref_field], values)
                if values is not None:
                    env.update({prefix + key: value for key, value in values.items()})
    fields = (noted or {}).get("fieldRef") or {}
    for var in container.get("env") or []:
        name = var.get("name", "")
        if "valueFrom" not in var:
            env[name] = expand(str(var.get("value", "")), env)
            continue
        source = var["valueFrom"]
        key_ref = next(((kind, source[ref_field]) for ref_field, kind in
                        (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")) if ref_field in source), None)
        if key_ref is not None:
            kind, ref = key_ref
            values = referenced(kind, ref)
            keep(kind, ref, values, ref.get("key"))
            if values is None:
                continue
            if ref.get("key") not in values:
                if ref.get("optional"):
                    continue
                raise ConfigError(f"couldn't find key {ref.get('key')} in {kind} {namespace}/{ref.get('name')}")
            env[name] = values[ref["key"]]
        elif "fieldRef" in source:
            path = source["fieldRef"].get("fieldPath", "")
            env[name] = fields[path] if path in fields else _field_ref(pod, path)
            if note is not None:
                note.setdefault("fieldRef", {})[path] = env[name]
        elif "resourceFieldRef" in source:
            env[name] = _resource_ref(container, source["resourceFieldRef"], node)
    env.setdefault("HOSTNAME", pod["spec"].get("hostname") or pod["metadata"]["name"])
    env.setdefault("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    env.setdefault("HOME", "/root")
    return env


def missing_volume_sources(state: ClusterState, pod: dict) -> list[str]:
    """FailedMount messages for configMap/secret volumes whose object is missing (the pod can't start)."""
    namespace = pod["metadata"].get("namespace", "default")
    problems = []
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        if "configMap" in volume:
            ref = volume["configMap"]
            if not ref.get("optional") and state.get("ConfigMap", namespace, ref.get("name", "")) is None:
                problems.append(f'MountVolume.SetUp failed for volume "{volume["name"]}" : '
                                f'configmap "{ref.get("name", "")}" not found')
        elif "secret" in volume:
            ref = volume["secret"]
            if not ref.get("optional") and state.get("Secret", namespace, ref.get("secretName", "")) is None:
                problems.append(f'MountVolume.SetUp failed for volume "{volume["name"]}" : '
                                f'secret "{ref.get("secretName", "")}" not found')
    return problems


def _projection(state: ClusterState, pod: dict, kind: str, name: str, when: float | None):
    """(values, when they change, what to) of a projected ConfigMap/Secret; None when it does not exist."""
    namespace = pod["metadata"].get("namespace", "default")
    found = state.get(kind, namespace, name)
    if found is None:
        return None
    return volumedata.projected_values(state, pod, found, when)


def _volume_files(state: ClusterState, pod: dict, volume: dict, when: float | None = None,
                  later: list | None = None) -> dict[str, str]:
    """Files a projected volume shows at its mount point, relative to it, as of `when` (the container's
    start). A ConfigMap/Secret change the kubelet has not projected yet goes to `later`, as (time, files)."""
    if "configMap" in volume or "secret" in volume:
        kind, ref = ("ConfigMap", volume["configMap"]) if "configMap" in volume else ("Secret", volume["secret"])
        found = _projection(state, pod, kind, ref.get("name" if kind == "ConfigMap" else "secretName", ""), when)
        if found is None:
            return {}
        values, switch, after = found
        items = ref.get("items")

        def pick(data: dict[str, str]) -> dict[str, str]:
            return {i["path"]: data.get(i["key"], "") for i in items if i.get("key") in data} if items else dict(data)

        if switch is not None and later is not None:
            later.append((switch, pick(after)))
        return pick(values)
    if "projected" in volume:
        files: dict[str, str] = {}
        for source in volume["projected"].get("sources") or []:
            if "serviceAccountToken" in source:
                files[source["serviceAccountToken"].get("path", "token")] = (
                    "eyJhbGciOiJSUzI1NiIsImtpZCI6InBsYXlncm91bmQifQ.simulated")
            elif "configMap" in source:
                files.update(_volume_files(state, pod, {"configMap": source["configMap"]}, when))
            elif "secret" in source:
                files.update(_volume_files(state, pod, {"secret": {**source["secret"],
                                                                   "secretName": source["secret"].get("name")}}, when))
            elif "downwardAPI" in source:
                files.update(_volume_files(state, pod, {"downwardAPI": source["downwardAPI"]}, when))
        return files
    if "downwardAPI" in volume:
        return {item["path"]: _field_ref(pod, (item.get("fieldRef") or {}).get("fieldPath", ""))
                for item in volume["downwardAPI"].get("items") or [] if "fieldRef" in item}
    return {}


def resolv_conf(pod: dict, nameserver: str = "10.96.0.10", domain: str = "cluster.local") -> str:
    """/etc/resolv.conf as the kubelet gives a pod (pkg/kubelet/network/dns: dnsPolicy, dnsConfig)."""
    spec = pod.get("spec") or {}
    namespace = pod["metadata"].get("namespace", "default")
    policy = spec.get("dnsPolicy") or "ClusterFirst"
    if policy == "ClusterFirst" and spec.get("hostNetwork"):
        policy = "Default"
    servers: list[str] = []
    searches: list[str] = []
    options: list[str] = []
    if policy in ("ClusterFirst", "ClusterFirstWithHostNet"):
        servers = [nameserver]
        searches = [f"{namespace}.svc.{domain}", f"svc.{domain}", domain]
        options = ["ndots:5"]
    config = spec.get("dnsConfig") or {}
    servers += [s for s in config.get("nameservers") or [] if s not in servers]
    searches += [s for s in config.get("searches") or [] if s not in searches]
    for option in config.get("options") or []:
        name = option.get("name", "")
        text = f"{name}:{option['value']}" if option.get("value") is not None else name
        options = [o for o in options if o.split(":")[0] != name] + [text]
    lines = []
    if searches:
        lines.append("search " + " ".join(searches))
    lines += [f"nameserver {s}" for s in servers]
    if options:
        lines.append("options " + " ".join(options))
    return "".join(line + "\n" for line in lines)


def hosts_file(pod: dict, domain: str = "cluster.local") -> str:
    """/etc/hosts as the kubelet writes it (kubelet_pods.go managedHostsFileContent)."""
    spec = pod.get("spec") or {}
    hostname = spec.get("hostname") or pod["metadata"]["name"]
    status = pod.get("status") or {}
    ips = [entry.get("ip", "") for entry in status.get("podIPs") or [] if entry.get("ip")] or \
        ([status["podIP"]] if status.get("podIP") else [])
    lines = ["# Kubernetes-managed hosts file.", "127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback",
             "fe00::0\tip6-localnet", "fe00::0\tip6-mcastprefix", "fe00::1\tip6-allnodes", "fe00::2\tip6-allrouters"]
    subdomain = spec.get("subdomain")
    if subdomain:
        fqdn = f"{hostname}.{subdomain}.{pod['metadata'].get('namespace', 'default')}.svc.{domain}"
        lines += [f"{ip}\t{fqdn}\t{hostname}" for ip in ips]
    else:
        lines += [f"{ip}\t{hostname}" for ip in ips]
    text = "".join(line + "\n" for line in lines)
    aliases = spec.get("hostAliases") or []
    if aliases:
        text += "\n# Entries added by HostAliases.\n" + "".join(
            f"{alias.get('ip', '')}\t{name}\n" for alias in aliases for name in alias.get("hostnames") or [])
    return text


def _under(path: str, base: str) -> bool:
    return path == base or path.startswith(base.rstrip("/") + "/")


def container_files(state: ClusterState, pod: dict, container: dict, *, image=None, start: float | None = None,
                    attempt: int | None = None, cluster_room: int | None = None,
                    siblings: bool = True) -> ContainerFiles:
    """The file system of a container started at `start`: its image's tree, the kubelet's files, its volumes
    and its own writes (see the module docstring). Changes after `start` — written by `kubectl exec`, kept
    in a volume by another container, a ConfigMap update reaching the pod — are `pending`, applied at their
    time. `attempt` names this run of the container (its own writes are not changes from outside);
    `cluster_room`: the bytes the cluster's stores may still grow by (checked only when writing).
    `siblings`: what the pod's other running containers' programs are writing into an emptyDir they share
    with this one is seen as it is written (their own views leave this one's out: no container waits on
    another's view of itself)."""
    if image is None:
        image = images.lookup(container.get("image", ""))
    tree = rootfs.image_tree(image) if isinstance(image, images.Image) else EMPTY_TREE
    name = container.get("name", "")
    files: dict[str, str] = {}
    hidden: set[str] = set()
    pending: list[tuple[float, str, str, str | None]] = []
    mounts: list[Mount] = []
    own = volumedata.writer_id(pod, name, attempt) if attempt is not None else None

    def add_entries(entries: dict, to_path) -> None:
        initials = []
        for key, versions in entries.items():
            path = to_path(key)
            if path is None:
                continue
            initial, later = volumedata.view(versions, start, own)
            if initial is not None:
                initials.append((initial[0], path, initial[1]))
            bare = path.rstrip("/") or "/"
            for t, content, *_writer in later:
                kind = "remove" if content is None else ("mkdir" if path.endswith("/") else "write")
                pending.append((t, kind, bare if kind != "write" else path, content))
        # In the order they happened: a file removed (`rm` notes the path as a file and as a directory) and
        # written again later is there, whichever of its two keys the store lists first.
        for _t, path, content in sorted(initials, key=lambda entry: entry[0]):
            bare = path.rstrip("/") or "/"
            if content is None:
                files.pop(bare, None)
                files.pop(bare + "/", None)
                hidden.add(bare)
                hidden.update(tree.under(bare))
            else:
                hidden.discard(bare)
                files[path] = content

    for plan in volumedata.container_mounts(state, pod, container):
        base = plan.path
        hidden.add(base)
        hidden.update(tree.under(base))
        for key in [k for k in files if _under(k.rstrip("/") or "/", base)]:
            del files[key]
        pending = [e for e in pending if not _under(e[2], base)]
        volume = plan.volume
        if plan.store is None:
            later: list = []
            projected = _volume_files(state, pod, volume, start, later)
            if plan.sub:
                frozen = ((state.sim(pod).get("c") or {}).get(name) or {}).get("subpaths") or {}
                if base in frozen:
                    files[base] = frozen[base]            # a subPath is never updated
                elif plan.sub in projected:
                    files[base] = projected[plan.sub]
                else:
                    files[base + "/"] = ""
                    files.update({posixpath.join(base, k[len(plan.sub) + 1:]): v for k, v in projected.items()
                                  if k.startswith(plan.sub + "/")})
            else:
                files[base + "/"] = ""
                files.update({posixpath.join(base, k): v for k, v in projected.items()})
                for switch, after in later:
                    pending.extend((switch, "remove", posixpath.join(base, k), None)
                                   for k in projected if k not in after)
                    pending.extend((switch, "write", posixpath.join(base, k), v) for k, v in after.items()
                                   if projected.get(k) != v)
            mounts.append(Mount(base, read_only=True))
            continue
        store = plan.store
        files[base + "/"] = ""
        add_entries(store.entries(state), lambda key, p=plan, s=store: volumedata.key_to_container_path(p, s, key))
        if siblings and store.owner is pod:
            for t, kind, key, content in _sibling_writes(state, pod, name, volume.get("name", "")):
                path = volumedata.key_to_container_path(plan, store, key)
                if path is not None:          # applied at their time, those from before the start at once
                    pending.append((t, kind, path, content))
        used, capacity = _capacity(state, store, volume, cluster_room)
        mounts.append(Mount(base, read_only=plan.read_only, capacity=capacity, used=used))
    # The kubelet's own files (bind mounts over whatever is there).
    files["/etc/hostname"] = (pod["spec"].get("hostname") or pod["metadata"]["name"]) + "\n"
    files["/etc/hosts"] = hosts_file(pod)
    files["/etc/resolv.conf"] = resolv_conf(pod)
    # What was written into the container's own layer since it started.
    record = state.sim(pod).get("c", {}).get(name) or {}
    layer = record.get("layer") or {}
    if layer and (start is None or record.get("start") == start):
        add_entries(layer, lambda key: key)
    store = volumedata.layer_store(pod, name)
    used = volumedata._size(layer.items())
    room = volumedata.CAPACITY if cluster_room is None else min(volumedata.CAPACITY, used + cluster_room)
    mounts.append(Mount("/", capacity=max(used, room), used=used))
    return ContainerFiles(files, tree=tree, hidden=hidden, mounts=mounts, pending=pending)


def _sibling_writes(state: ClusterState, pod: dict, name: str, volume: str) -> list:
    """What the pod's other running containers' scripts have written into the emptyDir `volume` up to now:
    (time, kind, store key, content). Kept in the volume when they end (volumedata.flush_program_writes);
    meanwhile their replays tell. (logs.py builds on this module: program_at is imported here.)"""
    from .logs import program_at

    found = []
    spec = pod.get("spec") or {}
    records = state.sim(pod).get("c") or {}
    for other in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        record = records.get(other.get("name"))
        if other.get("name") == name or record is None or record.get("st") != "run" or record.get("start") is None \
                or record["start"] > state.now or "command" not in other and "args" not in other:
            continue
        plans = [p for p in volumedata.container_mounts(state, pod, other)
                 if p.store is not None and p.volume.get("name") == volume]
        if not plans:
            continue
        program = program_at(state, pod, other, record["start"], int(record.get("attempt", 0)), siblings=False)
        if program is None or not program.uses_shell:
            continue
        run = program.run(state.now).shell_run
        for t, kind, path, content in volumedata.program_writes(run, state.now) if run is not None else ():
            plan = volumedata.mount_of(plans, path)
            if plan is not None and plan.store is not None:
                key = volumedata.container_path_to_key(plan, plan.store, path)
                found.append((t, kind, key.rstrip("/") if kind != "mkdir" else key, content))
    return found


def _capacity(state: ClusterState, store: volumedata.Store, volume: dict, cluster_room: int | None
              ) -> tuple[int, int]:
    used = store.used(state)
    limit = volumedata.CAPACITY
    empty_dir = volume.get("emptyDir") or {}
    if empty_dir.get("medium") == "Memory" and empty_dir.get("sizeLimit"):
        limit = min(limit, volumedata._bytes(empty_dir["sizeLimit"]))
    if store.owner.get("kind") == "PersistentVolume":
        capacity = ((store.owner.get("spec") or {}).get("capacity") or {}).get("storage")
        if capacity:
            limit = min(limit, volumedata._bytes(capacity))
    if cluster_room is not None:
        limit = min(limit, used + max(0, cluster_room))
    return used, max(used, limit)
