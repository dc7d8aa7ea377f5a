"""The HorizontalPodAutoscaler controller (upstream pkg/controller/podautoscaler: horizontal.go,
replica_calculator.go, metrics/utilization.go, metrics/client.go).

Every HPA is synced once per --horizontal-pod-autoscaler-sync-period (15 s): its work queue adds it
rate limited, so the first sync comes 15 s after it was created, then every 15 s (the time of the next
one is kept in its simulation notes; between syncs an HPA costs one look at them). One sync is
reconcileAutoscaler:

* the scale subresource of spec.scaleTargetRef (Deployment, ReplicaSet, StatefulSet,
  ReplicationController: spec.replicas and the target's label selector); an unknown kind, a kind
  without a scale subresource or a missing target is `FailedGetScale` (event and AbleToScale False);
* replicas 0 (with minReplicas > 0) disables autoscaling (ScalingActive False, ScalingDisabled);
  replicas above maxReplicas or below minReplicas are brought into range first;
* computeReplicasForMetrics: each metric's proposal, the largest wins. Resource and ContainerResource
  metrics read metrics-server's last scrape (clusters/engine/metrics.py) as the resource metrics
  client lists PodMetrics; GetResourceReplicas (target Utilization, a percentage of the pods'
  requests: GetResourceUtilizationRatio) and GetRawResourceReplicas (target AverageValue) with
  groupPods' handling of pending, not-ready (cpu: within the 5 min cpuInitializationPeriod, or never
  ready within delayOfInitialReadinessStatus, 30 s), missing and ignored pods and the tolerance (0.1,
  or behavior's tolerance). Pods, Object and External metrics fail as on a cluster without a custom or
  external metrics adapter. A metric that fails is `FailedGet<Type>Metric` (event, ScalingActive
  False); when every metric fails (or some fail and the rest would scale down) the sync ends with
  `FailedComputeMetricsReplicas` "invalid metrics (1 invalid out of 1), first error is: …";
* normalizeDesiredReplicas (no behavior: the 300 s downscale stabilization window, the scale-up limit
  max(2 × current, 4)) or normalizeDesiredReplicasWithBehaviors (stabilizeRecommendationWithBehaviors,
  convertDesiredReplicasWithBehaviorRate with calculateScaleUpLimitWithScalingRules /
  calculateScaleDownLimitWithBehaviors: Pods and Percent policies over periodSeconds, selectPolicy
  Max/Min/Disabled), which set AbleToScale and ScalingLimited with their real reasons and messages;
* a new size is written to the target's spec.replicas (its generation goes up, as through the scale
  subresource) with `SuccessfulRescale` "New size: 4; reason: cpu resource utilization (percentage of
  request) above target" / "All metrics below target";
* setStatus: currentReplicas, desiredReplicas, currentMetrics (a failed metric's entry stays
  `type: ""`, which kubectl prints as `<unknown>`), lastScaleTime, the conditions — written only when
  it changed (updateStatusIfNeeded). Like upstream, the controller never sets observedGeneration.

The recommendations and scale events the real controller keeps in memory per HPA live in the HPA's
simulation notes ("recs", "up", "down": [time, replicas] pairs), pruned to the windows and policy
periods that can still read them.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction

from .. import metrics
from ..resources import DECIMAL_SI, Selector, format_quantity, parse_quantity
from ..state import ClusterState, parse_timestamp, timestamp
from .podutil import clone, label_selector, pod_condition

COMPONENT = "horizontal-pod-autoscaler"
SYNC_PERIOD = 15.0                          # --horizontal-pod-autoscaler-sync-period
TOLERANCE = 0.1                             # --horizontal-pod-autoscaler-tolerance
CPU_INITIALIZATION_PERIOD = 300.0           # --horizontal-pod-autoscaler-cpu-initialization-period
DELAY_OF_INITIAL_READINESS_STATUS = 30.0    # --horizontal-pod-autoscaler-initial-readiness-delay
DOWNSCALE_STABILISATION_WINDOW = 300.0      # --horizontal-pod-autoscaler-downscale-stabilization
SCALE_UP_LIMIT_FACTOR = 2.0
SCALE_UP_LIMIT_MINIMUM = 4.0

# Kinds with a scale subresource, by (group, kind): their resource name.
SCALABLE = {("apps", "Deployment"): "deployments", ("apps", "ReplicaSet"): "replicasets",
            ("apps", "StatefulSet"): "statefulsets", ("", "ReplicationController"): "replicationcontrollers"}
# Other kinds the REST mapper knows (no scale subresource): (group, kind) → (version, resource).
_UNSCALABLE = {
    ("", "Pod"): ("v1", "pods"), ("", "Service"): ("v1", "services"), ("", "ConfigMap"): ("v1", "configmaps"),
    ("", "Secret"): ("v1", "secrets"), ("", "PersistentVolumeClaim"): ("v1", "persistentvolumeclaims"),
    ("", "ServiceAccount"): ("v1", "serviceaccounts"), ("", "Namespace"): ("v1", "namespaces"),
    ("", "Node"): ("v1", "nodes"), ("apps", "DaemonSet"): ("v1", "daemonsets"),
    ("apps", "ControllerRevision"): ("v1", "controllerrevisions"), ("batch", "Job"): ("v1", "jobs"),
    ("batch", "CronJob"): ("v1", "cronjobs"),
    ("autoscaling", "HorizontalPodAutoscaler"): ("v2", "horizontalpodautoscalers"),
    ("networking.k8s.io", "Ingress"): ("v1", "ingresses"),
    ("policy", "PodDisruptionBudget"): ("v1", "poddisruptionbudgets"),
}
_STATUS_ORDER = ("observedGeneration", "lastScaleTime", "currentReplicas", "desiredReplicas", "currentMetrics",
                 "conditions")


class MetricError(Exception):
    pass


def reconcile(state: ClusterState) -> None:
    hpas = state.list("HorizontalPodAutoscaler")
    if not hpas:
        return
    now = state.now
    due = []
    for hpa in hpas:
        notes = state.sim(hpa)
        at = notes.get("next")
        if at is None:
            at = (parse_timestamp(hpa["metadata"].get("creationTimestamp")) or now) + SYNC_PERIOD
            notes["next"] = at
        if now + 1e-9 < at:
            state.wake_at(at)
        else:
            due.append(hpa)
    # metrics-server's last scrape, read once: what it serves does not change with this pass's writes
    # (and the memo of metrics.scrape would be rebuilt after each of them).
    scrape = metrics.scrape(state) if due else None
    for hpa in due:
        _Sync(state, hpa, hpas, scrape).run()
        state.sim(hpa)["next"] = round(now + SYNC_PERIOD, 3)
        state.wake_at(now + SYNC_PERIOD)


# ------------------------------------------------------------------ the scale subresource

class _Scale:
    def __init__(self, target: dict, resource: str, replicas: int, status_replicas: int, selector: Selector) -> None:
        self.target, self.resource = target, resource
        self.replicas, self.status_replicas, self.selector = replicas, status_replicas, selector


def _parse_group(api_version: str) -> str:
    """schema.ParseGroupVersion's group ("" for "v1"); a bad string raises with the real message."""
    if not api_version or api_version == "v1":
        return ""
    parts = api_version.split("/")
    if len(parts) == 1:
        return ""           # "v2": the legacy group with that version
    if len(parts) == 2:
        return parts[0]
    raise MetricError(f"unexpected GroupVersion string: {api_version}")


def get_scale(state: ClusterState, namespace: str, ref: dict) -> _Scale:
    """scaleForResourceMappings: the target's scale, or MetricError with the client's error text."""
    group = _parse_group(ref.get("apiVersion") or "")
    kind, name = ref.get("kind") or "", ref.get("name") or ""
    resource = SCALABLE.get((group, kind))
    if resource is None:
        known = _UNSCALABLE.get((group, kind))
        if known is None:
            raise MetricError(f'no matches for kind "{kind}" in group "{group}"')
        raise MetricError(f"could not find scale subresource for {group}/{known[0]}, Resource={known[1]} "
                          f"in discovery information")
    target = state.get(kind, namespace, name)
    if target is None:
        qualified = f"{resource}.{group}" if group else resource
        raise MetricError(f'{qualified} "{name}" not found')
    spec, status = target.get("spec") or {}, target.get("status") or {}
    replicas = int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1)
    if kind == "ReplicationController":
        selector = label_selector(spec.get("selector") or {}, plain_map=True)
    else:
        selector = label_selector(spec.get("selector"))
    return _Scale(target, resource, replicas, int(status.get("replicas") or 0), selector)


def _write_scale(state: ClusterState, scale: _Scale, replicas: int) -> None:
    """An update of the scale subresource: the target's spec.replicas, and so its generation."""
    target = scale.target
    target.setdefault("spec", {})["replicas"] = replicas
    meta = target["metadata"]
    meta["generation"] = int(meta.get("generation") or 0) + 1
    state.update(target)


# ------------------------------------------------------------------ small helpers

def _milli(value) -> int:
    """Quantity.MilliValue(): rounded up."""
    return math.ceil(parse_quantity(value) * 1000)


def _milli_quantity(milli: int) -> str:
    """resource.NewMilliQuantity(milli, DecimalSI).String()."""
    return format_quantity(Fraction(milli, 1000), DECIMAL_SI)


def _go_selector(selector: dict | None) -> str:
    """%+v of a *metav1.LabelSelector (its generated String())."""
    if selector is None:
        return "nil"
    labels = "".join(f"{k}: {v}," for k, v in sorted((selector.get("matchLabels") or {}).items()))
    exprs = "".join(
        f"LabelSelectorRequirement{{Key:{e.get('key', '')},Operator:{e.get('operator', '')},"
        f"Values:[{' '.join(e.get('values') or [])}],}},"
        for e in selector.get("matchExpressions") or ())
    return (f"&LabelSelector{{MatchLabels:map[string]string{{{labels}}},"
            f"MatchExpressions:[]LabelSelectorRequirement{{{exprs}}},}}")


def _tolerance(rules: dict | None) -> float:
    value = (rules or {}).get("tolerance")
    if value is None:
        return TOLERANCE
    try:
        return float(parse_quantity(value))
    except ValueError:
        return TOLERANCE


class _Tolerances:
    def __init__(self, hpa: dict) -> None:
        behavior = (hpa.get("spec") or {}).get("behavior") or {}
        self.down, self.up = _tolerance(behavior.get("scaleDown")), _tolerance(behavior.get("scaleUp"))

    def is_within(self, ratio: float) -> bool:
        return (1.0 - self.down) <= ratio <= (1.0 + self.up)


# ------------------------------------------------------------------ the replica calculator

class _PodMetric:
    __slots__ = ("value", "timestamp", "window")

    def __init__(self, value: int, timestamp: float = 0.0, window: float = 0.0) -> None:
        self.value, self.timestamp, self.window = value, timestamp, window


def _usage_milli(container_usage, resource: str) -> int:
    # metrics-server serves cpu in nanocores and memory in Ki; the client reads MilliValue() of each.
    if resource == "cpu":
        return math.ceil(int(round(container_usage.cpu_millicores * 1_000_000)) / 1_000_000)
    return (container_usage.memory_bytes // 1024) * 1024 * 1000


def get_resource_metric(scrape: metrics.Scrape | None, pods: list[dict], resource: str,
                        container: str = "") -> dict[str, _PodMetric]:
    """resourceMetricsClient.GetResourceMetric: PodMetrics of the selected pods from the last scrape."""
    items = []
    if scrape is not None:
        for pod in pods:
            usage = scrape.pods.get(pod["metadata"].get("uid", ""))
            if usage is not None:
                items.append((pod["metadata"]["name"], usage))
    if not items:
        raise MetricError("no metrics returned from resource metrics API")
    out: dict[str, _PodMetric] = {}
    namespace = pods[0]["metadata"].get("namespace", "") if pods else ""
    for name, usage in items:
        if container:
            found = next((c for c in usage.containers if c.name == container), None)
            if found is None:
                raise MetricError(f"failed to get container metrics: container {container} not present in "
                                  f"metrics for pod {namespace}/{name}")
            out[name] = _PodMetric(_usage_milli(found, resource), scrape.timestamp, scrape.window)
        elif usage.containers:
            out[name] = _PodMetric(sum(_usage_milli(c, resource) for c in usage.containers),
                                   scrape.timestamp, scrape.window)
    return out


def group_pods(pods: list[dict], pod_metrics: dict[str, _PodMetric], resource: str,
               now: float) -> tuple[int, set[str], set[str], set[str]]:
    """groupPods: (ready pod count, unready, missing, ignored pod names)."""
    ready = 0
    unready: set[str] = set()
    missing: set[str] = set()
    ignored: set[str] = set()
    for pod in pods:
        name = pod["metadata"]["name"]
        status = pod.get("status") or {}
        if pod["metadata"].get("deletionTimestamp") or status.get("phase") == "Failed":
            ignored.add(name)
            continue
        if status.get("phase") == "Pending":
            unready.add(name)
            continue
        metric = pod_metrics.get(name)
        if metric is None:
            missing.add(name)
            continue
        if resource == "cpu":
            condition = pod_condition(pod, "Ready")
            start = parse_timestamp(status.get("startTime"))
            if condition is None or start is None:
                is_unready = True
            else:
                transition = parse_timestamp(condition.get("lastTransitionTime")) or 0.0
                if start + CPU_INITIALIZATION_PERIOD > now:
                    is_unready = (condition.get("status") == "False"
                                  or metric.timestamp < transition + metric.window)
                else:
                    is_unready = (condition.get("status") == "False"
                                  and start + DELAY_OF_INITIAL_READINESS_STATUS > transition)
            if is_unready:
                unready.add(name)
                continue
        ready += 1
    return ready, unready, missing, ignored


def calculate_pod_requests(pods: list[dict], container: str, resource: str) -> dict[str, int]:
    """calculatePodRequests: each pod's request in milli-units (containers and sidecars)."""
    requests: dict[str, int] = {}
    for pod in pods:
        spec = pod.get("spec") or {}
        name = pod["metadata"]["name"]
        pod_level = ((spec.get("resources") or {}).get("requests") or {}).get(resource)
        if not container and pod_level is not None:
            requests[name] = _milli(pod_level)
            continue
        containers = list(spec.get("containers") or ())
        containers += [c for c in spec.get("initContainers") or () if c.get("restartPolicy") == "Always"]
        total = 0
        for c in containers:
            if container and c.get("name") != container:
                continue
            request = ((c.get("resources") or {}).get("requests") or {}).get(resource)
            if request is None:
                raise MetricError(f"missing request for {resource} in container {c.get('name', '')} of Pod {name}")
            total += _milli(request)
        requests[name] = total
    return requests


def resource_utilization_ratio(pod_metrics: dict[str, _PodMetric], requests: dict[str, int],
                               target: int) -> tuple[float, int, int]:
    """GetResourceUtilizationRatio: (ratio, current utilization %, raw average in milli-units)."""
    metrics_total = requests_total = entries = 0
    for name, metric in pod_metrics.items():
        if name not in requests:
            continue
        metrics_total += metric.value
        requests_total += requests[name]
        entries += 1
    if requests_total == 0:
        raise MetricError("no metrics returned matched known pods")
    utilization = _to_int32((metrics_total * 100) // requests_total)
    return utilization / target, utilization, metrics_total // entries


def _to_int32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def usage_ratio(pod_metrics: dict[str, _PodMetric], target: int) -> tuple[float, int]:
    """GetMetricUsageRatio: (ratio, average usage in milli-units)."""
    usage = sum(m.value for m in pod_metrics.values()) // len(pod_metrics)
    return usage / target, usage


def _selected_pods(state: ClusterState, namespace: str, selector: Selector) -> list[dict]:
    return [p for p in state.list("Pod", namespace) if selector.matches(p["metadata"].get("labels") or {})]


def _measured_pods(scrape: metrics.Scrape | None, now: float, resource: str, pods: list[dict], container: str
                   ) -> tuple[dict[str, _PodMetric], set[str], set[str], int, float]:
    """What GetResourceReplicas and GetRawResourceReplicas both begin with: the pods' metrics with the
    ignored and unready pods' taken out, (metrics, unready, missing, ready count, metrics timestamp)."""
    try:
        pod_metrics = get_resource_metric(scrape, pods, resource, container)
    except MetricError as err:
        raise MetricError(f"unable to get metrics for resource {resource}: {err}") from None
    if not pods:
        raise MetricError("no pods returned by selector while calculating replica count")
    stamp = next(iter(pod_metrics.values())).timestamp if pod_metrics else 0.0
    ready, unready, missing, ignored = group_pods(pods, pod_metrics, resource, now)
    for name in ignored | unready:
        pod_metrics.pop(name, None)
    if not pod_metrics:
        raise MetricError("did not receive metrics for targeted pods (pods might be unready)")
    return pod_metrics, unready, missing, ready, stamp


def _replica_count(current: int, ready: int, ratio: float, pod_metrics: dict[str, _PodMetric], unready: set[str],
                   missing: set[str], missing_value: Callable[[str], int | None],
                   new_ratio_of: Callable[[dict[str, _PodMetric]], float], tolerances: _Tolerances) -> int:
    """How both end: the plain proposal when every pod has a metric and none is unready; otherwise the ratio
    again with the missing pods at `missing_value` (None: left out) and, scaling up, the unready at 0 — kept
    at `current` when that is within tolerance or turns the direction round."""
    scale_up_with_unready = bool(unready) and ratio > 1.0
    if not scale_up_with_unready and not missing:
        return current if tolerances.is_within(ratio) else math.ceil(ratio * ready)
    for name in missing:
        value = missing_value(name)
        if value is not None:
            pod_metrics[name] = _PodMetric(value)
    if scale_up_with_unready:
        for name in unready:
            pod_metrics[name] = _PodMetric(0)
    new_ratio = new_ratio_of(pod_metrics)
    if tolerances.is_within(new_ratio) or (ratio < 1.0 < new_ratio) or (ratio > 1.0 > new_ratio):
        return current
    replicas = math.ceil(new_ratio * len(pod_metrics))
    if (new_ratio < 1.0 and replicas > current) or (new_ratio > 1.0 and replicas < current):
        return current
    return replicas


def get_resource_replicas(scrape: metrics.Scrape | None, now: float, current: int, target: int, resource: str,
                          tolerances: _Tolerances, pods: list[dict],
                          container: str = "") -> tuple[int, int, int, float]:
    """GetResourceReplicas: (replicas, utilization %, raw average in milli-units, metrics timestamp)."""
    pod_metrics, unready, missing, ready, stamp = _measured_pods(scrape, now, resource, pods, container)
    requests = calculate_pod_requests(pods, container, resource)
    ratio, utilization, raw = resource_utilization_ratio(pod_metrics, requests, target)

    def missing_value(name: str) -> int | None:
        # Scaling down, a missing pod counts as using max(100 %, target) of its request; up, as using nothing.
        if ratio < 1.0:
            return requests[name] * max(100, target) // 100
        return 0 if ratio > 1.0 else None

    replicas = _replica_count(current, ready, ratio, pod_metrics, unready, missing, missing_value,
                              lambda filled: resource_utilization_ratio(filled, requests, target)[0], tolerances)
    return replicas, utilization, raw, stamp


def get_raw_resource_replicas(scrape: metrics.Scrape | None, now: float, current: int, target: int, resource: str,
                              tolerances: _Tolerances, pods: list[dict],
                              container: str = "") -> tuple[int, int, float]:
    """GetRawResourceReplicas (calcPlainMetricReplicas): (replicas, average usage in milli-units, timestamp)."""
    pod_metrics, unready, missing, ready, stamp = _measured_pods(scrape, now, resource, pods, container)
    ratio, usage = usage_ratio(pod_metrics, target)
    replicas = _replica_count(current, ready, ratio, pod_metrics, unready, missing,
                              lambda _name: target if ratio < 1.0 else 0,
                              lambda filled: usage_ratio(filled, target)[0], tolerances)
    return replicas, usage, stamp


# ------------------------------------------------------------------ one sync

class _Sync:
    """reconcileAutoscaler for one HPA, on a working copy of its status."""

    def __init__(self, state: ClusterState, hpa: dict, all_hpas: list[dict], scrape: metrics.Scrape | None) -> None:
        self.state, self.hpa, self.all_hpas, self.scrape = state, hpa, all_hpas, scrape
        self.spec = hpa.get("spec") or {}
        self.namespace = hpa["metadata"].get("namespace", "")
        self.notes = state.sim(hpa)
        self.original = hpa.get("status") or {}
        self.status = clone(self.original)
        self.status.setdefault("conditions", [])
        self.pods: list[dict] = []

    # ------------------------------------------------------------ status helpers
    def event(self, event_type: str, reason: str, message: str) -> None:
        self.state.event(self.hpa, event_type, reason, message, component=COMPONENT)

    def set_condition(self, cond_type: str, status: str, reason: str, message: str) -> None:
        """setConditionInList: added at the end if absent; lastTransitionTime moves with the status."""
        conditions = self.status["conditions"]
        existing = next((c for c in conditions if c.get("type") == cond_type), None)
        if existing is None:
            existing = {"type": cond_type}
            conditions.append(existing)
        transition = existing.get("lastTransitionTime")
        if existing.get("status") != status or transition is None:
            transition = timestamp(self.state.now)
        existing.clear()
        existing.update({"type": cond_type, "status": status, "lastTransitionTime": transition,
                         "reason": reason, "message": message})

    def set_status(self, current: int, desired: int, metric_statuses: list[dict] | None, rescale: bool) -> None:
        """setStatus: the status rebuilt from these fields (anything else is dropped)."""
        new: dict = {}
        last_scale = self.status.get("lastScaleTime")
        if rescale:
            last_scale = timestamp(self.state.now)
        if last_scale:
            new["lastScaleTime"] = last_scale
        if current:
            new["currentReplicas"] = current        # omitempty in autoscaling/v2
        new["desiredReplicas"] = desired
        if metric_statuses:
            new["currentMetrics"] = metric_statuses
        if self.status.get("conditions"):
            new["conditions"] = self.status["conditions"]
        self.status = new

    def write_status(self) -> None:
        """updateStatusIfNeeded."""
        status = {k: self.status[k] for k in _STATUS_ORDER if k in self.status}
        if not status.get("conditions"):
            status.pop("conditions", None)
        if status != self.original:
            self.hpa["status"] = status
            self.state.update(self.hpa)

    # ------------------------------------------------------------ the sync
    def run(self) -> None:
        ref = self.spec.get("scaleTargetRef") or {}
        try:
            scale = get_scale(self.state, self.namespace, ref)
        except MetricError as err:
            self.event("Warning", "FailedGetScale", str(err))
            self.set_condition("AbleToScale", "False", "FailedGetScale",
                               f"the HPA controller was unable to get the target's current scale: {err}")
            self.write_status()
            return
        self.set_condition("AbleToScale", "True", "SucceededGetScale",
                           "the HPA controller was able to get the target's current scale")
        current = scale.replicas
        self.record_initial_recommendation(current)

        metric_statuses: list[dict] | None = None
        desired = 0
        reason = ""
        min_replicas = self.spec.get("minReplicas")
        min_replicas = 1 if min_replicas is None else int(min_replicas)
        max_replicas = int(self.spec.get("maxReplicas") or 0)
        rescale = True
        if current == 0 and min_replicas != 0:
            desired = 0
            rescale = False
            self.set_condition("ScalingActive", "False", "ScalingDisabled",
                               "scaling is disabled since the replica count of the target is zero")
        elif current > max_replicas:
            reason = "Current number of replicas above Spec.MaxReplicas"
            desired = max_replicas
        elif current < min_replicas:
            reason = "Current number of replicas below Spec.MinReplicas"
            desired = min_replicas
        else:
            proposal, metric_name, metric_statuses, error = self.compute_replicas_for_metrics(scale)
            if error is not None and proposal == -1:
                self.set_status(current, int(self.status.get("desiredReplicas") or 0), metric_statuses, False)
                self.write_status()
                self.event("Warning", "FailedComputeMetricsReplicas", error)
                return
            rescale_metric = ""
            if proposal > desired:
                desired = proposal
                rescale_metric = metric_name
            if desired > current:
                reason = f"{rescale_metric} above target"
            if desired < current:
                reason = "All metrics below target"
            if self.spec.get("behavior") is None:
                desired = self.normalize_desired_replicas(current, desired, min_replicas, max_replicas)
            else:
                desired = self.normalize_desired_replicas_with_behaviors(current, desired, min_replicas,
                                                                         max_replicas)
            rescale = desired != current

        if rescale:
            _write_scale(self.state, scale, desired)
            self.set_condition("AbleToScale", "True", "SucceededRescale",
                               f"the HPA controller was able to update the target scale to {desired}")
            self.event("Normal", "SuccessfulRescale", f"New size: {desired}; reason: {reason}")
            self.store_scale_event(current, desired)
        else:
            desired = current
        self.set_status(current, desired, metric_statuses, rescale)
        self.write_status()

    # ------------------------------------------------------------ metrics
    def validate_and_parse_selector(self, scale: _Scale) -> tuple[Selector | None, str]:
        """validateAndParseSelector: the target's selector, refused when empty or when its pods are
        also selected by another HPA's target (AmbiguousSelector). Keeps the selected pods in self.pods."""
        if scale.selector.empty():
            self.event("Warning", "SelectorRequired", "selector is required")
            self.set_condition("ScalingActive", "False", "InvalidSelector",
                               "the HPA target's scale is missing a selector")
            return None, "selector is required"
        pods = self.pods = _selected_pods(self.state, self.namespace, scale.selector)
        others = []
        for other in self.all_hpas:
            if other is self.hpa or other["metadata"].get("namespace", "") != self.namespace:
                continue
            if "recs" not in self.state.sim(other):
                continue            # not synced yet: its selector is not registered
            try:
                other_scale = get_scale(self.state, self.namespace, (other.get("spec") or {}).get("scaleTargetRef")
                                        or {})
            except MetricError:
                continue
            if any(other_scale.selector.matches(p["metadata"].get("labels") or {}) for p in pods):
                others.append(other["metadata"]["name"])
        if others:
            keys = " ".join(f"{{{name} {self.namespace}}}" for name in sorted([self.hpa["metadata"]["name"], *others]))
            message = f"pods by selector {scale.selector} are controlled by multiple HPAs: [{keys}]"
            self.event("Warning", "AmbiguousSelector", message)
            self.set_condition("ScalingActive", "False", "AmbiguousSelector", message)
            return None, message
        return scale.selector, ""

    def compute_replicas_for_metrics(self, scale: _Scale) -> tuple[int, str, list[dict] | None, str | None]:
        """computeReplicasForMetrics: (replicas or -1, metric name, statuses, error text)."""
        selector, error = self.validate_and_parse_selector(scale)
        if selector is None:
            return -1, "", None, error
        specs = self.spec.get("metrics") or []
        statuses: list[dict] = [{"type": ""} for _ in specs]
        pods = self.pods
        replicas, metric = 0, ""
        invalid = 0
        first_error = ""
        first_condition: tuple[str, str, str, str] | None = None
        for i, spec in enumerate(specs):
            try:
                proposal, name, status = self.compute_replicas_for_metric(spec, scale, pods)
            except _Failed as failure:
                if invalid == 0:
                    first_error, first_condition = failure.error, failure.condition
                invalid += 1
                continue
            statuses[i] = status
            if replicas == 0 or proposal > replicas:
                replicas, metric = proposal, name
        error = None
        if invalid:
            error = f"invalid metrics ({invalid} invalid out of {len(specs)}), first error is: {first_error}"
        if invalid >= len(specs) or (invalid > 0 and replicas < scale.replicas):
            if first_condition is not None:
                self.set_condition(*first_condition)
            return -1, "", statuses, error
        self.set_condition("ScalingActive", "True", "ValidMetricFound",
                           f"the HPA was able to successfully calculate a replica count from {metric}")
        return replicas, metric, statuses, error

    def unable(self, reason: str, error: str, wrapped: str) -> _Failed:
        """getUnableComputeReplicaCountCondition: the event now, the condition for later."""
        self.event("Warning", reason, error)
        return _Failed(wrapped, ("ScalingActive", "False", reason,
                                 f"the HPA was unable to compute the replica count: {error}"))

    def compute_replicas_for_metric(self, spec: dict, scale: _Scale, pods: list[dict]) -> tuple[int, str, dict]:
        kind = spec.get("type")
        if kind in ("Resource", "ContainerResource"):
            key = "resource" if kind == "Resource" else "containerResource"
            source = spec.get(key) or {}
            name = source.get("name", "")
            container = source.get("container", "") if kind == "ContainerResource" else ""
            try:
                proposal, value, metric_name = self.resource_metric(scale.replicas, source.get("target") or {},
                                                                    name, pods, container, kind)
            except MetricError as err:
                reason = "FailedGetResourceMetric" if kind == "Resource" else "FailedGetContainerResourceMetric"
                what = (f"failed to get {name} resource metric value" if kind == "Resource"
                        else f"failed to get {container} container metric value")
                raise self.unable(reason, str(err), f"{what}: {err}") from None
            status = {"name": name, "current": value}
            if kind == "ContainerResource":
                status = {"name": name, "container": container, "current": value}
            return proposal, metric_name, {"type": kind, key: status}
        if kind == "Pods":
            metric_name = ((spec.get("pods") or {}).get("metric") or {}).get("name", "")
            err = (f"unable to get metric {metric_name}: unable to fetch metrics from custom metrics API: "
                   f"no custom metrics API (custom.metrics.k8s.io) registered")
            raise self.unable("FailedGetPodsMetric", err, f"failed to get pods metric value: {err}")
        if kind == "Object":
            source = spec.get("object") or {}
            metric_name = (source.get("metric") or {}).get("name", "")
            described = source.get("describedObject") or {}
            target = source.get("target") or {}
            # GetObjectMetricReplicas' own wording (its arguments in this order upstream).
            err = (f"unable to get metric {metric_name}: {described.get('kind', '')} on {self.namespace} "
                   f"{described.get('name', '')}/unable to fetch metrics from custom metrics API: "
                   f"no custom metrics API (custom.metrics.k8s.io) registered")
            if target.get("type") == "Value" and target.get("value") is not None:
                raise self.unable("FailedGetObjectMetric", err, f"failed to get object metric value: {err}")
            if target.get("type") == "AverageValue" and target.get("averageValue") is not None:
                wrapped = f"failed to get object metric value: failed to get {metric_name} object metric: {err}"
                raise self.unable("FailedGetObjectMetric", err, wrapped)
            err = "invalid object metric source: neither a value target nor an average value target was set"
            raise self.unable("FailedGetObjectMetric", err, f"failed to get object metric value: {err}")
        if kind == "External":
            source = spec.get("external") or {}
            metric = source.get("metric") or {}
            metric_name = metric.get("name", "")
            target = source.get("target") or {}
            err = (f"unable to get external metric {self.namespace}/{metric_name}/"
                   f"{_go_selector(metric.get('selector'))}: unable to fetch metrics from external metrics API: "
                   f"the server could not find the requested resource (get {metric_name}.external.metrics.k8s.io)")
            if target.get("averageValue") is not None:
                wrapped = f"failed to get {metric_name} external metric: {err}"
            elif target.get("value") is not None:
                wrapped = f"failed to get external metric {metric_name}: {err}"
            else:
                err = "invalid external metric source: neither a value target nor an average value target was set"
                wrapped = err
            failure = self.unable("FailedGetExternalMetric", err, "")
            failure.error = f"failed to get {metric_name} external metric value: {wrapped}"
            raise failure
        err = f'unknown metric source type "{kind or ""}"'
        raise self.unable("InvalidMetricSourceType", err, err)

    def resource_metric(self, current: int, target: dict, resource: str, pods: list[dict], container: str,
                        kind: str) -> tuple[int, dict, str]:
        """computeStatusForResourceMetricGeneric: (proposal, MetricValueStatus, metric name)."""
        tolerances = _Tolerances(self.hpa)
        if target.get("averageValue") is not None:
            try:
                proposal, raw, _stamp = get_raw_resource_replicas(
                    self.scrape, self.state.now, current, _milli(target["averageValue"]), resource, tolerances, pods,
                    container)
            except MetricError as err:
                raise MetricError(f"failed to get {resource} usage: {err}") from None
            return proposal, {"averageValue": _milli_quantity(raw)}, f"{resource} resource"
        if target.get("averageUtilization") is None:
            raise MetricError("invalid resource metric source: neither an average utilization target nor an "
                              "average value (usage) target was set")
        try:
            proposal, utilization, raw, _stamp = get_resource_replicas(
                self.scrape, self.state.now, current, int(target["averageUtilization"]), resource, tolerances, pods,
                container)
        except MetricError as err:
            raise MetricError(f"failed to get {resource} utilization: {err}") from None
        name = f"{resource} resource utilization (percentage of request)"
        if kind == "ContainerResource":
            name = f"{resource} container resource utilization (percentage of request)"
        return proposal, {"averageValue": _milli_quantity(raw), "averageUtilization": utilization}, name

    # ------------------------------------------------------------ recommendations and scale events
    def record_initial_recommendation(self, current: int) -> None:
        if "recs" not in self.notes:
            self.notes["recs"] = [[round(self.state.now, 3), current]]

    def _record(self, recommendation: int, keep_after: float) -> None:
        """Replace the samples no window reads any more by the new one (pruned rather than reused)."""
        now = self.state.now
        recs = [r for r in self.notes.get("recs") or [] if r[0] >= keep_after]
        recs.append([round(now, 3), recommendation])
        self.notes["recs"] = recs

    def normalize_desired_replicas(self, current: int, desired: int, min_replicas: int, max_replicas: int) -> int:
        """normalizeDesiredReplicas with stabilizeRecommendation and convertDesiredReplicasWithRules."""
        cutoff = self.state.now - DOWNSCALE_STABILISATION_WINDOW
        stabilized = desired
        for at, rec in self.notes.get("recs") or []:
            if at >= cutoff and rec > stabilized:
                stabilized = rec
        self._record(desired, cutoff)
        if stabilized != desired:
            self.set_condition("AbleToScale", "True", "ScaleDownStabilized",
                               "recent recommendations were higher than current one, applying the highest recent "
                               "recommendation")
        else:
            self.set_condition("AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size")
        result, reason, message = convert_desired_replicas_with_rules(current, stabilized, min_replicas,
                                                                      max_replicas)
        self.set_condition("ScalingLimited", "False" if result == stabilized else "True", reason, message)
        return result

    def _rules(self, direction: str) -> dict:
        behavior = self.spec.get("behavior") or {}
        rules = dict(behavior.get(direction) or {})
        if direction == "scaleDown" and rules.get("stabilizationWindowSeconds") is None:
            rules["stabilizationWindowSeconds"] = int(DOWNSCALE_STABILISATION_WINDOW)  # maybeInitScaleDown…
        rules.setdefault("stabilizationWindowSeconds", 0)
        rules.setdefault("selectPolicy", "Max")
        rules.setdefault("policies", [])
        return rules

    def normalize_desired_replicas_with_behaviors(self, current: int, desired: int, min_replicas: int,
                                                  max_replicas: int) -> int:
        up, down = self._rules("scaleUp"), self._rules("scaleDown")
        stabilized, reason, message = self.stabilize_recommendation_with_behaviors(current, desired, up, down)
        if stabilized != desired:
            self.set_condition("AbleToScale", "True", reason, message)
        else:
            self.set_condition("AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size")
        result, reason, message = self.convert_desired_replicas_with_behavior_rate(
            current, stabilized, min_replicas, max_replicas, up, down)
        self.set_condition("ScalingLimited", "False" if result == stabilized else "True", reason, message)
        return result

    def stabilize_recommendation_with_behaviors(self, current: int, desired: int, up: dict,
                                                down: dict) -> tuple[int, str, str]:
        now = self.state.now
        up_cutoff = now - int(up["stabilizationWindowSeconds"])
        down_cutoff = now - int(down["stabilizationWindowSeconds"])
        up_rec = down_rec = desired
        for at, rec in self.notes.get("recs") or []:
            if at > up_cutoff:
                up_rec = min(rec, up_rec)
            if at > down_cutoff:
                down_rec = max(rec, down_rec)
        recommendation = max(current, up_rec)
        recommendation = min(recommendation, down_rec)
        self._record(desired, min(up_cutoff, down_cutoff))
        if desired >= current:
            return (recommendation, "ScaleUpStabilized",
                    "recent recommendations were lower than current one, applying the lowest recent recommendation")
        return (recommendation, "ScaleDownStabilized",
                "recent recommendations were higher than current one, applying the highest recent recommendation")

    def _events(self, key: str) -> list[list]:
        return self.notes.get(key) or []

    def convert_desired_replicas_with_behavior_rate(self, current: int, desired: int, min_replicas: int,
                                                    max_replicas: int, up: dict, down: dict) -> tuple[int, str, str]:
        now = self.state.now
        ups, downs = self._events("up"), self._events("down")
        if desired > current:
            limit = calculate_scale_up_limit_with_scaling_rules(current, ups, downs, up, now)
            limit = max(limit, current)
            allowed = max_replicas
            if allowed > limit:
                allowed = limit
                reason, message = ("ScaleUpLimit",
                                   "the desired replica count is increasing faster than the maximum scale rate")
            else:
                reason, message = "TooManyReplicas", "the desired replica count is more than the maximum replica count"
            if desired > allowed:
                return allowed, reason, message
        elif desired < current:
            limit = calculate_scale_down_limit_with_behaviors(current, ups, downs, down, now)
            limit = min(limit, current)
            allowed = min_replicas
            if allowed < limit:
                allowed = limit
                reason, message = ("ScaleDownLimit",
                                   "the desired replica count is decreasing faster than the maximum scale rate")
            else:
                reason, message = "TooFewReplicas", "the desired replica count is less than the minimum replica count"
            if desired < allowed:
                return allowed, reason, message
        return desired, "DesiredWithinRange", "the desired count is within the acceptable range"

    def store_scale_event(self, previous: int, new: int) -> None:
        """storeScaleEvent: kept only with a behavior; events older than the longest period go."""
        behavior = self.spec.get("behavior")
        if behavior is None:
            return
        key, direction = ("up", "scaleUp") if new > previous else ("down", "scaleDown")
        longest = max([int(p.get("periodSeconds") or 0) for p in self._rules(direction)["policies"]] or [0])
        cutoff = self.state.now - longest
        kept = [e for e in self._events(key) if e[0] >= cutoff]
        kept.append([round(self.state.now, 3), abs(new - previous)])
        self.notes[key] = kept


class _Failed(Exception):
    def __init__(self, error: str, condition: tuple[str, str, str, str]) -> None:
        super().__init__(error)
        self.error, self.condition = error, condition


def convert_desired_replicas_with_rules(current: int, desired: int, min_replicas: int,
                                        max_replicas: int) -> tuple[int, str, str]:
    scale_up_limit = int(max(SCALE_UP_LIMIT_FACTOR * current, SCALE_UP_LIMIT_MINIMUM))
    if max_replicas > scale_up_limit:
        maximum = scale_up_limit
        condition, reason = "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate"
    else:
        maximum = max_replicas
        condition, reason = "TooManyReplicas", "the desired replica count is more than the maximum replica count"
    if desired < min_replicas:
        return min_replicas, "TooFewReplicas", "the desired replica count is less than the minimum replica count"
    if desired > maximum:
        return maximum, condition, reason
    return desired, "DesiredWithinRange", "the desired count is within the acceptable range"


def _change_in_period(period: int, events: list[list], now: float) -> int:
    """getReplicasChangePerPeriod."""
    cutoff = now - period
    return sum(change for at, change in events if at > cutoff)


def calculate_scale_up_limit_with_scaling_rules(current: int, ups: list[list], downs: list[list], rules: dict,
                                                now: float) -> int:
    policy = rules.get("selectPolicy") or "Max"
    if policy == "Disabled":
        return current
    pick = min if policy == "Min" else max
    result = None
    for p in rules.get("policies") or ():
        period = int(p.get("periodSeconds") or 0)
        start = current - _change_in_period(period, ups, now) + _change_in_period(period, downs, now)
        if p.get("type") == "Pods":
            proposed = start + int(p.get("value") or 0)
        else:
            proposed = math.ceil(start * (1 + int(p.get("value") or 0) / 100))
        result = proposed if result is None else pick(result, proposed)
    if result is None:
        return -(2 ** 31) if pick is max else 2 ** 31 - 1
    return result


def calculate_scale_down_limit_with_behaviors(current: int, ups: list[list], downs: list[list], rules: dict,
                                              now: float) -> int:
    policy = rules.get("selectPolicy") or "Max"
    if policy == "Disabled":
        return current
    pick = max if policy == "Min" else min
    result = None
    for p in rules.get("policies") or ():
        period = int(p.get("periodSeconds") or 0)
        start = current - _change_in_period(period, ups, now) + _change_in_period(period, downs, now)
        if p.get("type") == "Pods":
            proposed = start - int(p.get("value") or 0)
        else:
            proposed = int(start * (1 - int(p.get("value") or 0) / 100))
        result = proposed if result is None else pick(result, proposed)
    if result is None:
        return 2 ** 31 - 1 if pick is min else -(2 ** 31)
    return result
