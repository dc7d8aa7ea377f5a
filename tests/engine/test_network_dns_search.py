"""`<service>.<namespace>` from a pod: the resolvers apply the search list to a name with fewer dots than
ndots, busybox's nslookup does not.

getaddrinfo — musl's (busybox, alpine: src/network/lookup_name.c name_from_dns_search) and glibc's
(res_search) — tries a name with fewer than `ndots` dots (5, the kubelet's resolv.conf) under each search
domain first, so `hello-v1.default` is found as `hello-v1.default.svc.cluster.local` by wget, curl, ping,
nc, getent, BIND's nslookup and busybox 1.28's (which used getaddrinfo). BusyBox 1.29 and later wrote their
own nslookup queries: networking/nslookup.c add_query_with_search applies the search list only to a name
without any dot, so `nslookup hello-v1.default` asks for `hello-v1.default` as it is and gets NXDOMAIN from
CoreDNS — on a real cluster too; the docs pin busybox:1.28 for their DNS debugging pod for that reason.
"""
from __future__ import annotations

from tests.engine.network_helpers import cluster, deployment, exec_in, run_pod, service

SLEEPER = ["sleep", "3600"]


def test_a_service_dot_namespace_name_resolves_for_every_client_but_current_busybox_nslookup():
    state = cluster(deployment("hello-v1", "nginx", 1), service("hello-v1", "10.96.50.1"),
                    run_pod("old", "busybox:1.28", SLEEPER), run_pod("box", "busybox", SLEEPER),
                    run_pod("tools", "nicolaka/netshoot", SLEEPER), run_pod("deb", "debian", SLEEPER))
    name = "hello-v1.default"
    for pod in ("old", "box", "tools"):
        code, out, _err = exec_in(state, pod, "wget", "-qO-", f"http://{name}/")
        assert code == 0 and "Welcome to nginx!" in out, pod
        assert exec_in(state, pod, "nc", "-zv", "-w", "1", name, "80")[0] == 0, pod
        assert exec_in(state, pod, "ping", "-c", "1", name)[1].startswith(f"PING {name} (10.96.50.1)"), pod
    assert exec_in(state, "tools", "curl", "-s", f"http://{name}/")[0] == 0
    assert exec_in(state, "deb", "getent", "hosts", name) == \
        (0, "10.96.50.1      hello-v1.default.svc.cluster.local\n", "")
    assert "Address: 10.96.50.1" in exec_in(state, "tools", "nslookup", name)[1]            # BIND's
    assert "Address 1: 10.96.50.1 hello-v1.default.svc.cluster.local" in exec_in(state, "old", "nslookup", name)[1]
    # busybox 1.36's own queries: the dotted name as it is.
    code, out, _err = exec_in(state, "box", "nslookup", name)
    assert code == 1 and out.endswith(f"** server can't find {name}: NXDOMAIN\n\n")
    assert exec_in(state, "box", "nslookup", f"{name}.svc.cluster.local")[0] == 0
