"""Cluster DNS as CoreDNS's kubernetes plugin serves it, and the stub resolver's search path.

`query(index, name, qtype, when)` answers one DNS question the way CoreDNS with kubeadm's Corefile does
(`kubernetes cluster.local in-addr.arpa ip6.arpa { pods insecure; fallthrough in-addr.arpa ip6.arpa;
ttl 30 }`, then `forward . /etc/resolv.conf`), following coredns plugin/kubernetes (parse.go,
kubernetes.go findServices/findPods, reverse.go serviceRecordForIP):

* `<svc>.<ns>.svc.cluster.local`: A = the clusterIPs; for a headless Service one A per ready endpoint;
  an ExternalName Service is a CNAME to its externalName (chased when that name is in the cluster).
* `<endpoint>.<svc>.<ns>.svc.cluster.local`: the endpoint whose hostname (a StatefulSet pod's, via
  spec.hostname + spec.subdomain) or dashed IP is `<endpoint>` — for any Service with endpoints.
* `_<port>._<proto>.<svc>.<ns>.svc.cluster.local` and `<svc>.<ns>.svc.cluster.local` SRV: one record
  per port (ClusterIP) or per ready endpoint and port (headless), weight 100/n as CoreDNS computes it.
* `<a-b-c-d>.<ns>.pod.cluster.local`: A a.b.c.d (pods insecure: not checked against pods).
* `<ns>.svc.cluster.local`, `svc.cluster.local`: NODATA when the namespace exists, else NXDOMAIN.
* PTR `d.c.b.a.in-addr.arpa`: the Service whose clusterIP it is, else `<endpoint>.<svc>.<ns>.svc...` for
  each ready endpoint with that address; other addresses fall through to the upstream (NXDOMAIN).
* Names outside cluster.local go upstream. The playground has no upstream: they do not exist (NXDOMAIN,
  not authoritative).

A Service or namespace answers only from its creationTimestamp on and an endpoint only while it was ready
(index.py), so a replayed script sees the cluster as it was when it asked. Without a ready CoreDNS (when
CoreDNS pods are modelled at all) every query times out.

`search(index, name, when, search, ndots)` is the stub resolver (glibc res_search, musl and uclibc alike):
names with fewer than `ndots` dots try the search list first, then the name as given; a trailing dot
means no search. It returns the addresses of the first name that has some.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .index import CLUSTER_DOMAIN, NetworkIndex, ServiceEntry

TTL = 30                   # kubeadm's Corefile: kubernetes { ttl 30 }
NEGATIVE_TTL = 30          # the SOA minimum CoreDNS sends with NXDOMAIN/NODATA (its ttl)
DEFAULT_NDOTS = 5


@dataclass(frozen=True)
class Record:
    name: str        # owner name, fully qualified, without the trailing dot
    type: str        # "A" | "CNAME" | "SRV" | "PTR" | "SOA"
    data: str        # presentation form of the rdata, names without trailing dots
    ttl: int = TTL


@dataclass
class Reply:
    rcode: str                                 # "NOERROR" | "NXDOMAIN" | "SERVFAIL" | "TIMEOUT" (no answer)
    answers: list[Record] = field(default_factory=list)
    authority: list[Record] = field(default_factory=list)
    additional: list[Record] = field(default_factory=list)
    authoritative: bool = False

    @property
    def addresses(self) -> list[str]:
        return [r.data for r in self.answers if r.type == "A"]


@dataclass
class Resolution:
    """What the stub resolver found: the addresses of `name` (empty: not found) and how."""
    addresses: list[str]
    name: str                                  # the fully qualified name that answered (or the last tried)
    canonical: str                             # after CNAMEs: the name the addresses belong to
    tried: list[tuple[str, str]]               # (fqdn, rcode) in the order asked
    timed_out: bool = False


def _soa(zone: str, when: float) -> Record:
    # CoreDNS: ns.dns.<zone> hostmaster.<zone> serial(= a Unix time) 7200 1800 86400 ttl
    serial = int(when) - int(when) % 3600 if when > 0 else 1
    return Record(zone, "SOA", f"ns.dns.{zone} hostmaster.{zone} {serial} 7200 1800 86400 {NEGATIVE_TTL}",
                  NEGATIVE_TTL)


def _nxdomain(zone: str, when: float, authoritative: bool = True) -> Reply:
    return Reply("NXDOMAIN", authority=[_soa(zone, when)] if authoritative else [], authoritative=authoritative)


def _nodata(zone: str, when: float) -> Reply:
    return Reply("NOERROR", authority=[_soa(zone, when)], authoritative=True)


def reverse_name(ip: str) -> str | None:
    parts = ip.split(".")
    if len(parts) != 4 or not all(p.isdigit() for p in parts):
        return None
    return ".".join(reversed(parts)) + ".in-addr.arpa"


def _ptr_ip(name: str) -> str | None:
    labels = name[: -len(".in-addr.arpa")].split(".")
    if len(labels) != 4 or not all(p.isdigit() for p in labels):
        return None
    return ".".join(reversed(labels))


def query(index: NetworkIndex, name: str, qtype: str, when: float) -> Reply:
    """One question to the cluster DNS (kube-dns Service, CoreDNS) at `when`."""
    if not index.dns_available(when):
        return Reply("TIMEOUT")
    name = name.rstrip(".").lower()
    qtype = qtype.upper()
    zone = CLUSTER_DOMAIN
    if name.endswith(".in-addr.arpa"):
        ip = _ptr_ip(name)
        names = ptr_names(index, ip, when) if ip else []
        if not names:
            return _nxdomain("in-addr.arpa", when, authoritative=False)   # fell through to the upstream
        if qtype != "PTR":
            return _nodata("in-addr.arpa", when)
        return Reply("NOERROR", [Record(name, "PTR", n) for n in names], authoritative=True)
    if name != zone and not name.endswith("." + zone):
        return _nxdomain(".", when, authoritative=False)                 # upstream: nothing outside the cluster
    base = name[: -len(zone)].rstrip(".")
    labels = base.split(".") if base else []
    if not labels or base in ("svc", "pod"):
        if not labels and qtype == "SOA":
            return Reply("NOERROR", [_soa(zone, when)], authoritative=True)
        return _nodata(zone, when)
    kind = labels[-1]
    if kind not in ("svc", "pod") or len(labels) > 5:
        return _nxdomain(zone, when)
    namespace = labels[-2] if len(labels) >= 2 else ""
    if not index.namespace_exists(namespace, when):
        return _nxdomain(zone, when)
    if len(labels) == 2:
        return _nodata(zone, when)
    if kind == "pod":
        return _pod_record(name, labels, qtype, zone, when)
    service = labels[-3]
    rest = labels[:-3]
    endpoint = port = protocol = ""
    if len(rest) == 1:
        endpoint = rest[0]
    elif len(rest) == 2:
        port, protocol = rest[0].removeprefix("_"), rest[1].removeprefix("_")
    svc = index.service(namespace, service, when)
    if svc is None:
        return _nxdomain(zone, when)
    records = _service_records(index, svc, endpoint, port, protocol, when)
    if records is None:
        return _nxdomain(zone, when)
    if svc.type == "ExternalName":
        return _cname_reply(index, name, svc.external_name, qtype, when)
    return _typed(name, records, qtype, zone, when)


def _pod_record(name: str, labels: list[str], qtype: str, zone: str, when: float) -> Reply:
    if len(labels) != 3:
        return _nxdomain(zone, when)
    dashed = labels[0]
    ip = dashed.replace("-", ".")
    parts = ip.split(".")
    if dashed.count("-") != 3 or "--" in dashed or not all(p.isdigit() and int(p) < 256 for p in parts):
        return _nxdomain(zone, when)
    if qtype != "A":
        return _nodata(zone, when)
    return Reply("NOERROR", [Record(name, "A", ip)], authoritative=True)


# (target, port) pairs a Service name stands for; None: the name does not exist
def _service_records(index: NetworkIndex, svc: ServiceEntry, endpoint: str, port: str, protocol: str,
                     when: float) -> list[tuple[str, str, int]] | None:
    """(owner fqdn, address, port) triples the name stands for; [] = exists without data; None = NXDOMAIN."""
    if svc.type == "ExternalName":
        return None if endpoint or port or protocol else []
    found: list[tuple[str, str, int]] = []
    matched = False
    if svc.headless or endpoint:
        for ep in svc.ready_endpoints(when):
            if endpoint and ep.dns_label != endpoint:
                continue
            owner = f"{ep.dns_label}.{svc.fqdn}"
            ports = ep.ports or {("", "TCP"): -1}
            for (pname, pproto), number in ports.items():
                if _port_matches(port, protocol, pname, pproto):
                    matched = True
                    found.append((owner, ep.ip, number))
        return found if matched else None
    for p in svc.ports:
        if not _port_matches(port, protocol, p.get("name") or "", p.get("protocol") or "TCP"):
            continue
        matched = True
        for ip in svc.cluster_ips:
            found.append((svc.fqdn, ip, int(p.get("port") or 0)))
    return found if matched else None


def _port_matches(port: str, protocol: str, name: str, proto: str) -> bool:
    return (not port or port == "*" or port == name) and (not protocol or protocol == "*" or
                                                           protocol == proto.lower())


def _typed(name: str, records: list[tuple[str, str, int]], qtype: str, zone: str, when: float) -> Reply:
    if qtype == "A":
        seen: list[str] = []
        for _owner, ip, _port in records:
            if ip not in seen:
                seen.append(ip)
        if not seen:
            return _nodata(zone, when)
        return Reply("NOERROR", [Record(name, "A", ip) for ip in seen], authoritative=True)
    if qtype == "SRV":
        usable = [(owner, ip, port) for owner, ip, port in records if port != -1]
        if not usable:
            return _nodata(zone, when)
        weight = max(1, int(100.0 / (100 * len(records)) * 100))
        answers, extra, targets = [], [], set()
        for owner, ip, port in usable:
            answers.append(Record(name, "SRV", f"0 {weight} {port} {owner}"))
            if (owner, ip) not in targets:
                targets.add((owner, ip))
                extra.append(Record(owner, "A", ip))
        return Reply("NOERROR", answers, additional=extra, authoritative=True)
    return _nodata(zone, when)


def _cname_reply(index: NetworkIndex, name: str, target: str, qtype: str, when: float) -> Reply:
    target = target.rstrip(".").lower()
    answers = [Record(name, "CNAME", target)]
    if qtype in ("A", "CNAME", "ANY") and qtype != "CNAME" and target.endswith("." + CLUSTER_DOMAIN):
        chased = query(index, target, "A", when)
        answers += chased.answers
    return Reply("NOERROR", answers, authoritative=True)


def ptr_names(index: NetworkIndex, ip: str | None, when: float) -> list[str]:
    """CoreDNS serviceRecordForIP: the Service with this clusterIP, else every ready endpoint's name."""
    if not ip:
        return []
    svc = index.by_cluster_ip.get(ip)
    if svc is not None and svc.exists_at(when):
        return [svc.fqdn]
    return [f"{ep.dns_label}.{entry.fqdn}" for entry, ep in index.endpoint_ptr.get(ip, ())
            if entry.exists_at(when) and ep.ready_at(when)]


def candidates(name: str, search: list[str], ndots: int) -> list[str]:
    """The names the stub resolver asks, in order (res_search: ndots decides whether the name goes first)."""
    if name.endswith("."):
        return [name.rstrip(".")]
    expanded = [f"{name}.{domain}" for domain in search if domain and domain != "."]
    if name.count(".") >= ndots:
        return [name] + expanded
    return expanded + [name]


def search(index: NetworkIndex, name: str, when: float, search_list: list[str], ndots: int = DEFAULT_NDOTS,
           qtype: str = "A") -> Resolution:
    """getaddrinfo's view: the first candidate name with addresses (CNAMEs followed)."""
    tried: list[tuple[str, str]] = []
    last = name.rstrip(".")
    for fqdn in candidates(name.lower(), search_list, ndots):
        reply = query(index, fqdn, qtype, when)
        tried.append((fqdn, reply.rcode))
        last = fqdn
        if reply.rcode == "TIMEOUT":
            return Resolution([], fqdn, fqdn, tried, timed_out=True)
        addresses = reply.addresses
        if reply.rcode == "NOERROR" and addresses:
            canonical = next((r.name for r in reply.answers if r.type == "A"), fqdn)
            return Resolution(addresses, fqdn, canonical, tried)
    return Resolution([], last, last, tried)


def cluster_search_list(namespace: str) -> list[str]:
    """The kubelet's search path for dnsPolicy ClusterFirst (pkg/kubelet/network/dns)."""
    return [f"{namespace}.svc.{CLUSTER_DOMAIN}", f"svc.{CLUSTER_DOMAIN}", CLUSTER_DOMAIN]
