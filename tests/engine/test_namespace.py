"""Namespace controller: ordered deletion with the deleter's real conditions; every namespace's
default ServiceAccount and kube-root-ca.crt."""
from __future__ import annotations

from clusters.engine.controllers import namespace
from clusters.engine.loop import step

from .conftest import T0, apply, new_state
from .test_gc import HOUSEKEEPING, exists, make_pod, replica_set, run_housekeeping


def conditions(ns: dict) -> dict[str, tuple[str, str, str]]:
    return {c["type"]: (c["status"], c["reason"], c["message"]) for c in ns["status"]["conditions"]}


def new_namespace(state, name: str = "shop") -> dict:
    ns = apply(state, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return ns


def mark_namespace_deleted(state, ns: dict) -> None:
    """What kubectl delete namespace does through the API: deletionTimestamp, phase Terminating."""
    ns["metadata"]["deletionTimestamp"] = "2027-01-15T08:00:00Z"
    ns["metadata"]["deletionGracePeriodSeconds"] = 0
    ns["status"]["phase"] = "Terminating"
    state.update(ns)
    state.commit()


def test_a_new_namespace_gets_its_service_account_and_root_ca():
    state = new_state()
    new_namespace(state)
    state.commit()
    run_housekeeping(state)
    assert state.get("ServiceAccount", "shop", "default") is not None
    cm = state.get("ConfigMap", "shop", "kube-root-ca.crt")
    source = state.get("ConfigMap", "kube-system", "kube-root-ca.crt")
    assert cm["data"] == source["data"]
    assert cm["metadata"]["annotations"]["kubernetes.io/description"].startswith("Contains a CA bundle")


def test_deleted_defaults_come_back_and_edits_are_undone():
    state = new_state()
    source = state.get("ConfigMap", "kube-system", "kube-root-ca.crt")
    source["data"] = {"ca.crt": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"}
    state.update(source)
    state.delete(state.get("ServiceAccount", "default", "default"))
    state.delete(state.get("ConfigMap", "default", "kube-root-ca.crt"))
    edited = state.get("ConfigMap", "kube-public", "kube-root-ca.crt")
    edited["data"] = {"ca.crt": "tampered"}
    state.update(edited)
    state.commit()
    run_housekeeping(state)
    assert state.get("ServiceAccount", "default", "default") is not None
    for ns in ("default", "kube-public", "kube-node-lease"):
        assert state.get("ConfigMap", ns, "kube-root-ca.crt")["data"] == source["data"]
    assert not run_housekeeping(state)[0].changes  # settled


def test_namespace_deletion_deletes_pods_first_and_waits_for_them():
    state = new_state()
    ns = new_namespace(state)
    state.commit()
    run_housekeeping(state)  # its ServiceAccount and ConfigMap
    apply(state, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "shop"}})
    apply(state, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
                  "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {
                      "metadata": {"labels": {"app": "web"}},
                      "spec": {"containers": [{"name": "a", "image": "nginx"}]}}}})
    web = [make_pod(state, f"web-{i}", namespace="shop", labels={"app": "web"}) for i in (1, 2)]
    state.commit()
    mark_namespace_deleted(state, ns)

    run_housekeeping(state)
    ns = state.get("Namespace", "", "shop")
    assert ns["status"]["phase"] == "Terminating"
    assert ns["spec"]["finalizers"] == ["kubernetes"]
    found = conditions(ns)
    assert list(found) == list(namespace.CONDITION_TYPES)
    assert found["NamespaceContentRemaining"] == (
        "True", "SomeResourcesRemain", "Some resources are remaining: pods. has 2 resource instances")
    assert found["NamespaceDeletionDiscoveryFailure"] == (
        "False", "ResourcesDiscovered", "All resources successfully discovered")
    assert found["NamespaceFinalizersRemaining"] == (
        "False", "ContentHasNoFinalizers", "All content-preserving finalizers finished")
    for pod in web:  # graceful deletion: their kubelets stop them
        assert state.get("Pod", "shop", pod["metadata"]["name"])["metadata"]["deletionGracePeriodSeconds"] == 30
    assert state.get("ConfigMap", "shop", "settings") is not None  # pods first (OrderedNamespaceDeletion)
    assert state.get("Deployment", "shop", "web") is not None

    state.now = T0 + 30
    for pod in web:  # the kubelets finish
        state.delete(state.get("Pod", "shop", pod["metadata"]["name"]))
    state.commit()
    run_housekeeping(state)
    assert state.get("Namespace", "", "shop") is None
    assert [o for o in state.all_objects() if o["metadata"].get("namespace") == "shop"] == []


def test_content_held_by_a_finalizer_keeps_the_namespace():
    state = new_state()
    ns = new_namespace(state)
    rs = replica_set(state)  # in default
    apply(state, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "held", "namespace": "shop", "finalizers": ["example.com/hold"]}})
    apply(state, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "token", "namespace": "shop"},
                  "type": "Opaque"})
    state.commit()
    mark_namespace_deleted(state, ns)
    run_housekeeping(state)
    ns = state.get("Namespace", "", "shop")
    found = conditions(ns)
    assert found["NamespaceContentRemaining"] == (
        "True", "SomeResourcesRemain", "Some resources are remaining: configmaps. has 1 resource instances")
    assert found["NamespaceFinalizersRemaining"] == (
        "True", "SomeFinalizersRemain",
        "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances")
    assert state.get("Secret", "shop", "token") is None
    assert exists(state, rs)  # other namespaces are untouched

    held = state.get("ConfigMap", "shop", "held")
    held["metadata"]["finalizers"] = []
    state.update(held)
    state.commit()
    run_housekeeping(state)
    assert state.get("Namespace", "", "shop") is None


def test_unbound_pods_go_at_once_and_the_namespace_with_them():
    state = new_state()
    ns = new_namespace(state)
    make_pod(state, "pending", namespace="shop", node_name=None)
    state.commit()
    mark_namespace_deleted(state, ns)
    run_housekeeping(state)
    assert state.get("Namespace", "", "shop") is None


def test_terminating_helper():
    state = new_state()
    ns = new_namespace(state)
    assert not namespace.terminating(state, "shop")
    mark_namespace_deleted(state, ns)
    assert namespace.terminating(state, "shop") and namespace.terminating(state, "missing")


def test_a_controller_that_keeps_creating_pods_cannot_stall_the_deletion():
    """The API server refuses new content in a terminating namespace; a workload controller that does
    not check `terminating()` must not race the deletion forever: its refused pod goes, and so do its
    controllers."""
    state = new_state()
    ns = new_namespace(state)
    rs = apply(state, {**replica_set(state), "metadata": {"name": "web-1a2b3c", "namespace": "shop"}})
    make_pod(state, "web-1a2b3c-aaaaa", namespace="shop", owner=rs)
    state.commit()

    def careless_replicaset(state):
        current = state.get("ReplicaSet", "shop", "web-1a2b3c")
        if current is None:
            return
        active = [p for p in state.list("Pod", "shop") if not p["metadata"].get("deletionTimestamp")]
        if not active:
            make_pod(state, f"web-1a2b3c-{len(state.list('Pod', 'shop')):05d}", namespace="shop", owner=current)

    mark_namespace_deleted(state, ns)  # in the very second the pod was created
    for _ in range(3):
        result = step(state, state.now, controllers=HOUSEKEEPING + [careless_replicaset])
        state.commit()
        assert not result.notes
    assert state.get("ReplicaSet", "shop", "web-1a2b3c") is None
    assert [p["metadata"]["name"] for p in state.list("Pod", "shop")] == ["web-1a2b3c-aaaaa"]  # terminating
