"""The cluster network: DNS as CoreDNS serves it, routing as kube-proxy does it, and the traffic on it.

No packets exist. A request is a pure function of the cluster state and the simulated time it is made at,
answered on demand when a container's script (wget, curl, nslookup, dig, nc, getent), `kubectl exec`, the
learner's machine or the load model asks. Same state + same time = same answer, so a script replayed for
`kubectl logs` an hour later prints what it printed then.

The model, in the order a request meets it:

* **Names** (dns.py). The pod's resolv.conf search path (`<ns>.svc.cluster.local svc.cluster.local
  cluster.local`, ndots:5) expands short names; CoreDNS's kubernetes plugin answers Service names
  (ClusterIP; every ready endpoint for a headless Service; a CNAME for ExternalName), endpoint names
  (`web-0.nginx.default.svc.cluster.local`), pod names (`10-244-1-5.default.pod.cluster.local`), SRV
  records and PTR records. A Service answers from its creationTimestamp on, an endpoint while its pod was
  Ready, so replays of the past see the past. There is no Internet: other names do not exist.
* **Routes** (routing.py). A ClusterIP:port goes to a ready endpoint of the Service's EndpointSlices
  (targetPort as the slice resolved it), chosen at random as iptables does — from a seeded hash, so
  deterministic — or sticky under sessionAffinity ClientIP; NodePorts on every node IP, externalIPs and
  load balancer IPs alike; pod IPs directly; 127.0.0.1 to the pod itself. No endpoint: refused (REJECT);
  unknown address: timeout; a free address of a node's pod range: no route to host.
* **Policy** (policy.py). NetworkPolicy as kind's kindnet (kube-network-policies) enforces it, on the
  connection as routed — after DNAT, so a Service is judged on the backend pod: isolation by the
  policies selecting a pod, egress of the source and ingress of the destination both required, replies
  and a pod's own node always allowed, hostNetwork pods as node traffic. A blocked connection is dropped
  (a timeout); a DNS query is UDP 53 to a CoreDNS pod like any other, so a pod denied it sees DNS time out.
* **Answers** (traffic.py). The answering container's program answers (kubelet/program.py Program.http)
  if it was running and listening at that instant, else the connection is refused. The control plane's
  API server answers an anonymous request as it does (403 Status JSON).
* **Ingress** (ingress.py). What reaches an ingress-nginx controller on its http(s) port goes where the
  Ingresses it owns say (Host header, longest path, rewrite-target), to a ready endpoint of the backend
  Service — or nginx's 404, 502 or 503 page.
* **The wire** (http.py). A Response's `answer(request)` adds what the answering server puts around its
  body — status line and headers as nginx, Go's net/http, Apache, Node send them; through an Ingress,
  ingress-nginx's (its Date, the backend's Content-Type and Content-Length, keep-alive) — dated at the
  request's simulated time: what `curl -i`, `wget -S` and `kubectl port-forward` show.
* **Load** (traffic.py). A client's steady request loop has a rate per url (the shell's
  Run.request_rates); pod_request_rates spreads it over the backends as iptables would, cpu_millicores
  prices it with the image's CPU per request — what metrics and the HPA need.

The API, for the rest of the simulation:

    client.PodNetwork(state, pod)              a pod's handle: .resolve(name, t), .lookup(name, t),
                                               .query(fqdn, qtype, t), .reverse(ip, t), .http(url, t),
                                               .request(url, t) -> traffic.Response (.answer(), .headers)
    client.outside(state)                      the learner's machine: .request("http://172.18.0.3:30080/", t),
                                               .request("http://172.18.255.200/", t, host="hello-world.example")
    traffic.request(state, url, t, source=pod|None)
    traffic.pod_request_rates(state, [(client pod, {url: rate})], t) -> {pod uid: requests/s}
    traffic.client_request_rates(state, t)     every running pod's steady loops, replayed
    traffic.cpu_millicores(state, {uid: rate}) -> {pod uid: millicores}
    index.get_index(state)                     Services by IP/name, endpoints by Service, pods by IP:
                                               built once per state as written, reused by every request
    policy.get_policies(state)                 NetworkPolicies by namespace, likewise once per state;
                                               None when there are none: a request then skips every check

The kubelet hands every container program a PodNetwork (kubelet/lifecycle.py), which fills the shell's
ShellWorld.http, .resolve, .reverse and .net. Pure: the standard library and clusters.engine only.
"""
from __future__ import annotations

from . import http
from .client import OUTSIDE_IP, PodNetwork, outside
from .dns import Reply, Resolution
from .index import NetworkIndex, get_index
from .traffic import Response, client_request_rates, cpu_millicores, pod_request_rates, request

__all__ = ["OUTSIDE_IP", "NetworkIndex", "PodNetwork", "Reply", "Resolution", "Response", "client_request_rates",
           "cpu_millicores", "get_index", "http", "outside", "pod_request_rates", "request"]
