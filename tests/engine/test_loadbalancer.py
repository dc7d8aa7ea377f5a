"""LoadBalancer Services get an address from the provider's pool, as on kind with cloud-provider-kind or
MetalLB: the service controller's finalizer, status and events; the address goes back on type change or
delete."""
from __future__ import annotations

from clusters.engine.controllers import gc, loadbalancer
from clusters.engine.loop import step

from .conftest import T0, apply, new_state, run


def lb_service(name: str, **spec) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "default"},
            "spec": {"type": "LoadBalancer", "selector": {"app": name}, "ports": [{"port": 80}], **spec}}


def reasons(state, name: str) -> list[tuple[str, str, str, int]]:
    return [(e["type"], e["reason"], e["message"], e["count"]) for e in state.list("Event", "default")
            if e["involvedObject"]["kind"] == "Service" and e["involvedObject"]["name"] == name]


def external_ip(state, name: str) -> list[str]:
    svc = state.get("Service", "default", name)
    return [i.get("ip") for i in (svc["status"].get("loadBalancer") or {}).get("ingress") or ()]


def fresh():
    """A fresh cluster whose ingress-nginx controller Service already holds the pool's first address."""
    state = new_state()
    run(state, T0 + 5)
    return state


def test_a_load_balancer_service_gets_an_external_ip_and_the_controllers_events():
    state = fresh()
    apply(state, lb_service("web"))
    result = step(state, state.now, controllers=[loadbalancer.reconcile])
    svc = state.get("Service", "default", "web")
    assert svc["status"]["loadBalancer"] == {"ingress": [{"ip": "172.18.255.201", "ipMode": "VIP"}]}
    assert svc["metadata"]["finalizers"] == ["service.kubernetes.io/load-balancer-cleanup"]
    assert [(e["reason"], e["message"], e["source"]) for e in result.events] == [
        ("EnsuringLoadBalancer", "Ensuring load balancer", {"component": "service-controller"}),
        ("EnsuredLoadBalancer", "Ensured load balancer", {"component": "service-controller"})]
    state.commit()
    again = step(state, state.now, controllers=[loadbalancer.reconcile])
    assert again.changes == [] and again.sim_changes == {} and again.next_wake is None


def test_the_ingress_controller_holds_the_first_address_of_a_fresh_cluster():
    state = fresh()
    svc = state.get("Service", "ingress-nginx", "ingress-nginx-controller")
    assert [i["ip"] for i in svc["status"]["loadBalancer"]["ingress"]] == ["172.18.255.200"]


def test_a_type_change_releases_the_address_for_the_next_service():
    state = fresh()
    apply(state, lb_service("web"))
    run(state, state.now + 1)
    svc = state.get("Service", "default", "web")
    svc["spec"]["type"] = "ClusterIP"
    state.update(svc)
    state.commit()
    run(state, state.now + 1)
    svc = state.get("Service", "default", "web")
    assert svc["status"]["loadBalancer"] == {} and "finalizers" not in svc["metadata"]
    assert reasons(state, "web")[2:] == [
        ("Normal", "Type", "LoadBalancer -> ClusterIP", 1),
        ("Normal", "DeletingLoadBalancer", "Deleting load balancer", 1),
        ("Normal", "DeletedLoadBalancer", "Deleted load balancer", 1)]
    apply(state, lb_service("api"))
    run(state, state.now + 1)
    assert external_ip(state, "api") == ["172.18.255.201"]
    # and back: the controller reports the type change, then ensures a load balancer again
    svc = state.get("Service", "default", "web")
    svc["spec"]["type"] = "LoadBalancer"
    state.update(svc)
    state.commit()
    run(state, state.now + 1)
    assert external_ip(state, "web") == ["172.18.255.202"]
    counts = {(reason, message): count for _, reason, message, count in reasons(state, "web")}
    assert counts == {("EnsuringLoadBalancer", "Ensuring load balancer"): 2,
                      ("EnsuredLoadBalancer", "Ensured load balancer"): 2,
                      ("Type", "LoadBalancer -> ClusterIP"): 1, ("Type", "ClusterIP -> LoadBalancer"): 1,
                      ("DeletingLoadBalancer", "Deleting load balancer"): 1,
                      ("DeletedLoadBalancer", "Deleted load balancer"): 1}


def test_deleting_a_service_waits_for_the_load_balancer_cleanup():
    state = fresh()
    apply(state, lb_service("web"))
    run(state, state.now + 1)
    svc = state.get("Service", "default", "web")
    assert gc.delete_object(state, svc)   # the API server's DELETE: the finalizer keeps it, marked
    assert state.get("Service", "default", "web")["metadata"]["deletionTimestamp"]
    state.commit()
    run(state, state.now + 1)
    assert state.get("Service", "default", "web") is None
    assert [r for _, r, _, _ in reasons(state, "web")][-2:] == ["DeletingLoadBalancer", "DeletedLoadBalancer"]
    apply(state, lb_service("next"))
    run(state, state.now + 1)
    assert external_ip(state, "next") == ["172.18.255.201"]


def test_a_change_of_what_it_serves_ensures_the_load_balancer_again():
    state = fresh()
    apply(state, lb_service("web"))
    run(state, state.now + 1)
    svc = state.get("Service", "default", "web")
    svc["spec"]["ports"][0]["port"] = 8080
    state.update(svc)
    state.commit()
    run(state, state.now + 1)
    assert external_ip(state, "web") == ["172.18.255.201"]
    assert reasons(state, "web") == [("Normal", "EnsuringLoadBalancer", "Ensuring load balancer", 2),
                                     ("Normal", "EnsuredLoadBalancer", "Ensured load balancer", 2)]


def test_a_load_balancer_class_belongs_to_another_implementation():
    state = fresh()
    apply(state, lb_service("web", loadBalancerClass="example.com/other"))
    run(state, state.now + 1)
    svc = state.get("Service", "default", "web")
    assert svc["status"]["loadBalancer"] == {} and "finalizers" not in svc["metadata"]
    assert reasons(state, "web") == []


def test_a_requested_pool_address_is_honoured():
    state = fresh()
    apply(state, lb_service("web", loadBalancerIP="172.18.255.240"))
    apply(state, lb_service("api", loadBalancerIP="10.0.0.1"))   # not the provider's: an address of its choice
    run(state, state.now + 1)
    assert external_ip(state, "web") == ["172.18.255.240"]
    assert external_ip(state, "api") == ["172.18.255.201"]


def test_an_exhausted_pool_leaves_the_service_pending_until_an_address_is_released():
    state = fresh()
    for i in range(50):                       # .201 to .250: the pool's other fifty addresses
        apply(state, lb_service(f"s{i:02d}"))
    apply(state, lb_service("zz-late"))
    run(state, state.now + 1)
    assert external_ip(state, "s49") == ["172.18.255.250"]
    assert external_ip(state, "zz-late") == []
    assert reasons(state, "zz-late") == [
        ("Normal", "EnsuringLoadBalancer", "Ensuring load balancer", 1),
        ("Warning", "SyncLoadBalancerFailed", "Error syncing load balancer: failed to ensure load balancer: "
                                              "no available IPs in pool 172.18.255.200-172.18.255.250", 1)]
    result = step(state, state.now)
    assert result.changes == [], "no retry storm while nothing changes"
    state.commit()
    gc.delete_object(state, state.get("Service", "default", "s07"))
    state.commit()
    run(state, state.now + 1)
    assert external_ip(state, "zz-late") == ["172.18.255.208"]
