"""The Ingress status ingress-nginx publishes: which Ingresses are the controller's, the address it writes
(ADDRESS in `kubectl get ingress`) and when, its `Sync` events, and taking the address back on shutdown."""
from __future__ import annotations

import pytest

from clusters.engine.controllers.ingress_status import Installation, addresses, parse_flags
from clusters.engine.loop import step
from clusters.engine.state import parse_timestamp

from .conftest import T0, apply, events_expiry, new_state, run

LB_IP = "172.18.255.200"   # the ingress-nginx-controller Service's load-balancer address in a fresh cluster


def ingress(name: str, *, class_name: str | None = None, annotation: str | None = None) -> dict:
    meta: dict = {"name": name, "namespace": "default"}
    if annotation is not None:
        meta["annotations"] = {"kubernetes.io/ingress.class": annotation}
    spec: dict = {"rules": [{"host": f"{name}.example.com", "http": {"paths": [{
        "path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}
    if class_name is not None:
        spec["ingressClassName"] = class_name
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta, "spec": spec}


def address(state, name: str) -> list[dict]:
    return list(((state.get("Ingress", "default", name).get("status") or {}).get("loadBalancer") or {})
                .get("ingress") or ())


def syncs(state, name: str) -> list[tuple[str, int, str]]:
    return [(e["message"], e["count"], e["source"]["component"]) for e in state.list("Event", "default")
            if e["involvedObject"]["kind"] == "Ingress" and e["involvedObject"]["name"] == name]


def leading_since(state) -> float:
    lease = state.get("Lease", "ingress-nginx", "ingress-nginx-leader")
    return parse_timestamp(lease["spec"]["acquireTime"])


@pytest.fixture
def cluster():
    state = new_state()
    run(state, T0 + 30)   # the add-on's controller is running and leads
    return state


def test_the_address_appears_at_the_leaders_next_status_sync(cluster):
    started = leading_since(cluster)
    apply(cluster, ingress("site"))      # no class: the add-on watches Ingresses without one
    result = step(cluster, cluster.now)
    cluster.commit()
    assert syncs(cluster, "site") == [("Scheduled for sync", 1, "nginx-ingress-controller")]
    assert address(cluster, "site") == []
    assert result.next_wake == started + 60     # the status sync every UpdateInterval from the start
    run(cluster, started + 60)
    assert address(cluster, "site") == [{"ip": LB_IP}]
    # The status update is a change the controller's informer sees too.
    assert syncs(cluster, "site") == [("Scheduled for sync", 2, "nginx-ingress-controller")]
    settled = step(cluster, cluster.now)
    assert settled.changes == [] and settled.next_wake == events_expiry(cluster)


@pytest.mark.parametrize("kwargs, mine", [
    ({"class_name": "nginx"}, True),                  # the IngressClass of its --controller-class
    ({"class_name": "traefik"}, False),               # no such IngressClass
    ({"annotation": "nginx"}, True),                  # the old annotation, equal to its --ingress-class
    ({"annotation": "traefik"}, False),
    ({}, True),                                       # --watch-ingress-without-class=true
])
def test_which_ingresses_are_the_controllers(cluster, kwargs, mine):
    apply(cluster, ingress("site", **kwargs))
    run(cluster, cluster.now + 61)
    assert address(cluster, "site") == ([{"ip": LB_IP}] if mine else [])
    assert bool(syncs(cluster, "site")) is mine


def test_the_controller_pods_elect_a_leader_through_their_lease(cluster):
    pod = next(p for p in cluster.list("Pod", "ingress-nginx") if p["metadata"]["name"].startswith("ingress-nginx-c"))
    name = pod["metadata"]["name"]
    lease = cluster.get("Lease", "ingress-nginx", "ingress-nginx-leader")
    assert lease["spec"]["holderIdentity"] == name and lease["spec"]["leaseDurationSeconds"] == 30
    assert lease["spec"]["leaseTransitions"] == 0
    events = [(e["reason"], e["message"], e["source"]) for e in cluster.list("Event", "ingress-nginx")
              if e["involvedObject"]["kind"] == "Lease"]
    assert events == [("LeaderElection", f"{name} became leader",
                       {"component": "ingress-leader-elector", "host": name})]


def test_an_ingress_older_than_the_controller_gets_its_address_when_the_controller_starts_leading():
    state = new_state(objects=[ingress("early")])
    run(state, T0 + 30)
    assert address(state, "early") == [{"ip": LB_IP}]
    assert syncs(state, "early") == [("Scheduled for sync", 2, "nginx-ingress-controller")]


def test_scaling_the_controller_to_zero_takes_the_address_back(cluster):
    apply(cluster, ingress("site"))
    run(cluster, cluster.now + 61)
    assert address(cluster, "site") == [{"ip": LB_IP}]
    deployment = cluster.get("Deployment", "ingress-nginx", "ingress-nginx-controller")
    deployment["spec"]["replicas"] = 0
    deployment["metadata"]["generation"] += 1
    cluster.update(deployment)
    cluster.commit()
    run(cluster, cluster.now + 5)
    assert address(cluster, "site") == []
    assert step(cluster, cluster.now).next_wake == events_expiry(cluster)


def test_publish_status_address_as_kinds_manifest_has_it(cluster):
    """kind's own file publishes `localhost` (a docker host's port mapping): a hostname, not an IP."""
    apply(cluster, ingress("site"))
    run(cluster, cluster.now + 61)
    deployment = cluster.get("Deployment", "ingress-nginx", "ingress-nginx-controller")
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    args[args.index("--publish-service=$(POD_NAMESPACE)/ingress-nginx-controller")] = \
        "--publish-status-address=localhost"
    deployment["metadata"]["generation"] += 1
    cluster.update(deployment)
    cluster.commit()
    run(cluster, cluster.now + 30)
    assert address(cluster, "site") == [{"hostname": "localhost"}]


def test_update_status_false_writes_nothing(cluster):
    deployment = cluster.get("Deployment", "ingress-nginx", "ingress-nginx-controller")
    deployment["spec"]["template"]["spec"]["containers"][0]["args"].append("--update-status=false")
    deployment["metadata"]["generation"] += 1
    cluster.update(deployment)
    cluster.commit()
    run(cluster, cluster.now + 30)
    apply(cluster, ingress("site"))
    run(cluster, cluster.now + 120)
    assert address(cluster, "site") == []
    assert syncs(cluster, "site") == [("Scheduled for sync", 1, "nginx-ingress-controller")]


# ------------------------------------------------------------------ the address rules

def installation(state, *args: str) -> Installation:
    pod = next(p for p in state.list("Pod", "ingress-nginx") if p["metadata"]["name"].startswith("ingress-nginx-c"))
    return Installation("ingress-nginx", "k8s.io/ingress-nginx", parse_flags(list(args)), [pod])


def test_addresses_follow_the_flags_as_running_addresses_does(cluster):
    node = cluster.get("Pod", "ingress-nginx", installation(cluster).pods[0]["metadata"]["name"])["spec"]["nodeName"]
    node_ip = next(a["address"] for a in cluster.get("Node", "", node)["status"]["addresses"]
                   if a["type"] == "InternalIP")
    assert addresses(cluster, installation(cluster, "--publish-status-address=10.0.0.9, example.com")) == \
        [{"ip": "10.0.0.9"}, {"hostname": "example.com"}]
    assert addresses(cluster, installation(cluster, "--publish-service", "ingress-nginx/ingress-nginx-controller")) \
        == [{"ip": LB_IP}]
    admission = cluster.get("Service", "ingress-nginx", "ingress-nginx-controller-admission")
    admission_flag = "--publish-service=ingress-nginx/ingress-nginx-controller-admission"
    assert addresses(cluster, installation(cluster, admission_flag)) == [{"ip": admission["spec"]["clusterIP"]}]
    assert addresses(cluster, installation(cluster, "--publish-service=ingress-nginx/missing")) == []
    # Neither flag: the nodes of the ready controller pods (their InternalIP when they have no ExternalIP).
    assert addresses(cluster, installation(cluster)) == [{"ip": node_ip}]
    assert addresses(cluster, installation(cluster, "--report-node-internal-ip-address")) == [{"ip": node_ip}]


def test_flags_parse_as_pflag_does():
    assert parse_flags(["/nginx-ingress-controller", "--ingress-class", "public", "--watch-ingress-without-class",
                        "--publish-service=ns/svc", "--update-status=false"]) == {
        "ingress-class": "public", "watch-ingress-without-class": "", "publish-service": "ns/svc",
        "update-status": "false"}
