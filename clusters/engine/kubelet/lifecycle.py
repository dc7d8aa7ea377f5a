"""The kubelets: every node's kubelet walks the pods bound to it through the real states.

Pending → ContainerCreating (image pull: Pulling/Pulled, or ErrImagePull →
ImagePullBackOff; CreateContainerConfigError for a missing ConfigMap/Secret or
key; FailedMount for a missing volume source) → Running (Created/Started) →
Completed / Error / OOMKilled, restarted per restartPolicy with the real
back-off (CrashLoopBackOff, 10 s doubling to 5 min, reset after 10 minutes
running); probes gate readiness and restart containers; init containers run in
order; a pod being deleted is stopped within its grace period and removed.

Each container's progress is a small record in the pod's private notes
(state.sim(pod)["c"][name]) holding timestamps, so a pass at any simulated time
replays what must have happened since the last one, in order, at the right
instants. Status, conditions and events are written with the kubelet's own
reasons and messages (pkg/kubelet/events, kuberuntime_container.go).
"""
from __future__ import annotations

import hashlib

from ..network.client import PodNetwork
from ..state import ClusterState, parse_timestamp, timestamp
from . import images, volumedata
from .environment import (
    ConfigError,
    ContainerWorld,
    container_environment,
    container_files,
    linked_services,
    missing_volume_sources,
)
from .probes import LABEL, PROBE_KINDS, ProbeTarget, run_probe, timing
from .program import Load, Program, program_for
from .streams import ended_by_terminal

COMPONENT = "kubelet"
BACKOFF_INITIAL, BACKOFF_MAX, BACKOFF_RESET = 10.0, 300.0, 600.0
PULL_BACKOFF_INITIAL, PULL_BACKOFF_MAX = 10.0, 300.0
CONTAINER_CREATE_SECONDS = 0.5   # sandbox + create + start, after the image is there
SERVER_STOP_SECONDS = 0.5        # a server image stops quickly on SIGTERM; shells ignore it (PID 1)
PLEG_RELIST_SECONDS = 1.0        # the kubelet notices a started container at its next relist (pleg/generic.go)
MAX_TRANSITIONS = 200            # per container per pass: a crash loop cannot spin unbounded


def _memory_limit(container: dict) -> int | None:
    from ..resources import memory_bytes

    limit = ((container.get("resources") or {}).get("limits") or {}).get("memory")
    if limit is None:
        return None
    try:
        return memory_bytes(limit)
    except ValueError:
        return None


def _digest(text: str) -> str:
    """A stable 64-hex id (image digests, container ids): the same on every pass and every worker."""
    return hashlib.sha256(text.encode()).hexdigest()


def _go_duration(seconds: float) -> str:
    """time.Duration's String() for the 'Successfully pulled image … in 3.2s' message."""
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms" if seconds >= 0.001 else "0s"
    if seconds < 60:
        return f"{seconds:.3f}".rstrip("0").rstrip(".") + "s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}m{rest:.0f}s"


class PodWorker:
    """One kubelet's sync of one pod at state.now."""

    def __init__(self, state: ClusterState, pod: dict, node: dict, fast: bool) -> None:
        self.state = state
        self.pod = pod
        self.node = node
        self.fast = fast  # start delays off: pulls and starts take no simulated time
        self.notes = state.sim(pod)
        self.records: dict[str, dict] = self.notes.setdefault("c", {})
        self.host = node["metadata"]["name"]
        self.changed = False
        self._programs: dict[str, Program] = {}
        self._runs: dict[str, object] = {}
        self._net: PodNetwork | None = None
        self.next_due: float | None = None   # the earliest wake-up this pod asked for
        self.waits_on_cluster = False         # waiting for something else to change (a ConfigMap, a volume)

    def wake_at(self, when: float | None) -> None:
        if when is None:
            return
        self.next_due = when if self.next_due is None else min(self.next_due, when)
        self.state.wake_at(when)

    # ------------------------------------------------------------------ events
    def event(self, container: dict | None, kind: str, reason: str, message: str, init: bool = False) -> None:
        field = ""
        if container is not None:
            field = f"spec.{'initContainers' if init else 'containers'}{{{container['name']}}}"
        self.state.event(self.pod, kind, reason, message, component=COMPONENT, host=self.host, field_path=field)

    # -------------------------------------------------------------------- sync
    def sync(self) -> None:
        pod, status = self.pod, self.pod.setdefault("status", {})
        if pod["metadata"].get("deletionTimestamp"):
            self._terminate()
            return
        if status.get("phase") in ("Succeeded", "Failed") and self.notes.get("final"):
            return
        if not self.notes.get("admitted"):
            self._admit()
        problems = missing_volume_sources(self.state, pod)
        if problems:
            self.waits_on_cluster = True
            if self.notes.get("mount_problem") != problems[0]:
                self.notes["mount_problem"] = problems[0]
                self.event(None, "Warning", "FailedMount", problems[0])
            self._write_status(blocked_reason="ContainerCreating")
            return
        self.notes.pop("mount_problem", None)
        volumedata.watch_sources(self.state, pod, self.node)   # ConfigMap/Secret volumes follow their changes
        spec = pod.get("spec") or {}
        blocked = False
        for container in spec.get("initContainers") or []:
            record = self._advance(container, init=True)
            sidecar = container.get("restartPolicy") == "Always"
            done = record.get("st") == "run" and record.get("started_ok") if sidecar else \
                record.get("st") == "exit" and record.get("exit", [1])[0] == 0
            if not done:
                blocked = True
                break
        if not blocked:
            for container in spec.get("containers") or []:
                self._advance(container, init=False)
        self._write_status()

    def _admit(self) -> None:
        """The pod sandbox: IPs from the node's pod CIDR, start time, the first conditions."""
        node_notes = self.state.sim(self.node)
        counter = int(node_notes.get("next_ip", 0))
        node_notes["next_ip"] = counter + 1
        cidr = ((self.node.get("spec") or {}).get("podCIDR") or "10.244.0.0/24").split("/")[0]
        a, b, c, _ = cidr.split(".")
        ip = f"{a}.{b}.{c}.{2 + counter % 250}"
        host_ip = next((addr["address"] for addr in (self.node.get("status") or {}).get("addresses") or []
                        if addr.get("type") == "InternalIP"), "")
        status = self.pod["status"]
        if (self.pod.get("spec") or {}).get("hostNetwork"):
            ip = host_ip
        status.update({"hostIP": host_ip, "hostIPs": [{"ip": host_ip}], "podIP": ip, "podIPs": [{"ip": ip}],
                       "startTime": timestamp(self.state.now)})
        self.notes["admitted"] = self.state.now
        self.changed = True

    # -------------------------------------------------------------- containers
    def _image(self, container: dict) -> images.Image | images.PullError:
        return images.lookup(container.get("image", ""))

    def _program(self, container: dict, record: dict) -> Program | None:
        name = container["name"]
        if name in self._programs:
            return self._programs[name]
        image = self._image(container)
        if isinstance(image, images.PullError) or record.get("start") is None:
            return None
        try:
            env = container_environment(self.state, self.pod, container, self.node, started=record["start"])
        except ConfigError:
            env = {}
        start, attempt = record["start"], int(record.get("attempt", 0))
        # The files are built from locals, not from self: this worker holds the program that holds `build`,
        # and a closure over self would make a cycle only the (rarely run) cyclic collector frees.
        state, pod = self.state, self.pod
        world = ContainerWorld(env, build=lambda: container_files(state, pod, container, image=image,
                                                                  start=start, attempt=attempt))
        program = program_for(image, container, world, record["start"], _memory_limit(container),
                              net=self._network())
        self._programs[name] = program
        return program

    def quiet_mark(self) -> list | None:
        """After a sync: what tells a later run that the pod needs none (reconcile's quiet mark): when its next
        transition is due and its fingerprint; with what its programs asked the network, and a checksum of
        the answers. None: no mark can tell (they asked more, or otherwise, than PodNetwork records)."""
        mark = [self.next_due, self.state.fingerprint_now(self.pod)]
        if self._net is None or not self._net.consulted:
            return mark
        questions = self._net.recorded_questions()
        if questions is None:
            return None
        return [*mark, questions, self._net.answers(questions, self.state.now)]

    def _network(self) -> PodNetwork:
        """The pod's view of the cluster network, shared by its containers (they share one namespace)."""
        if self._net is None:
            self._net = PodNetwork(self.state, self.pod)
        return self._net

    def _advance(self, container: dict, *, init: bool) -> dict:
        """Replay this container's transitions due up to now, in time order."""
        record = self.records.setdefault(container["name"], {"st": "new", "t": self.state.now, "attempt": 0})
        for _ in range(MAX_TRANSITIONS):
            due = self._step(container, record, init)
            if due is None:
                break
            if due > self.state.now:
                self.wake_at(due)
                break
        return record

    def _step(self, container: dict, record: dict, init: bool) -> float | None:
        """Do the transition that is due (if any); return when the next one is due (None: nothing timed)."""
        now = self.state.now
        st = record["st"]
        if st == "new":
            return self._begin_pull(container, record, init)
        if st == "pullwait":
            if record["pull_done"] > now:
                return record["pull_done"]
            image = self._image(container)
            took = record["pull_done"] - record["t"]
            size = image.size_bytes if isinstance(image, images.Image) else 0
            self.event(container, "Normal", "Pulled",
                       f'Successfully pulled image "{container.get("image")}" in {_go_duration(took)} '
                       f'({_go_duration(took)} including waiting). Image size: {size} bytes.', init)
            self.state.sim(self.node).setdefault("images", {})[container.get("image", "")] = record["pull_done"]
            return self._configure(container, record, init, record["pull_done"])
        if st == "pullerr":
            if record["retry_at"] > now:
                if not record.get("backoff_shown") and now < record["t"]:
                    return record["t"]
                if not record.get("backoff_shown"):
                    record["backoff_shown"] = True
                    record["waiting"] = ("ImagePullBackOff", f'Back-off pulling image "{container.get("image")}"')
                    self.event(container, "Normal", "BackOff", f'Back-off pulling image "{container.get("image")}"',
                               init)
                    self.event(container, "Warning", "Failed", "Error: ImagePullBackOff", init)
                    self.changed = True
                return record["retry_at"]
            record["st"] = "new"
            record["t"] = record["retry_at"]
            return now
        if st == "cfgerr":
            return self._configure(container, record, init, now)
        if st == "creating":
            if record["start"] > now:
                return record["start"]
            record["st"] = "run"
            record.pop("waiting", None)
            self.event(container, "Normal", "Created", f"Created container: {container['name']}", init)
            self.event(container, "Normal", "Started", f"Started container {container['name']}", init)
            self.changed = True
            return now
        if st == "run":
            return self._running(container, record, init)
        if st == "exit":
            return self._exited(container, record, init)
        return None

    def _begin_pull(self, container: dict, record: dict, init: bool) -> float | None:
        # From when the (re)start was due, not from this pass: a pass that comes late (the clock was
        # advanced) replays the restart at its instant, as the kubelet would have done it.
        now = min(record.get("t", self.state.now), self.state.now)
        image = self._image(container)
        ref = container.get("image", "")
        if isinstance(image, images.PullError):
            self.event(container, "Normal", "Pulling", f'Pulling image "{ref}"', init)
            self.event(container, "Warning", "Failed", image.message, init)
            self.event(container, "Warning", "Failed", f"Error: {image.reason}", init)
            backoff = min(record.get("pull_backoff", PULL_BACKOFF_INITIAL / 2) * 2, PULL_BACKOFF_MAX)
            record.update(st="pullerr", t=now + 1, retry_at=now + backoff, pull_backoff=backoff,
                          backoff_shown=False, waiting=(image.reason, image.error or image.message))
            self.changed = True
            return now + 1
        policy = container.get("imagePullPolicy", "IfNotPresent")
        present = ref in self.state.sim(self.node).get("images", {})
        if policy == "Never" and not present:
            record.update(st="pullerr", t=now, retry_at=now + PULL_BACKOFF_MAX, backoff_shown=True,
                          waiting=("ErrImageNeverPull",
                                   f'Container image "{ref}" is not present with pull policy of Never'))
            self.event(container, "Warning", "ErrImageNeverPull",
                       f'Container image "{ref}" is not present with pull policy of Never', init)
            self.changed = True
            return record["retry_at"]
        if present and policy != "Always":
            self.event(container, "Normal", "Pulled",
                       f'Container image "{ref}" already present on machine and can be accessed by the pod', init)
            return self._configure(container, record, init, now)
        pull = 0.0 if self.fast else image.pull_seconds
        self.event(container, "Normal", "Pulling", f'Pulling image "{ref}"', init)
        record.update(st="pullwait", t=now, pull_done=now + pull, waiting=("ContainerCreating", None))
        self.changed = True
        return record["pull_done"]

    def _configure(self, container: dict, record: dict, init: bool, at: float) -> float | None:
        """Environment from ConfigMaps/Secrets: CreateContainerConfigError until they exist. What it is made
        of is read now, once, and noted in the record (`env`): the container keeps it while it runs."""
        sources: dict = {}
        try:
            container_environment(self.state, self.pod, container, self.node, note=sources)
        except ConfigError as error:
            self.waits_on_cluster = True
            if record.get("st") != "cfgerr" or record.get("msg") != str(error):
                self.event(container, "Warning", "Failed", f"Error: {error}", init)
                record.update(st="cfgerr", msg=str(error), waiting=("CreateContainerConfigError", str(error)))
                self.changed = True
            return None  # retried when the cluster changes (a ConfigMap being created triggers a pass)
        record.pop("msg", None)
        record.pop("layer", None)        # a new run of the container starts from its image again,
        record.pop("subpaths", None)     # and with the ConfigMaps and Secrets as they are now
        if "env" in record:              # the previous run's (`kubectl logs --previous` replays it)
            record["prev_env"] = record.pop("env")
        else:
            record.pop("prev_env", None)
        if sources:
            record["env"] = sources
        create = 0.0 if self.fast else CONTAINER_CREATE_SECONDS
        # Its environment is made now, with the Services the kubelet knows of now (service links).
        record.update(st="creating", start=at + create, waiting=("ContainerCreating", None),
                      links=linked_services(self.state, self.pod))
        record.pop("probes", None)
        record.pop("ready", None)
        record.pop("started_ok", None)
        self._programs.pop(container["name"], None)
        self.changed = True
        return record["start"]

    def _running(self, container: dict, record: dict, init: bool) -> float | None:
        now = self.state.now
        program = self._program(container, record)
        if program is None:
            return None
        run = ended_by_terminal(program.run(now), record)   # `exit` typed into an attached shell, Ctrl-C
        self._runs[container["name"]] = run
        # What it uses from now on, for the resource model and the eviction manager (running_load).
        load = program.load(run).note()
        if record.get("load") != load:
            record["load"] = load
        for command in run.unsupported:
            if command not in record.setdefault("reported", []):
                record["reported"].append(command)
                self.event(container, "Warning", "Unsupported",
                           f"the playground's simulated shell cannot run {command!r} yet", init)
        probe_due, killed_at, kill_reason = self._probes(container, record, program, run, init)
        exit_time = run.exit_time if run.exited else None
        if killed_at is not None and (exit_time is None or killed_at < exit_time):
            # Stopped by the kubelet: SIGTERM, and SIGKILL after the grace period if the program ignores it.
            grace = float((self.pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30))
            stop = SERVER_STOP_SECONDS if not program.uses_shell else grace
            code, reason = (0, "Completed") if not program.uses_shell else (137, "Error")
            self._terminate_container(container, record, code, killed_at + stop, reason, init, kill_reason)
            return now
        if exit_time is not None and exit_time <= now:
            self._terminate_container(container, record, run.exit_code or 0, exit_time, run.reason, init)
            return now
        nexts = [t for t in (run.next_event, probe_due) if t is not None and t > now]
        return min(nexts) if nexts else None

    def _probes(self, container: dict, record: dict, program: Program, run, init: bool
                ) -> tuple[float | None, float | None, str]:
        """Run the probes due up to now; returns (next probe time, kill time or None, kill reason)."""
        now = self.state.now
        states = record.setdefault("probes", {})
        start = record["start"]
        target = ProbeTarget(
            pod_ip=self.pod["status"].get("podIP", ""),
            container_ports={p["name"]: p["containerPort"] for p in container.get("ports") or [] if p.get("name")},
            exec=lambda argv, when: self._exec_output(program, run, argv, when),
            http=program.http, tcp=program.listens)
        started_ok = "startupProbe" not in container or states.get("startupProbe", {}).get("ok", False)
        if "startupProbe" not in container:
            record["started_ok"] = True
        next_due: float | None = None
        for kind in PROBE_KINDS:
            probe = container.get(kind)
            if not probe or (kind != "startupProbe" and not started_ok) or (kind == "startupProbe" and started_ok):
                continue
            delay, period, success_threshold, failure_threshold, _ = timing(probe)
            ps = states.get(kind)
            if ps is None:
                # First probed initialDelaySeconds after the start, and never before the kubelet has seen the
                # container running (its next PLEG relist): a server listening a moment after its start is
                # not probed before it does.
                first = start + max(delay, PLEG_RELIST_SECONDS)
                if kind != "startupProbe" and "startupProbe" in container:
                    # Held back by the startup probe (prober/worker.go doProbe: the other probes are skipped
                    # until the container has started): from its success on, never against the past. The
                    # liveness worker probes at its next tick, a period later; the readiness probe at once,
                    # as the status update that marks the container started triggers it (UpdatePodStatus).
                    began = states.get("startupProbe", {}).get("at", now)
                    first = max(start + delay, began + (period if kind == "livenessProbe" else 0.0))
                ps = states[kind] = {"next": first, "succ": 0, "fail": 0, "ok": None}
            while ps["next"] <= now:
                at = ps["next"]
                ps["next"] = at + period
                outcome = run_probe(probe, target, at)
                if outcome.ok:
                    ps["succ"] += 1
                    ps["fail"] = 0
                    if ps["succ"] >= success_threshold and ps["ok"] is not True:
                        ps["ok"] = True
                        self.changed = True
                        if kind == "startupProbe":
                            ps["at"] = at
                            record["started_ok"] = True
                            started_ok = True
                            break           # the startup probe is done: no more checks of it
                    continue
                ps["fail"] += 1
                ps["succ"] = 0
                self.event(container, "Warning", "Unhealthy", f"{LABEL[kind]} probe failed: {outcome.message}", init)
                if ps["fail"] >= failure_threshold:
                    if kind == "readinessProbe":
                        if ps["ok"] is not False:
                            ps["ok"] = False
                            self.changed = True
                        continue
                    verb = "liveness" if kind == "livenessProbe" else "startup"
                    message = f"Container {container['name']} failed {verb} probe, will be restarted"
                    self.event(container, "Normal", "Killing", message, init)
                    return None, at, message
            next_due = ps["next"] if next_due is None else min(next_due, ps["next"])
        ready = started_ok and (states.get("readinessProbe", {}).get("ok") is True
                                if container.get("readinessProbe") else True)
        if record.get("ready") != ready:
            record["ready"] = ready
            self.changed = True
        return next_due, None, ""

    def _exec_output(self, program: Program, run, argv: list[str], when: float) -> tuple[int, str]:
        code, out, err = program.exec(argv, when, run)
        return code, (out + err)

    def _terminate_container(self, container: dict, record: dict, code: int, at: float, reason: str,
                             init: bool, kill_message: str = "") -> None:
        # A container being stopped still runs until it exits; the kubelet is blocked in the kill and
        # posts no new status meanwhile, so the container stays Ready as it was (ready=False only then).
        record.update(st="exit", exit=[code, at, reason], ready=record.get("ready", False) and at > self.state.now)
        # What the program wrote into its volumes stays there; its own layer goes with it (restart: _configure).
        volumedata.flush_program_writes(self.state, self.pod, container["name"], int(record.get("attempt", 0)),
                                        self._runs.get(container["name"]), at)
        record["ran_for"] = at - record["start"]
        record["prev_start"] = record["start"]
        self.changed = True

    def _restart_policy(self, container: dict, init: bool) -> str:
        if init and container.get("restartPolicy") == "Always":
            return "Always"
        policy = (self.pod.get("spec") or {}).get("restartPolicy", "Always")
        return "OnFailure" if init and policy == "Always" else policy

    def _exited(self, container: dict, record: dict, init: bool) -> float | None:
        now = self.state.now
        code, at, _ = record["exit"]
        if at > now:
            return at  # still stopping (a shell ignoring SIGTERM waits for the grace period)
        policy = self._restart_policy(container, init)
        if policy == "Never" or (policy == "OnFailure" and code == 0):
            return None
        # Restart: the first one at once, then with the back-off (10 s doubling to 5 min, reset after
        # 10 minutes of running), as the kubelet's crash-loop back-off does.
        if record.get("ran_for", 0) >= BACKOFF_RESET:
            record.pop("backoff", None)
        backoff = record.get("backoff")
        restart_at = at if backoff is None else at + backoff
        if restart_at > now:
            if not record.get("backoff_event"):
                record["backoff_event"] = True
                record["waiting_restart"] = True
                pod_ref = f"{self.pod['metadata']['name']}_{self.pod['metadata'].get('namespace', '')}" \
                          f"({self.pod['metadata'].get('uid', '')})"
                record["waiting"] = ("CrashLoopBackOff",
                                     f"back-off {int(backoff)}s restarting failed container={container['name']} "
                                     f"pod={pod_ref}")
                self.event(container, "Warning", "BackOff",
                           f"Back-off restarting failed container {container['name']} in pod {pod_ref}", init)
                self.changed = True
            return restart_at
        record["backoff"] = BACKOFF_INITIAL if backoff is None else min(backoff * 2, BACKOFF_MAX)
        record["last"] = record.pop("exit")
        record["attempt"] = int(record.get("attempt", 0)) + 1
        record.pop("backoff_event", None)
        record.pop("waiting_restart", None)
        record["st"] = "new"
        record["t"] = restart_at
        self.changed = True
        return now

    # ------------------------------------------------------------------ status
    def _container_status(self, container: dict, record: dict | None) -> dict:
        image = container.get("image", "")
        status = {"name": container["name"], "image": image, "imageID": "", "ready": False,
                  "restartCount": int((record or {}).get("attempt", 0)), "started": False}
        if record and record.get("st") in ("run", "exit", "creating") and record.get("start") is not None \
                and record["start"] <= self.state.now:
            resolved = self._image(container)
            if isinstance(resolved, images.Image):
                ref = resolved.ref
                status["image"] = f"{ref.registry}/{ref.repository}:{ref.tag}" if ref.tag else image
                status["imageID"] = f"{ref.registry}/{ref.repository}@sha256:{_digest(image)}"
            status["containerID"] = "containerd://" + _digest(
                f"{self.pod['metadata'].get('uid')}/{container['name']}/{record.get('attempt', 0)}")
        st = (record or {}).get("st", "new")
        if st == "run":
            status["state"] = {"running": {"startedAt": timestamp(record["start"])}}
            status["ready"] = bool(record.get("ready"))
            status["started"] = bool(record.get("started_ok", True))
        elif st == "exit" and record["exit"][1] > self.state.now:
            # Being stopped: still running until it exits.
            status["state"] = {"running": {"startedAt": timestamp(record["start"])}}
            status["started"] = True
            status["ready"] = bool(record.get("ready"))
        elif st == "exit" and not record.get("waiting_restart"):
            code, at, reason = record["exit"]
            status["state"] = {"terminated": {"exitCode": code, "reason": reason,
                                              "startedAt": timestamp(record["start"]), "finishedAt": timestamp(at),
                                              "containerID": status.get("containerID", "")}}
        else:
            reason, message = (record or {}).get("waiting") or ("ContainerCreating", None)
            if st in ("creating", "pullwait", "new") and reason not in ("ContainerCreating",):
                reason, message = "ContainerCreating", None
            waiting = {"reason": reason}
            if message:
                waiting["message"] = message
            status["state"] = {"waiting": waiting}
            status.pop("containerID", None)
        last = (record or {}).get("exit") if st == "exit" and record.get("waiting_restart") else None
        if last:
            code, at, reason = last
            status["lastState"] = {"terminated": {"exitCode": code, "reason": reason,
                                                  "startedAt": timestamp(record.get("start") or at),
                                                  "finishedAt": timestamp(at)}}
            return status
        last = (record or {}).get("last")
        if last:
            code, at, reason = last
            status["lastState"] = {"terminated": {"exitCode": code, "reason": reason,
                                                  "startedAt": timestamp(record.get("prev_start") or at),
                                                  "finishedAt": timestamp(at)}}
        else:
            status["lastState"] = {}
        return status

    def _write_status(self, blocked_reason: str | None = None) -> None:
        spec, status = self.pod.get("spec") or {}, self.pod["status"]
        before = dict(status)   # every field below is replaced, never changed in place: == sees a change
        init_statuses = [self._container_status(c, self.records.get(c["name"]))
                         for c in spec.get("initContainers") or []]
        statuses = [self._container_status(c, self.records.get(c["name"])) for c in spec.get("containers") or []]
        if init_statuses:
            status["initContainerStatuses"] = init_statuses
        status["containerStatuses"] = statuses
        initialized = all((s["state"].get("terminated") or {}).get("exitCode") == 0 or
                          (c.get("restartPolicy") == "Always" and s.get("started"))
                          for s, c in zip(init_statuses, spec.get("initContainers") or []))
        all_ready = all(s["ready"] for s in statuses) and bool(statuses)
        phase = self._phase(statuses, init_statuses)
        if phase in ("Succeeded", "Failed"):
            self.notes["final"] = True
        status["phase"] = phase
        now_ts = timestamp(self.state.now)
        sandbox = self.notes.get("admitted") is not None and blocked_reason is None
        not_ready_names = [s["name"] for s in statuses if not s["ready"]]
        incomplete_names = [s["name"] for s in init_statuses
                            if (s["state"].get("terminated") or {}).get("exitCode") != 0]
        conditions = {
            "PodReadyToStartContainers": ("True" if sandbox else "False", None, None),
            "Initialized": ("True", None, None) if initialized else
            ("False", "ContainersNotInitialized",
             f"containers with incomplete status: [{' '.join(incomplete_names)}]"),
            "Ready": ("True", None, None) if all_ready else
            (("False", "PodCompleted", None) if phase in ("Succeeded", "Failed") else
             ("False", "ContainersNotReady", f"containers with unready status: [{' '.join(not_ready_names)}]")),
            "ContainersReady": ("True", None, None) if all_ready else
            (("False", "PodCompleted", None) if phase in ("Succeeded", "Failed") else
             ("False", "ContainersNotReady", f"containers with unready status: [{' '.join(not_ready_names)}]")),
        }
        existing = {c.get("type"): c for c in status.get("conditions") or []}
        merged = []
        for kind in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"):
            if kind == "PodScheduled":
                if kind in existing:
                    merged.append(existing[kind])
                continue
            value, reason, message = conditions[kind]
            old = existing.get(kind)
            condition = {"type": kind, "status": value, "lastProbeTime": None,
                         "lastTransitionTime": old["lastTransitionTime"] if old and old.get("status") == value
                         else now_ts}
            if reason:
                condition["reason"] = reason
            if message:
                condition["message"] = message
            merged.append(condition)
        status["conditions"] = merged
        status.setdefault("qosClass", status.get("qosClass", "BestEffort"))
        if status != before or self.changed:
            self.state.update(self.pod)

    def _phase(self, statuses: list[dict], init_statuses: list[dict]) -> str:
        policy = (self.pod.get("spec") or {}).get("restartPolicy", "Always")
        if any("waiting" in s["state"] for s in init_statuses) or \
                any("running" in s["state"]
                    for s, c in zip(init_statuses, (self.pod["spec"].get("initContainers") or []))
                    if c.get("restartPolicy") != "Always"):
            return "Pending"
        if not statuses:
            return "Pending"
        states = [s["state"] for s in statuses]
        if any("running" in st for st in states):
            return "Running"
        terminated = [st["terminated"] for st in states if "terminated" in st]
        if len(terminated) == len(states):
            if policy == "Always":
                return "Running"
            if all(t["exitCode"] == 0 for t in terminated):
                return "Succeeded"
            if policy == "Never":
                return "Failed"
            return "Running"
        if any(s.get("restartCount") for s in statuses) or any(r.get("last") for r in self.records.values()):
            return "Running"
        return "Pending"

    # ------------------------------------------------------------- termination
    def _terminate(self) -> None:
        """A pod with deletionTimestamp: stop its containers, then remove it from the API."""
        meta = self.pod["metadata"]
        deadline = parse_timestamp(meta.get("deletionTimestamp")) or self.state.now
        grace = float(meta.get("deletionGracePeriodSeconds") or 0)
        requested = deadline - grace
        if not self.notes.get("stopping"):
            self.notes["stopping"] = requested
            stop_at = requested
            for container in self.pod["spec"].get("containers") or []:
                record = self.records.get(container["name"]) or {}
                if record.get("st") == "run":
                    self.event(container, "Normal", "Killing", f"Stopping container {container['name']}")
                    program = self._program(container, record)
                    takes = grace if program is None or program.uses_shell else min(grace, SERVER_STOP_SECONDS)
                    stop_at = max(stop_at, requested + takes)
            self.notes["stopped_at"] = min(stop_at, deadline)
        stopped_at = self.notes["stopped_at"]
        if self.state.now >= stopped_at:
            self._keep_volume_writes(stopped_at)
            self.state.delete(self.pod)
        else:
            self.wake_at(stopped_at)


    def _keep_volume_writes(self, stopped_at: float) -> None:
        """The pod goes: what its running programs wrote into volumes that outlive it (hostPath, claims) stays."""
        if not any("hostPath" in v or "persistentVolumeClaim" in v
                   for v in (self.pod.get("spec") or {}).get("volumes") or []):
            return
        for container in self.pod["spec"].get("containers") or []:
            record = self.records.get(container["name"]) or {}
            if record.get("st") != "run" or record.get("start") is None:
                continue
            program = self._program(container, record)
            if program is not None and program.uses_shell:
                volumedata.flush_program_writes(self.state, self.pod, container["name"],
                                                int(record.get("attempt", 0)), program.run(stopped_at), stopped_at)


def running_load(state: ClusterState, pod: dict, name: str) -> tuple[Load, float] | None:
    """What container `name` of `pod` uses while it runs, as its kubelet last saw it (program.Load), and
    when its current run started; None if it is not running or the kubelet has not looked since it started."""
    record = (state.sim(pod).get("c") or {}).get(name)
    if not record or record.get("st") not in ("run", "exit") or record.get("start") is None:
        return None
    note = record.get("load")
    if note is None:
        return None
    return Load.from_note(note), float(record["start"])


def memory_ceilings(state: ClusterState, pod: dict) -> dict[str, int]:
    """The most memory each running container's program will hold (its Load at its largest), by name; a
    container the kubelet has noted no load for is absent. Cheap: the eviction manager's bound."""
    records = state.sim(pod).get("c")
    if not records:
        return {}
    out = {}
    for name, record in records.items():
        note = record.get("load")
        if note is not None and record.get("st") in ("run", "exit"):
            out[name] = max(note[1], note[3])
    return out


def reconcile(state: ClusterState) -> None:
    fast = not state.config.get("start_delays", True)
    nodes = {node["metadata"]["name"]: node for node in state.list("Node")}
    for node in nodes.values():
        volumedata.track_sources(state, node)      # ConfigMap/Secret changes reaching the pods that mount them
    for pod in state.list("Pod"):
        node = nodes.get((pod.get("spec") or {}).get("nodeName") or "")
        if node is None or state.sim(node).get("failed"):
            continue
        notes = state.sim(pod)
        meta = pod["metadata"]
        quiet = notes.get("quiet")
        # A pod nobody changed since the kubelet last looked, with nothing due before a known time,
        # needs no work now: most pods of an idle cluster, and the pods it synced earlier in this step (a
        # step's later passes run it again for what other controllers wrote). The fingerprint of the pod as
        # it stands tells whether anyone wrote it since. A pod whose programs asked the network (the
        # init-containers tutorial's `until nslookup myservice…`, which ends when the Service comes) also
        # needs the same answers to the same questions (network_quiet).
        if quiet and not meta.get("deletionTimestamp") and (quiet[0] is None or state.now < quiet[0]) \
                and quiet[1] == state.fingerprint_now(pod) and (len(quiet) < 4 or network_quiet(state, pod, quiet)):
            state.wake_at(quiet[0])
            continue
        worker = PodWorker(state, pod, node, fast)
        worker.sync()
        mark = None if worker.waits_on_cluster else worker.quiet_mark()
        if mark is not None:
            if notes.get("quiet") != mark:
                notes["quiet"] = mark
        elif "quiet" in notes:
            notes.pop("quiet")


def network_quiet(state: ClusterState, pod: dict, quiet: list) -> bool:
    """Whether the questions in the pod's quiet mark get the answers they got (asked again now: a few
    lookups, rather than a replay of every program since it started)."""
    return PodNetwork(state, pod).answers(quiet[2], state.now) == quiet[3]
