"""A StatefulSet's claims get what admission gives any new claim: the claims the controller creates from
volumeClaimTemplates without a storageClassName get the default StorageClass (DefaultStorageClass
admission), so kind's local-path provisioner makes their volumes and the pods run, as in kubernetes.io's
StatefulSet Basics tutorial (application/web/web.yaml)."""
from __future__ import annotations

from tests.fixtures import corpus_documents

from .conftest import T0, apply, new_state, run


def _web(state):
    service, statefulset = corpus_documents("application__web__web.yaml")
    for obj in (service, statefulset):
        obj["metadata"]["namespace"] = "default"
        apply(state, obj)
    state.commit()


def test_claims_from_templates_without_a_class_get_the_default_class_and_bind():
    state = new_state()
    _web(state)
    run(state, T0 + 300)
    claims = {c["metadata"]["name"]: c for c in state.list("PersistentVolumeClaim", "default")}
    assert sorted(claims) == ["www-web-0", "www-web-1"]
    for claim in claims.values():
        assert claim["spec"]["storageClassName"] == "standard"  # the cluster's default class
        assert claim["status"]["phase"] == "Bound"
        volume = state.get("PersistentVolume", "", claim["spec"]["volumeName"])
        assert volume["metadata"]["name"] == f"pvc-{claim['metadata']['uid']}"
        assert volume["spec"]["storageClassName"] == "standard"
        assert volume["spec"]["claimRef"]["name"] == claim["metadata"]["name"]
        assert volume["status"]["phase"] == "Bound"
    pods = {p["metadata"]["name"]: p for p in state.list("Pod", "default")}
    assert sorted(pods) == ["web-0", "web-1"]
    assert {p["status"]["phase"] for p in pods.values()} == {"Running"}


def test_a_template_with_a_class_keeps_it_and_one_with_an_empty_class_gets_none():
    state = new_state()
    _, statefulset = corpus_documents("application__web__web.yaml")
    statefulset["metadata"]["namespace"] = "default"
    templates = statefulset["spec"]["volumeClaimTemplates"]
    templates.append({"metadata": {"name": "empty"}, "spec": {**templates[0]["spec"], "storageClassName": ""}})
    templates.append({"metadata": {"name": "named"}, "spec": {**templates[0]["spec"], "storageClassName": "fast"}})
    statefulset["spec"]["replicas"] = 1
    apply(state, statefulset)
    state.commit()
    run(state, T0 + 5)
    classes = {c["metadata"]["name"]: c["spec"].get("storageClassName")
               for c in state.list("PersistentVolumeClaim", "default")}
    assert classes == {"www-web-0": "standard", "empty-web-0": "", "named-web-0": "fast"}
