"""PV/PVC binding, dynamic provisioning as kind's local-path provisioner does it, reclaiming."""
from __future__ import annotations

from clusters.engine.controllers import volumes
from tests.fixtures import corpus_object as corpus

from .conftest import T0, apply, new_state
from .test_gc import make_pod, run_housekeeping


def pv(state, name: str, size: str, *, cls: str | None = "manual", modes=("ReadWriteOnce",), labels=None,
       policy: str | None = None, path: str = "/mnt/data") -> dict:
    spec: dict = {"accessModes": list(modes), "capacity": {"storage": size}, "hostPath": {"path": path}}
    if cls is not None:
        spec["storageClassName"] = cls
    if policy:
        spec["persistentVolumeReclaimPolicy"] = policy
    return apply(state, {"apiVersion": "v1", "kind": "PersistentVolume",
                         "metadata": {"name": name, "labels": dict(labels or {})}, "spec": spec})


def claim(state, name: str, size: str, *, cls: str | None = "manual", modes=("ReadWriteOnce",), **spec) -> dict:
    body: dict = {"accessModes": list(modes), "resources": {"requests": {"storage": size}}, **spec}
    if cls is not None:
        body["storageClassName"] = cls
    return apply(state, {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                         "metadata": {"name": name, "namespace": "default"}, "spec": body})


def events_of(state, obj: dict) -> list[tuple[str, str, str, str]]:
    uid = obj["metadata"]["uid"]
    found = [e for e in state.list("Event", "default") if e["involvedObject"]["uid"] == uid]
    found.sort(key=lambda e: (e["firstTimestamp"], e["metadata"]["creationTimestamp"], e["metadata"]["name"]))
    return [(e["type"], e["reason"], e["source"]["component"], e["message"]) for e in found]


def get_pv(state, name):
    return state.get("PersistentVolume", "", name)


def get_pvc(state, name):
    return state.get("PersistentVolumeClaim", "default", name)


def test_corpus_storage_trio():
    state = new_state()
    apply(state, corpus("pods__storage__pv-volume.yaml"))
    state.commit()
    run_housekeeping(state)
    volume = get_pv(state, "task-pv-volume")
    assert volume["status"]["phase"] == "Available"
    assert volume["status"]["lastPhaseTransitionTime"] == "2027-01-15T08:00:00Z"

    state.now = T0 + 5
    pvc = apply(state, {**corpus("pods__storage__pv-claim.yaml"),
                        "metadata": {"name": "task-pv-claim", "namespace": "default"}})
    pod = corpus("pods__storage__pv-pod.yaml")
    state.commit()
    run_housekeeping(state)
    volume, pvc = get_pv(state, "task-pv-volume"), get_pvc(state, "task-pv-claim")
    assert volume["status"]["phase"] == "Bound" and pvc["status"]["phase"] == "Bound"
    ref = volume["spec"]["claimRef"]
    assert (ref["kind"], ref["namespace"], ref["name"], ref["uid"]) == (
        "PersistentVolumeClaim", "default", "task-pv-claim", pvc["metadata"]["uid"])  # CLAIM default/task-pv-claim
    assert volume["spec"]["storageClassName"] == "manual"
    assert volume["metadata"]["annotations"] == {"pv.kubernetes.io/bound-by-controller": "yes"}
    assert pvc["spec"]["volumeName"] == "task-pv-volume"
    assert pvc["metadata"]["annotations"] == {"pv.kubernetes.io/bind-completed": "yes",
                                              "pv.kubernetes.io/bound-by-controller": "yes"}
    assert pvc["status"]["capacity"] == {"storage": "10Gi"} and pvc["status"]["accessModes"] == ["ReadWriteOnce"]
    assert pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] == "task-pv-claim"
    assert not run_housekeeping(state)[0].changes  # settled


def test_claim_first_waits_then_binds_the_new_volume():
    state = new_state()
    pvc = claim(state, "task-pv-claim", "3Gi")
    state.commit()
    run_housekeeping(state)
    assert get_pvc(state, "task-pv-claim")["status"]["phase"] == "Pending"
    assert events_of(state, pvc) == [("Warning", "ProvisioningFailed", "persistentvolume-controller",
                                      'storageclass.storage.k8s.io "manual" not found')]
    run_housekeeping(state, T0 + 600)
    assert len(events_of(state, pvc)) == 1  # said once, not on every pass
    pv(state, "task-pv-volume", "10Gi")
    state.commit()
    run_housekeeping(state)
    assert get_pvc(state, "task-pv-claim")["status"]["phase"] == "Bound"


def test_matching_rules_pick_the_smallest_fitting_volume():
    state = new_state()
    pv(state, "big", "100Gi")
    pv(state, "small", "5Gi")
    pv(state, "tiny", "1Gi")
    pv(state, "other-class", "5Gi", cls="fast")
    pv(state, "read-only-many", "4Gi", modes=("ReadOnlyMany",))
    pv(state, "no-class", "5Gi", cls=None)
    pv(state, "labelled", "50Gi", labels={"tier": "gold"})
    state.commit()
    claim(state, "wants-3", "3Gi")
    claim(state, "wants-no-class", "2Gi", cls="")
    claim(state, "wants-gold", "1Gi", selector={"matchLabels": {"tier": "gold"}})
    claim(state, "wants-rwx", "1Gi", modes=("ReadWriteMany",))
    state.commit()
    run_housekeeping(state)
    assert get_pvc(state, "wants-3")["spec"]["volumeName"] == "small"
    assert get_pvc(state, "wants-no-class")["spec"]["volumeName"] == "no-class"
    assert get_pvc(state, "wants-gold")["spec"]["volumeName"] == "labelled"
    assert get_pvc(state, "wants-rwx")["status"]["phase"] == "Pending"
    assert get_pv(state, "tiny")["status"]["phase"] == "Available"


def test_no_class_and_no_volume_is_failed_binding():
    state = new_state()
    pvc = claim(state, "lonely", "1Gi", cls="")
    state.commit()
    run_housekeeping(state)
    assert events_of(state, pvc) == [("Normal", "FailedBinding", "persistentvolume-controller",
                                      "no persistent volumes available for this claim and no storage class is set")]


def test_wait_for_first_consumer_then_local_path_provisioning():
    state = new_state()
    pvc = claim(state, "data", "2Gi", cls="standard")
    state.commit()
    run_housekeeping(state, T0 + 60)
    pvc = get_pvc(state, "data")
    assert pvc["status"]["phase"] == "Pending"
    assert events_of(state, pvc) == [("Normal", "WaitForFirstConsumer", "persistentvolume-controller",
                                      "waiting for first consumer to be created before binding")]
    # The scheduler placed the claim's first pod on worker-1.
    pvc["metadata"]["annotations"] = {"volume.kubernetes.io/selected-node": "worker-1"}
    state.update(pvc)
    state.commit()
    run_housekeeping(state)
    pvc = get_pvc(state, "data")
    uid = pvc["metadata"]["uid"]
    name = f"pvc-{uid}"
    volume = get_pv(state, name)
    assert volume is not None and pvc["spec"]["volumeName"] == name
    assert volume["status"]["phase"] == "Bound" and pvc["status"]["phase"] == "Bound"
    assert volume["metadata"]["annotations"] == {"pv.kubernetes.io/provisioned-by": "rancher.io/local-path",
                                                 "local.path.provisioner/selected-node": "worker-1"}
    assert volume["spec"]["persistentVolumeReclaimPolicy"] == "Delete"
    assert volume["spec"]["storageClassName"] == "standard"
    assert volume["spec"]["capacity"] == {"storage": "2Gi"}
    assert volume["spec"]["hostPath"] == {"path": f"/var/local-path-provisioner/{name}_default_data",
                                          "type": "DirectoryOrCreate"}
    assert volume["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"] == [
        {"key": "kubernetes.io/hostname", "operator": "In", "values": ["worker-1"]}]
    assert pvc["metadata"]["annotations"] == {
        "pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes",
        "volume.beta.kubernetes.io/storage-provisioner": "rancher.io/local-path",
        "volume.kubernetes.io/selected-node": "worker-1",
        "volume.kubernetes.io/storage-provisioner": "rancher.io/local-path"}
    reasons = [(t, r, m) for t, r, _, m in events_of(state, pvc)]
    assert reasons[1:] == [
        ("Normal", "ExternalProvisioning", "Waiting for a volume to be created either by the external provisioner "
         "'rancher.io/local-path' or manually by the system administrator. If volume creation is delayed, please "
         "verify that the provisioner is running and correctly registered."),
        ("Normal", "Provisioning", 'External provisioner is provisioning volume for claim "default/data"'),
        ("Normal", "ProvisioningSucceeded", f"Successfully provisioned volume {name}")]
    provisioner = events_of(state, pvc)[-1][2]
    assert provisioner.startswith("rancher.io/local-path_local-path-provisioner-")

    # Delete policy: the claim goes, so does the volume.
    state.delete(pvc)
    state.commit()
    run_housekeeping(state)
    assert get_pv(state, name) is None


def test_an_immediate_class_provisions_at_once():
    state = new_state()
    apply(state, {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "fast"},
                  "provisioner": "ebs.csi.aws.com", "reclaimPolicy": "Retain", "volumeBindingMode": "Immediate"})
    claim(state, "db", "8Gi", cls="fast")
    state.commit()
    run_housekeeping(state)
    pvc = get_pvc(state, "db")
    volume = get_pv(state, pvc["spec"]["volumeName"])
    assert volume["spec"]["csi"]["driver"] == "ebs.csi.aws.com"
    assert volume["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert "nodeAffinity" not in volume["spec"]


def test_released_volumes_follow_their_reclaim_policy():
    state = new_state()
    pv(state, "keep", "1Gi", policy="Retain")
    pv(state, "scratch", "1Gi", policy="Delete", path="/tmp/scratch", cls="scratch")
    pv(state, "undeletable", "1Gi", policy="Delete", cls="mnt")
    claim(state, "a", "1Gi")
    claim(state, "b", "1Gi", cls="scratch")
    claim(state, "c", "1Gi", cls="mnt")
    state.commit()
    run_housekeeping(state)
    assert {get_pvc(state, n)["spec"]["volumeName"] for n in "abc"} == {"keep", "scratch", "undeletable"}
    for n in "abc":
        state.delete(get_pvc(state, n))
    state.commit()
    run_housekeeping(state)
    kept = get_pv(state, "keep")
    assert kept["status"]["phase"] == "Released" and kept["spec"]["claimRef"]["name"] == "a"
    assert get_pv(state, "scratch") is None
    failed = get_pv(state, "undeletable")
    assert failed["status"]["phase"] == "Failed"
    assert failed["status"]["message"] == "host_path deleter only supports /tmp/.+ but received provided /mnt/data"
    # A released volume is not bound again by a new claim of the same name.
    claim(state, "a", "1Gi")
    state.commit()
    run_housekeeping(state)
    assert get_pvc(state, "a")["status"]["phase"] == "Pending"


def test_claim_lost_when_its_volume_is_deleted():
    state = new_state()
    pv(state, "v", "1Gi")
    pvc = claim(state, "c", "1Gi")
    state.commit()
    run_housekeeping(state)
    state.delete(get_pv(state, "v"))
    state.commit()
    run_housekeeping(state)
    assert get_pvc(state, "c")["status"]["phase"] == "Lost"
    assert events_of(state, pvc)[-1] == ("Warning", "ClaimLost", "persistentvolume-controller",
                                         "Bound claim has lost its PersistentVolume. Data on the volume is lost!")


def test_claim_naming_its_volume_and_pvc_protection():
    state = new_state()
    pv(state, "chosen", "5Gi")
    pv(state, "smaller", "2Gi")
    pvc = claim(state, "c", "1Gi", volumeName="chosen")
    pvc["metadata"]["finalizers"] = [volumes.PVC_PROTECTION]
    state.update(pvc)
    state.commit()
    run_housekeeping(state)
    pvc = get_pvc(state, "c")
    assert pvc["status"]["phase"] == "Bound" and pvc["spec"]["volumeName"] == "chosen"
    assert "pv.kubernetes.io/bound-by-controller" not in pvc["metadata"]["annotations"]  # the user chose it

    pod = make_pod(state, "user", volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": "c"}}])
    pvc["metadata"]["deletionTimestamp"] = "2027-01-15T08:00:00Z"
    state.update(pvc)
    state.commit()
    run_housekeeping(state)
    assert get_pvc(state, "c") is not None  # in use: kept (Terminating)
    state.delete(state.get("Pod", "default", pod["metadata"]["name"]))
    state.commit()
    run_housekeeping(state)
    assert get_pvc(state, "c") is None
    assert get_pv(state, "chosen")["status"]["phase"] == "Released"
