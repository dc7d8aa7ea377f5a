"""The network tools that ask the cluster's DNS and open connections: wget, curl, nslookup, dig, host,
getent, nc, ping.

A command is `(sh, argv, io, env) -> exit status`, as in commands.py, which registers these in its table
(wget and curl live there). They read the container's /etc/resolv.conf and /etc/hosts as the real
resolvers do, and ask the network model through ShellWorld.net (clusters.engine.network.client
.PodNetwork: single DNS questions, the stub resolver, PTR names); without one, through ShellWorld.resolve
and .reverse only. Each lookup is journalled ("dns", name, first address) like wget's, so a steady loop of
lookups is sampled against a world that changes.

Output follows the tool the image ships (ShellWorld.variants), word for word:

* busybox 1.28's nslookup (busybox:1.28, which the tutorials pin; networking/nslookup.c at 1_28_4):
  getaddrinfo with the search path, `Server:    10.96.0.10` / `Address 1: 10.96.0.10 kube-dns.kube-system
  .svc.cluster.local` / `Name:      my-nginx` / `Address 1: 10.96.12.34 my-nginx.default.svc.cluster.local`,
  or `nslookup: can't resolve 'x'` on stderr (kubernetes.io "Debugging DNS Resolution").
* busybox 1.29+ nslookup (networking/nslookup.c at 1_36_1): its own A and AAAA queries, the search list
  applied only to names without a dot, each reply printed (`Name:\t…` / `Address: …`, or `** server can't
  find …: NXDOMAIN`), exit 1 if any query failed — why `nslookup kubernetes.default` fails with today's
  busybox.
* BIND's nslookup, dig and host (dnsutils, netshoot, agnhost): `Address:\t10.96.0.10#53`, dig's sections.
* glibc's `getent hosts` (Debian, Ubuntu): `%-15s %s` per address, /etc/hosts first.
* busybox nc (nc_bloaty.c: `host (ip:port) open`) and the OpenBSD netcat (`Connection to host (ip) 80
  port [tcp/http] succeeded!`).
* busybox wget and curl: the bodies, their errors, and the servers' headers where they show them —
  `curl -i`/`-I` (status line and headers, CRLF), `curl -v` (`*` connection lines, the request as `> `
  lines, the answer's head as `< ` lines), busybox `wget -S` (`  HTTP/1.1 200 OK` and each header two
  spaces in). The headers are the answering server's (clusters.engine.network.http: nginx, Go,
  Apache, …; through an Ingress, ingress-nginx's), dated at the simulated time of the request. The
  user's headers (curl -H, wget --header, repeatable) are sent in place of the client's own of the same
  name, and a Host header is what an Ingress routes by. These entries take the place of commands.py's
  wget and curl in its command table.
* busybox ping (networking/ping.c): `64 bytes from IP: seq=N ttl=T time=… ms` from pods and nodes; a
  clusterIP answers no ICMP.
"""
from __future__ import annotations

import posixpath
import re
import time as _time
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from .runtime import _IO, _Stop
from .world import NET_LATENCY, US

if TYPE_CHECKING:        # annotations only
    from .interpreter import _Shell

CLUSTER_DNS = "10.96.0.10"
SYN_TIMEOUT = 127.0      # seconds until the kernel gives up a connect() nobody answers (6 SYN retries)
ARP_TIMEOUT = 3.0        # seconds until a connect() to an address nobody holds fails: No route to host
DNS_TIMEOUT = 5.0        # resolv.conf's default timeout: the wait for a DNS server that does not answer
ERRNO_TEXT = {110: "Connection timed out", 113: "No route to host", 111: "Connection refused"}
_IPV4 = re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}")
_SERVICES = {21: "ftp", 22: "ssh", 25: "smtp", 53: "domain", 80: "http", 443: "https", 3306: "mysql",
             5432: "postgresql", 6379: "redis", 8080: "http-alt", 9042: "cql", 11211: "memcache",
             27017: "mongodb", 2379: "etcd-client", 6443: "sun-sr-https"}


def _at(sh: _Shell) -> float:
    return sh.start + sh.now / US


def is_ip(text: str) -> bool:
    return bool(_IPV4.fullmatch(text)) and all(int(p) < 256 for p in text.split("."))


# ------------------------------------------------------------------ the container's resolver files

_RESOLV_CACHE: dict[str, tuple[str, list[str], int]] = {}


def resolv_conf(files) -> tuple[str, list[str], int]:
    """(first nameserver, search list, ndots) of /etc/resolv.conf, with the libc defaults for what is unset."""
    text = files.get("/etc/resolv.conf") or ""
    found = _RESOLV_CACHE.get(text)
    if found is not None:
        return found
    server, search, ndots = "", [], 1
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        if parts[0] == "nameserver" and not server:
            server = parts[1]
        elif parts[0] in ("search", "domain"):
            search = parts[1:]
        elif parts[0] == "options":
            for option in parts[1:]:
                if option.startswith("ndots:") and option[6:].isdigit():
                    ndots = min(int(option[6:]), 15)
    found = (server or "127.0.0.1", search, ndots)
    if len(_RESOLV_CACHE) < 256:
        _RESOLV_CACHE[text] = found
    return found


_HOSTS_CACHE: dict[str, list[tuple[str, list[str]]]] = {}


def hosts_entries(files) -> list[tuple[str, list[str]]]:
    """/etc/hosts as (address, names) lines."""
    text = files.get("/etc/hosts") or ""
    entries = _HOSTS_CACHE.get(text)
    if entries is not None:
        return entries
    entries = []
    for line in text.splitlines():
        parts = line.split("#", 1)[0].split()
        if len(parts) >= 2:
            entries.append((parts[0], parts[1:]))
    if len(_HOSTS_CACHE) < 1024:
        _HOSTS_CACHE[text] = entries
    return entries


def hosts_address(files, name: str, v6: bool = False) -> tuple[str, list[str]] | None:
    """The first /etc/hosts line naming `name` (IPv4 unless v6): (address, names)."""
    for address, names in hosts_entries(files):
        if name in names and (":" in address) == v6:
            return address, names
    return None


def hosts_name(files, ip: str) -> str | None:
    for address, names in hosts_entries(files):
        if address == ip:
            return names[0]
    return None


# ------------------------------------------------------------------ asking the network model

def _net(sh: _Shell):
    return sh.world.net


def dns_up(sh: _Shell, server: str, at: float) -> bool:
    """Whether the DNS server answers: the cluster DNS (when its pods are up), and nothing else."""
    net = _net(sh)
    if net is None:
        return True
    return server == CLUSTER_DNS and net.dns_available(at)


def addresses(sh: _Shell, name: str, at: float) -> tuple[list[str], str, str] | None:
    """getaddrinfo: /etc/hosts, then DNS with the search path: (addresses, canonical name, the name that
    was found, before CNAMEs), or None."""
    entry = hosts_address(sh.files, name)
    if entry is not None:
        return [entry[0]], name, name
    net = _net(sh)
    if net is None:
        ip = sh._resolve(name, at)
        return ([ip], name, name) if ip else None
    server, search, ndots = resolv_conf(sh.files)
    if not dns_up(sh, server, at):
        return None
    found = net.lookup(name, at, search, ndots)
    return (found.addresses, found.canonical, found.name) if found.addresses else None


def ptr(sh: _Shell, ip: str, at: float) -> str | None:
    """getnameinfo: /etc/hosts, then the PTR record."""
    name = hosts_name(sh.files, ip)
    if name is not None:
        return name
    net = _net(sh)
    if net is None:
        if sh.world.reverse is None:     # no network model: the cluster DNS's own name is still known
            return "kube-dns.kube-system.svc.cluster.local" if ip == CLUSTER_DNS else None
        return sh.world.reverse(ip)
    server, _search, _ndots = resolv_conf(sh.files)
    if not dns_up(sh, server, at):
        return None
    names = net.reverse_all(ip, at)
    return names[0] if names else None


def _journal(sh: _Shell, name: str, at: float) -> None:
    sh.emit("dns", name, sh._resolve(name, at))


# ------------------------------------------------------------------ connection failures, as clients say them

def failed_connect(answer: tuple[int, str] | None, limit: float | None) -> tuple[str, float] | None:
    """For a connect that got no answer ((-errno, "") from ShellWorld.http): (what the client saw, seconds
    it waited): "limit" when the client's own timeout came first, else the kernel's errno text."""
    if answer is None or answer[0] >= 0:
        return None
    errno = -answer[0]
    natural = SYN_TIMEOUT if errno == 110 else ARP_TIMEOUT
    if limit is not None and 0 < limit < natural:
        return "limit", limit
    return ERRNO_TEXT.get(errno, "Connection timed out"), natural


# ------------------------------------------------------------------ nslookup

def _c_nslookup(sh: _Shell, argv: list[str], io: _IO, env: dict[str, str]) -> int:
    variant = sh.world.variants.get("nslookup", "busybox-1.28")
    args = [a for a in argv[1:] if not a.startswith("-")]
    options = [a for a in argv[1:] if a.startswith("-")]
    if not args or (variant == "busybox-1.28" and (options or len(args) > 2)):
        io.err.write("BusyBox v1.28.4 (2018-05-22 17:00:17 UTC) multi-call binary.\n\n"
                     "Usage: nslookup [HOST] [SERVER]\n\nQuery the nameserver for the IP address of the given "
                     "HOST\noptionally using a specified DNS server\n" if variant == "busybox-1.28" else
                     "BusyBox v1.36.1 (2023-05-18 22:34:17 UTC) multi-call binary.\n\nUsage: nslookup "
                     "[-type=QUERY_TYPE] [-debug] HOST [DNS_SERVER]\n\nQuery DNS about HOST\n\nQUERY_TYPE: "
                     "soa,ns,a,aaaa,cname,mx,txt,ptr,srv,any\n")
        return 1
    name = args[0]
    at = _at(sh)
    _journal(sh, name, at)
    server = args[1] if len(args) > 1 else resolv_conf(sh.files)[0]
    if variant == "busybox-1.28":
        return _nslookup_legacy(sh, name, server, io, at)
    qtype = next((o.split("=", 1)[1].upper() for o in options if o.startswith(("-type=", "-query=", "-q="))), "")
    return _nslookup_queries(sh, name, server, qtype, io, at, bind=variant == "bind")


def _nslookup_legacy(sh: _Shell, name: str, server: str, io: _IO, at: float) -> int:
    # busybox 1.28: print_host(server, "Server:") then print_host(name, "Name:"), "%-10s %s" and
    # "Address %u: %s %s" with getnameinfo's name when there is one.
    up = dns_up(sh, server, at)
    server_name = ptr(sh, server, at) if up else None
    if not up:
        sh.advance(round(2 * DNS_TIMEOUT * US))          # the PTR query for the server's own name times out
    io.out.write(f"{'Server:':<10} {server}\nAddress 1: {server}{' ' + server_name if server_name else ''}\n\n")
    if is_ip(name):
        found: tuple[list[str], str, str] | None = ([name], name, name)
    elif not up and hosts_address(sh.files, name) is None:
        sh.advance(round(2 * DNS_TIMEOUT * US))
        found = None
    else:
        found = addresses(sh, name, at)
    sh.advance(round(NET_LATENCY * US))
    if not found:
        io.err.write(f"nslookup: can't resolve '{name}'\n")
        return 1
    io.out.write(f"{'Name:':<10} {name}\n")
    for n, ip in enumerate(found[0], 1):
        reverse = ptr(sh, ip, at) if up or hosts_name(sh.files, ip) else None
        io.out.write(f"Address {n}: {ip}{' ' + reverse if reverse else ''}\n")
    return 0


def _nslookup_queries(sh: _Shell, name: str, server: str, qtype: str, io: _IO, at: float, *, bind: bool) -> int:
    net = _net(sh)
    if net is None:
        # No network model, only ShellWorld.resolve: one answer or none, for the name as given.
        sh.advance(round(NET_LATENCY * US))
        ip = sh._resolve(name, at)
        io.out.write(f"Server:\t\t{server}\nAddress:\t{server}{'#' if bind else ':'}53\n\n")
        io.out.write(f"Name:\t{name}\nAddress: {ip}\n\n" if ip else f"** server can't find {name}: NXDOMAIN\n\n")
        return 0 if ip else 1
    if not dns_up(sh, server, at):
        sh.advance(round((3 if bind else 1) * DNS_TIMEOUT * US))
        io.out.write(";; connection timed out; no servers could be reached\n\n")
        return 1
    sh.advance(round(NET_LATENCY * US))
    _ns, search, ndots = resolv_conf(sh.files)
    port_sep = "#" if bind else ":"
    io.out.write(f"Server:\t\t{server}\nAddress:\t{server}{port_sep}53\n\n")
    if bind:
        return _nslookup_bind(net, name, qtype, search, ndots, io, at)
    # busybox 1.29+: PTR for an address, else A and AAAA for the name (each search domain when it has no dot).
    if is_ip(name) and not qtype:
        queries = [(".".join(reversed(name.split("."))) + ".in-addr.arpa", "PTR")]
    else:
        names = [f"{name}.{d}" for d in search] if search and "." not in name else [name]
        types = [qtype] if qtype else ["A", "AAAA"]
        queries = [(n, t) for t in types for n in names]
    code = 0
    for qname, qt in queries:
        reply = net.query(qname, qt, at)
        if reply.rcode != "NOERROR":
            io.out.write(f"** server can't find {qname}: {reply.rcode}\n")
            code = 1
        else:
            if not reply.authoritative:
                io.out.write("Non-authoritative answer:\n")
            for record in reply.answers:
                io.out.write(_busybox_record(record))
        io.out.write("\n")
    return code


def _busybox_record(record) -> str:
    if record.type == "A":
        return f"Name:\t{record.name}\nAddress: {record.data}\n"
    if record.type == "CNAME":
        return f"{record.name}\tcanonical name = {record.data}\n"
    if record.type == "PTR":
        return f"{record.name}\tname = {record.data}\n"
    if record.type == "SRV":
        prio, weight, port, target = record.data.split()
        return f"{record.name}\tservice = {prio} {weight} {port} {target}\n"
    return ""


def _nslookup_bind(net, name: str, qtype: str, search: list[str], ndots: int, io: _IO, at: float) -> int:
    if is_ip(name) and not qtype:
        qname = ".".join(reversed(name.split("."))) + ".in-addr.arpa"
        reply = net.query(qname, "PTR", at)
        if reply.rcode != "NOERROR" or not reply.answers:
            io.out.write(f"** server can't find {qname}: {reply.rcode}\n\n")
            return 1
        for record in reply.answers:
            io.out.write(f"{record.name}\tname = {record.data}.\n")
        io.out.write("\n")
        return 0
    found = net.lookup(name, at, search, ndots)
    if not found.addresses:
        reply = net.query(found.name, qtype or "A", at) if qtype else None
        if reply is not None and reply.rcode == "NOERROR" and reply.answers:
            for record in reply.answers:
                io.out.write(_busybox_record(record).replace("\tname = ", "\tname = "))
            io.out.write("\n")
            return 0
        rcode = found.tried[-1][1] if found.tried else "NXDOMAIN"
        io.out.write(f"** server can't find {name}: {rcode}\n\n")
        return 1
    reply = net.query(found.name, "A", at)
    for record in reply.answers:
        if record.type == "CNAME":
            io.out.write(f"{record.name}\tcanonical name = {record.data}.\n")
        elif record.type == "A":
            io.out.write(f"Name:\t{record.name}\nAddress: {record.data}\n")
    io.out.write("\n")
    return 0


# ------------------------------------------------------------------ host, dig

def _c_host(sh: _Shell, argv: list[str], io: _IO, env: dict[str, str]) -> int:
    args = [a for a in argv[1:] if not a.startswith("-")]
    if not args:
        io.err.write("Usage: host [-aCdilrTvVw] [-c class] [-N ndots] [-t type] [-W time]\n"
                     "            [-R number] [-m flag] [-p port] hostname [server]\n")
        return 1
    name, at = args[0], _at(sh)
    _journal(sh, name, at)
    net = _net(sh)
    server, search, ndots = resolv_conf(sh.files)
    if net is None or not dns_up(sh, args[1] if len(args) > 1 else server, at):
        sh.advance(round(2 * DNS_TIMEOUT * US))
        io.out.write(";; connection timed out; no servers could be reached\n")
        return 1
    sh.advance(round(NET_LATENCY * US))
    if is_ip(name):
        qname = ".".join(reversed(name.split("."))) + ".in-addr.arpa"
        reply = net.query(qname, "PTR", at)
        if not reply.answers:
            io.out.write(f"Host {qname} not found: 3(NXDOMAIN)\n")
            return 1
        for record in reply.answers:
            io.out.write(f"{qname} domain name pointer {record.data}.\n")
        return 0
    found = net.lookup(name, at, search, ndots)
    if not found.addresses:
        io.out.write(f"Host {name} not found: 3(NXDOMAIN)\n")
        return 1
    for record in net.query(found.name, "A", at).answers:
        if record.type == "CNAME":
            io.out.write(f"{record.name} is an alias for {record.data}.\n")
        elif record.type == "A":
            io.out.write(f"{record.name} has address {record.data}\n")
    return 0


def _columns(fields: list[str], stops: tuple[int, ...] = (24, 32, 40, 48)) -> str:
    """BIND's master-file layout: each field padded with tabs to its column, one space when already past it
    (`google.com.\t\t300\tIN\tA\t…`, `kubernetes.default.svc.cluster.local. 30 IN A\t10.96.0.1`)."""
    out = ""
    for text, stop in zip(fields[:-1], stops):
        out += text
        if len(out.expandtabs(8)) >= stop:
            out += " "
        while len(out.expandtabs(8)) < stop:
            out += "\t"
    return out + fields[-1]


def _rdata(record) -> str:
    """The record's data as dig prints it: names fully qualified, with their trailing dot."""
    data = record.data
    if record.type in ("CNAME", "PTR"):
        return data + "."
    if record.type == "SRV":
        return data + "."
    if record.type == "SOA":
        parts = data.split()
        return " ".join([parts[0] + ".", parts[1] + "."] + parts[2:])
    return data


def _rr_text(record) -> str:
    return _columns([record.name + ".", str(record.ttl), "IN", record.type, _rdata(record)])


def _c_dig(sh: _Shell, argv: list[str], io: _IO, env: dict[str, str]) -> int:
    short = search = False
    sections = {"question": True, "answer": True, "authority": True, "additional": True, "comments": True,
                "stats": True, "cmd": True}
    server = None
    names: list[str] = []
    qtype = "A"
    reverse = False
    args = argv[1:]
    i = 0
    while i < len(args):
        a = args[i]
        if a.startswith("@"):
            server = a[1:]
        elif a == "+short":
            short = True
        elif a == "+search":
            search = True
        elif a == "+nosearch":
            search = False
        elif a.startswith("+no") and a[3:] in sections:
            sections[a[3:]] = False
        elif a == "+noall":
            sections = dict.fromkeys(sections, False)
        elif a.startswith("+") and a[1:] in sections:
            sections[a[1:]] = True
        elif a == "-x" and i + 1 < len(args):
            reverse = True
            i += 1
            names.append(args[i])
        elif a == "-t" and i + 1 < len(args):
            i += 1
            qtype = args[i].upper()
        elif a.upper() in ("A", "AAAA", "SRV", "PTR", "CNAME", "ANY", "SOA", "NS", "TXT", "MX"):
            qtype = a.upper()
        elif not a.startswith(("-", "+")):
            names.append(a)
        i += 1
    name = names[0] if names else "."
    at = _at(sh)
    if names:
        _journal(sh, name, at)
    resolver, search_list, ndots = resolv_conf(sh.files)
    server = server or resolver
    net = _net(sh)
    version = sh.world.variants.get("dig", "9.18.33")
    if net is None or not dns_up(sh, server, at):
        sh.advance(round(3 * DNS_TIMEOUT * US))
        if not short:
            io.out.write(f"\n; <<>> DiG {version} <<>> {' '.join(argv[1:])}\n;; global options: +cmd\n")
        io.out.write(";; connection timed out; no servers could be reached\n")
        return 9
    sh.advance(round(NET_LATENCY * US))
    if reverse and is_ip(name):
        qname, qtype = ".".join(reversed(name.split("."))) + ".in-addr.arpa", "PTR"
    else:
        qname = name.rstrip(".")
        if search and not name.endswith("."):
            found = net.lookup(name, at, search_list, ndots)
            qname = found.name if found.addresses else qname
    reply = net.query(qname, qtype, at)
    if short:
        for record in reply.answers:
            io.out.write(_rdata(record) + "\n")
        return 0
    digest = zlib.crc32(f"{qname}|{qtype}|{round(at * 1000)}".encode())
    ident, cookie = digest & 0xFFFF, f"{digest:08x}{zlib.crc32(qname.encode()):08x}"
    legacy = version.startswith("9.9")
    out = []
    if sections["cmd"]:
        out.append(f"\n; <<>> DiG {version} <<>> {' '.join(argv[1:])}\n;; global options: +cmd\n")
    if sections["comments"]:
        flags = "qr aa rd" if reply.authoritative else "qr rd ra"
        out.append(f";; Got answer:\n;; ->>HEADER<<- opcode: QUERY, status: {reply.rcode}, id: {ident}\n"
                   f";; flags: {flags}; QUERY: 1, ANSWER: {len(reply.answers)}, AUTHORITY: {len(reply.authority)}, "
                   f"ADDITIONAL: {len(reply.additional) + 1}\n")
        if reply.authoritative:
            out.append(";; WARNING: recursion requested but not available\n")
        out.append("\n;; OPT PSEUDOSECTION:\n; EDNS: version: 0, flags:; udp: 4096\n")
        if not legacy:
            out.append(f"; COOKIE: {cookie} (echoed)\n")
    if sections["question"]:
        if sections["comments"]:
            out.append(";; QUESTION SECTION:\n")
        out.append(_columns([";" + qname + ".", "IN", qtype], (32, 40)) + "\n")
    for title, records in (("ANSWER", reply.answers), ("AUTHORITY", reply.authority),
                           ("ADDITIONAL", reply.additional)):
        if records and sections[title.lower()]:
            if sections["comments"]:
                out.append(f"\n;; {title} SECTION:\n")
            out.extend(_rr_text(r) + "\n" for r in records)
    if sections["stats"]:
        when = _time.strftime("%a %b %d %H:%M:%S UTC %Y", _time.gmtime(at))
        size = 12 + len(qname) + 6 + sum(12 + (4 if r.type == "A" else len(r.data) + 2) for r in reply.answers) \
            + sum(12 + len(r.data) for r in reply.authority) + 11 + (0 if legacy else 28)
        out.append(f"\n;; Query time: 0 msec\n;; SERVER: {server}#53({server}){'' if legacy else ' (UDP)'}\n"
                   f";; WHEN: {when}\n;; MSG SIZE  rcvd: {size}\n\n")
    io.out.write("".join(out))
    return 0


# ------------------------------------------------------------------ getent

def _c_getent(sh: _Shell, argv: list[str], io: _IO, env: dict[str, str]) -> int:
    if len(argv) < 2:
        io.err.write("Usage: getent [OPTION...] database [key ...]\n")
        return 1
    database, keys = argv[1], argv[2:]
    if database not in ("hosts", "ahosts", "ahostsv4"):
        sh.note_unsupported(f"getent {database}")
        return 2
    if not keys:
        for address, names in hosts_entries(sh.files):
            io.out.write(f"{address:<15} {' '.join(names)}\n")
        return 0
    at = _at(sh)
    status = 0
    for key in keys:
        _journal(sh, key, at)
        sh.advance(round(NET_LATENCY * US))
        if is_ip(key):
            name = ptr(sh, key, at) if dns_up(sh, resolv_conf(sh.files)[0], at) or hosts_name(sh.files, key) \
                else None
            if name is None:
                status = 2
                continue
            io.out.write(f"{key:<15} {name}\n")
            continue
        entry = hosts_address(sh.files, key, v6=True) if database == "hosts" else None
        if entry is not None:
            io.out.write(f"{entry[0]:<15} {' '.join(entry[1])}\n")
            continue
        entry = hosts_address(sh.files, key)
        if entry is not None:
            found: tuple[list[str], str, str] | None = ([entry[0]], entry[1][0], entry[1][0])
            aliases = entry[1][1:]
        else:
            found = addresses(sh, key, at)
            aliases = [found[2]] if found and found[2] != found[1] else []   # the name a CNAME points from
        if not found:
            status = 2
            continue
        ips, canonical, _name = found
        if database == "hosts":
            for ip in ips:
                io.out.write(f"{ip:<15} {canonical}{''.join(' ' + a for a in aliases)}\n")
        else:
            for ip in ips:
                io.out.write(f"{ip:<15} STREAM {canonical}\n{ip:<15} DGRAM  \n{ip:<15} RAW    \n")
    return status


# ------------------------------------------------------------------ nc

def _nc_args(argv: list[str]) -> tuple[dict[str, str | int], list[str]]:
    opts: dict[str, str | int] = {}
    rest: list[str] = []
    args = argv[1:]
    i = 0
    while i < len(args):
        a = args[i]
        if a.startswith("-") and len(a) > 1:
            j = 1
            while j < len(a):
                letter = a[j]
                if letter in "wWpsiqI":
                    value = a[j + 1:] or (args[i + 1] if i + 1 < len(args) else "")
                    if not a[j + 1:]:
                        i += 1
                    opts[letter] = value
                    break
                opts[letter] = int(opts.get(letter, 0)) + 1
                j += 1
        else:
            rest.append(a)
        i += 1
    return opts, rest


def _c_nc(sh: _Shell, argv: list[str], io: _IO, env: dict[str, str]) -> int:
    openbsd = sh.world.variants.get("nc") == "openbsd"
    opts, rest = _nc_args(argv)
    if "l" in opts:
        sh.note_unsupported("nc -l (listening)")
        return 1
    if len(rest) < 2 or not rest[1].isdigit():
        if openbsd:
            io.err.write("usage: nc [-46CDdFhklNnrStUuvZz] [-I length] [-i interval] [-M ttl]\n"
                         "\t  [-m minttl] [-O length] [-P proxy_username] [-p source_port]\n"
                         "\t  [-q seconds] [-s sourceaddr] [-T keyword] [-V rtable] [-W recvlimit]\n"
                         "\t  [-w timeout] [-X proxy_protocol] [-x proxy_address[:port]]\n"
                         "\t  [destination] [port]\n")
        else:
            io.err.write("BusyBox v1.36.1 (2023-05-18 22:34:17 UTC) multi-call binary.\n\n"
                         "Usage: nc [OPTIONS] HOST PORT  - connect\nnc [OPTIONS] -l -p PORT [HOST] [PORT]  "
                         "- listen\n")
        return 1
    host, port = rest[0], int(rest[1])
    verbose = int(opts.get("v", 0))
    zero = "z" in opts
    limit = float(opts["w"]) if str(opts.get("w", "")).replace(".", "", 1).isdigit() else None
    at = _at(sh)
    ip = sh._resolve(host, at)
    sh.emit("dns", host, ip)
    if ip is None:
        if openbsd:
            io.err.write(f'nc: getaddrinfo for host "{host}" port {port}: Name does not resolve\n')
        else:
            io.err.write(f"nc: bad address '{host}'\n")
        return 1
    url = f"tcp://{host}:{port}"
    answer = sh.world.http(url, at) if sh.world.http else None
    sh.emit("req", url, None if answer is None else f"{answer[0]} {answer[1]}")
    failure = failed_connect(answer, limit)
    sh.advance(round((failure[1] if failure else NET_LATENCY) * US))
    if answer is None or failure is not None:
        why = "Connection refused" if answer is None else \
            ("Connection timed out" if failure[0] == "limit" else failure[0])
        if openbsd:
            if verbose:
                if failure is not None and failure[0] == "limit":
                    io.err.write(f"nc: connect to {host} ({ip}) port {port} (tcp) timed out: "
                                 "Operation now in progress\n")
                else:
                    io.err.write(f"nc: connect to {host} ({ip}) port {port} (tcp) failed: {why}\n")
        elif verbose > 1 or (verbose and answer is not None):
            io.err.write(f"nc: {host} ({ip}:{port}): {why}\n")
        return 1
    if verbose:
        if openbsd:
            io.err.write(f"Connection to {host} ({ip}) {port} port [tcp/{_SERVICES.get(port, '*')}] succeeded!\n")
        else:
            io.err.write(f"{host} ({ip}:{port}) open\n")
    if zero:
        return 0
    data = io.stdin.read_all() if io.stdin is not None else ""
    request = re.match(r"(GET|HEAD) (\S+)", data)
    if request:
        scheme_url = f"http://{host}:{port}{request.group(2)}"
        reply = sh.world.http(scheme_url, _at(sh)) if sh.world.http else None
        if reply is not None and reply[0] > 0:
            code, body = reply
            from .commands import _REASONS
            head = f"HTTP/1.1 {code} {_REASONS.get(code, '')}".rstrip() + "\r\n"
            head += f"Content-Length: {len(body.encode())}\r\nConnection: close\r\n\r\n"
            io.out.write(head + (body if request.group(1) == "GET" else ""))
    return 0


# ------------------------------------------------------------------ wget, curl

CURL_VERSION = "8.5.0"     # curl's User-Agent where the image does not say (curlimages/curl:8.5.0, the tutorials')


def _fetch(sh: _Shell, url: str, method: str, host_header: str, port: int, path: str, *, agent: str,
           close: bool = False, extra: list[tuple[str, str]] | None = None, request_lines: object = None,
           name: str = "") -> tuple[str, tuple[int, str] | None, str | None, object]:
    """One request on the simulated network: ('ok'|'badhost', answer as ShellWorld.http says it, ip, the
    answer on the wire: network.http.HttpAnswer with the server's headers). Journalled for the network model.

    request_lines: a writer for curl -v's `*` and `> ` lines (the connection and the request sent)."""
    from ...network.http import HttpAnswer, client_request
    from .commands import _REASONS, _parse_url
    full, host, _port, _path = _parse_url(url)
    at = _at(sh)
    ip = sh._resolve(host, at)
    sh.emit("dns", host, ip)
    if ip is None:
        sh.advance(round(NET_LATENCY * US))
        return "badhost", None, None, None
    net = _net(sh)
    response = net.request(full, at) if net is not None and hasattr(net, "request") else None
    if response is not None:
        answer = response.world_answer
    else:
        answer = sh.world.http(full, at) if sh.world.http else None
    sh.emit("req", full, None if answer is None else f"{answer[0]} {answer[1]}")
    request = client_request(method, host_header, path.partition("#")[0] or "/", agent=agent, close=close,
                             extra=extra)
    if request_lines is not None:
        request_lines.write(f"*   Trying {ip}:{port}...\n")
        if answer is not None and answer[0] >= 0:
            request_lines.write(f"* Connected to {name or host} ({ip}) port {port}\n" +
                                "".join(f"> {line}\r\n" for line in request.lines()) + "> \r\n")
    sh.advance(round(NET_LATENCY * US))
    wire = response.answer(request) if response is not None else None
    if wire is None and answer is not None and answer[0] > 0:     # no network model: the status line only
        wire = HttpAnswer(answer[0], _REASONS.get(answer[0], ""), [], answer[1].encode())
    return "ok", answer, ip, wire


# busybox wget's long options (wget_longopts): the short option each stands for, or its own name.
_WGET_LONG_VALUE = {"output-document": "O", "output-file": "o", "directory-prefix": "P", "proxy": "Y",
                    "user-agent": "U", "timeout": "T", "tries": "t", "header": "header", "post-data": "post-data",
                    "post-file": "post-file"}
_WGET_LONG_FLAG = {"continue": "c", "quiet": "q", "server-response": "S", "spider": "spider",
                   "no-check-certificate": "no-check-certificate"}


def _wget_args(argv: list[str]) -> tuple[dict[str, str | bool], list[str], list[str]]:
    """busybox wget's getopt32long: (options, urls, the --header values in order). A long option takes its
    value after "=" or as the next argument; --header is a list; options may follow the URLs."""
    from .commands import _split_opts
    short: list[str] = []
    long_values: dict[str, str | bool] = {}
    headers: list[str] = []
    given = iter(argv)
    for a in given:
        if a == "--":
            short.append(a)
            short.extend(given)
            break
        if not a.startswith("--") or len(a) == 2:
            short.append(a)
            if a in ("-O", "-o", "-T", "-U", "-Y", "-t", "-P"):   # its value, which may start with "--"
                short.append(next(given, ""))
            continue
        name, eq, value = a[2:].partition("=")
        if name in _WGET_LONG_VALUE:
            value = value if eq else next(given, "")
            key = _WGET_LONG_VALUE[name]
            if key == "header":
                headers.append(value)
            else:
                long_values[key] = value
        elif name in _WGET_LONG_FLAG:
            long_values[_WGET_LONG_FLAG[name]] = True
        # the others (--no-verbose, --no-cache, …) are ignored, as busybox ignores them
    opts, urls = _split_opts(short, with_value="OoTUYtP")
    opts.update(long_values)
    return opts, urls, headers


def _c_wget(sh: _Shell, argv: list[str], io: _IO, env: dict[str, str]) -> int:
    # busybox networking/wget.c; -S prints the status line and each header, two spaces in, as they come.
    from .commands import _parse_url
    opts, urls, header_lines = _wget_args(argv[1:])
    # --header 'NAME: VALUE' goes out as given; a Host or User-Agent header of the user's replaces wget's own
    # (wget_user_headers), and the Host header is what an Ingress routes by.
    extra = [(k.strip(), v.strip()) for k, _, v in (h.partition(":") for h in header_lines)]
    user_host = next((v for k, v in extra if k.lower() == "host"), None)
    agent = next((v for k, v in extra if k.lower() == "user-agent"), None) or str(opts.get("U", "Wget"))
    if not urls:
        io.err.write("BusyBox v1.36.1 (2023-05-18 22:34:17 UTC) multi-call binary.\n\nUsage: wget [-cqS] URL\n")
        return 1
    quiet = "q" in opts
    status = 0
    for url in urls:
        full, host, port, path = _parse_url(url)
        path = path.partition("#")[0]
        asked = full.partition("#")[0] + (f"#Host={user_host}" if user_host else "")
        kind, answer, ip, wire = _fetch(sh, asked, "GET", user_host or (host if port in (80, 443) else
                                                                         f"{host}:{port}"),
                                        port, path, agent=agent, close=True, extra=extra)
        if kind == "badhost":
            io.err.write(f"wget: bad address '{host}'\n")
            status = 1
            continue
        if not quiet:
            io.err.write(f"Connecting to {host} ({ip}:{port})\n")
        if answer is None:
            io.err.write(f"wget: can't connect to remote host ({ip}): Connection refused\n")
            status = 1
            continue
        limit = str(opts.get("T", "900"))
        failure = failed_connect(answer, float(limit) if limit.replace(".", "", 1).isdigit() else 900.0)
        if failure is not None:
            sh.advance(round(failure[1] * US))
            io.err.write("wget: download timed out\n" if failure[0] == "limit"
                         else f"wget: can't connect to remote host ({ip}): {failure[0]}\n")
            status = 1
            continue
        if full.startswith("https://") and "no-check-certificate" not in opts:
            io.err.write("wget: note: TLS certificate validation not implemented\n")
        code, body = answer
        if code == 0:           # something listens, but answers no HTTP (redis, a database): it hangs up
            io.err.write("wget: error getting response\n")
            status = 1
            continue
        if "S" in opts:
            io.err.write(f"  {wire.status_line}\n")
        if code >= 400:
            io.err.write(f"wget: server returned error: {wire.status_line}\n")
            status = 1
            continue
        if "S" in opts:
            io.err.write("".join(f"  {name}: {value}\n" for name, value in wire.headers) + "  \n")
        if "spider" in opts:
            if not quiet:
                io.err.write("remote file exists\n")
            continue
        target = opts.get("O")
        if target is None:
            target = posixpath.basename(path) or "index.html"
        if target == "-":
            if not quiet:
                io.err.write("writing to stdout\n")
            io.out.write(body)
            if not quiet:
                io.err.write(f"-                    100% |********************************| {len(body):>5}  "
                             "0:00:00 ETA\nwritten to stdout\n")
        else:
            dest = sh.abspath(str(target))
            if posixpath.dirname(dest) not in sh.dirs:
                io.err.write(f"wget: can't open '{target}': No such file or directory\n")
                status = 1
                continue
            if sh.writable(dest):
                io.err.write(f"wget: can't open '{target}': {sh.writable(dest)}\n")
                status = 1
                continue
            if not quiet:
                io.err.write(f"saving to '{target}'\n")
            why = sh.write_file(dest, body)
            if why:
                io.err.write(f"wget: write error: {why}\n")
                status = 1
                continue
            if not quiet:
                io.err.write(f"{str(target)[:20]:<20} 100% |********************************| {len(body):>5}  "
                             f"0:00:00 ETA\n'{target}' saved\n")
    return status


def _c_curl(sh: _Shell, argv: list[str], io: _IO, env: dict[str, str]) -> int:
    # -i/-I print the server's status line and headers; -v the connection, the request (`> `) and the
    # answer's head (`< `) on stderr.
    from .commands import _parse_url, _split_opts
    args = []
    long_map = {"--silent": "-s", "--fail": "-f", "--output": "-o", "--show-error": "-S", "--location": "-L",
                "--head": "-I", "--include": "-i", "--max-time": "-m", "--connect-timeout": "-m",
                "--verbose": "-v", "--request": "-X", "--header": "-H", "--data": "-d", "--write-out": "-w"}
    trusted = False          # -k/--insecure, or --cacert: the server's certificate can be verified
    given = iter(argv[1:])
    headers: list[str] = []
    resolved: dict[tuple[str, int], str] = {}     # --resolve HOST:PORT:ADDRESS
    for a in given:
        if a in ("-H", "--header"):
            value = next(given, "")
            headers.append(value)
            args.extend(["-H", value])
            continue
        if a == "--resolve":
            name, _, rest = next(given, "").partition(":")
            port_text, _, address = rest.partition(":")
            if port_text.isdigit() and address:
                resolved[(name.lower(), int(port_text))] = address.strip("[]")
            continue
        if a in ("--cacert", "--capath", "--cert", "--key"):
            trusted = trusted or a in ("--cacert", "--capath")
            next(given, None)
            continue
        if a in ("-k", "--insecure"):
            trusted = True
            continue
        args.append(long_map.get(a, a))
    opts, urls = _split_opts(args, with_value="oXHdmwuA")
    trusted = trusted or "k" in opts
    silent, show_error = "s" in opts, "S" in opts
    if not urls:
        io.err.write("curl: try 'curl --help' or 'curl --manual' for more information\n")
        return 2
    status = 0
    host_header = next((h.split(":", 1)[1].strip() for h in headers if h.lower().startswith("host:")), None)
    verbose = "v" in opts
    method = "HEAD" if "I" in opts else str(opts.get("X", "GET"))
    for url in urls:
        full, host, port, path = _parse_url(url)
        path = path.partition("#")[0]                    # a fragment is never sent
        target = full.partition("#")[0]
        address = resolved.get((host.lower(), port))
        if address is not None:
            target = f"{full.partition('://')[0]}://{address}:{port}{path}"
        if address is not None or host_header:
            target += "#Host=" + (host_header or host)       # the Host header, for the network model (Ingress)
        if verbose and address is not None:
            io.err.write(f"* Added {host}:{port}:{address} to DNS cache\n")
        extra = [(k.strip(), v.strip()) for k, _, v in (h.partition(":") for h in headers)]
        kind, answer, ip, wire = _fetch(sh, target, method, host_header or (host if port in (80, 443) else
                                                                             f"{host}:{port}"), port, path,
                                        agent=f"curl/{sh.world.variants.get('curl', CURL_VERSION)}", extra=extra,
                                        request_lines=io.err if verbose else None, name=host)
        if kind == "badhost":
            if not silent or show_error:
                io.err.write(f"curl: (6) Could not resolve host: {host}\n")
            status = 6
            continue
        if answer is None:
            if not silent or show_error:
                io.err.write(f"curl: (7) Failed to connect to {host} port {port} after 0 ms: "
                             "Couldn't connect to server\n")
            status = 7
            continue
        limit = str(opts.get("m", ""))
        failure = failed_connect(answer, float(limit) if limit.replace(".", "", 1).isdigit() else None)
        if failure is not None:
            sh.advance(round(failure[1] * US))
            took = round(failure[1] * 1000) + 1
            code = 7 if failure[0] == "No route to host" else 28
            if not silent or show_error:
                why = "Timeout was reached" if failure[0] == "limit" else "Couldn't connect to server"
                io.err.write(f"curl: ({code}) Failed to connect to {host} port {port} after {took} ms: {why}\n")
            status = code
            continue
        if full.startswith("https://") and not trusted:
            if not silent or show_error:
                io.err.write("curl: (60) SSL certificate problem: unable to get local issuer certificate\n"
                             "More details here: https://curl.se/docs/sslcerts.html\n\n"
                             "curl failed to verify the legitimacy of the server and therefore could not\n"
                             "establish a secure connection to it. To learn more about this situation and\n"
                             "how to fix it, please visit the webpage mentioned above.\n")
            status = 60
            continue
        code, body = answer
        if code == 0:           # something listens, but answers no HTTP (redis, a database): it hangs up
            if not silent or show_error:
                io.err.write("curl: (52) Empty reply from server\n")
            status = 52
            continue
        if "f" in opts and code >= 400:
            if not silent or show_error:
                io.err.write(f"curl: (22) The requested URL returned error: {code}\n")
            status = 22
            continue
        text = body
        if verbose:
            io.err.write("".join(f"< {line}\r\n" for line in wire.head().split("\r\n")[:-1]))
            io.err.write(f"* Connection #0 to host {host} left intact\n")
        if "I" in opts or "i" in opts:
            text = wire.head() if "I" in opts else wire.head() + body
        # -w's text goes to stdout after the transfer, wherever -o sent the body (-o /dev/null -w '%{http_code}').
        written = str(opts["w"]).replace("%{http_code}", str(code)).replace("\\n", "\n") if "w" in opts else ""
        out = opts.get("o")
        if out and out != "-":
            dest = sh.abspath(str(out))
            if dest != "/dev/null" and (posixpath.dirname(dest) not in sh.dirs or sh.write_file(dest, text)):
                io.err.write("curl: (23) Failure writing output to destination\n")
                status = 23
                continue
            io.out.write(written)
        else:
            io.out.write(text + written)
    return status


# ------------------------------------------------------------------ ping

PING_MAXWAIT = 10.0      # busybox ping: seconds it waits after its last packet when nothing came back


def _c_ping(sh: _Shell, argv: list[str], io: _IO, env: dict[str, str]) -> int:
    # busybox networking/ping.c: one echo request a second; pods and nodes answer, a clusterIP does not
    # (kube-proxy only forwards the Service's TCP/UDP ports: the ICMP packet goes nowhere).
    opts: dict[str, str] = {}
    rest: list[str] = []
    args = iter(argv[1:])
    for a in args:
        if a in ("-c", "-W", "-w", "-i", "-s", "-I", "-t"):
            opts[a[1]] = next(args, "")
        elif a.startswith("-") and len(a) > 2 and a[1] in "cWw":
            opts[a[1]] = a[2:]
        elif not a.startswith("-"):
            rest.append(a)
    if not rest:
        io.err.write("BusyBox v1.36.1 (2023-05-18 22:34:17 UTC) multi-call binary.\n\n"
                     "Usage: ping [OPTIONS] HOST\n")
        return 1
    count_text = opts.get("c", "")
    host = rest[0]
    count = int(count_text) if count_text.isdigit() else None
    at = _at(sh)
    ip = sh._resolve(host, at)
    sh.emit("dns", host, ip)
    if ip is None:
        io.err.write(f"ping: bad address '{host}'\n")
        return 1
    net = _net(sh)
    answers = True
    ttl = 64
    if net is not None:
        index = net.index
        svc = index.by_cluster_ip.get(ip)
        holder = index.pod_at(ip, at)
        mine = net.client()
        answers = ip.startswith("127.") or ip in index.nodes_by_ip or holder is not None
        answers = answers and not (svc is not None and svc.exists_at(at))
        if holder is not None and mine.node and holder.node != mine.node:
            ttl = 62                 # through the other node: two routers on the way
    io.out.write(f"PING {host} ({ip}): 56 data bytes\n")
    sent = received = 0
    times: list[int] = []
    while count is None or sent < count:
        sh.step()
        if sh.now > sh.until + round(PING_MAXWAIT * US):
            raise _Stop()
        sent += 1
        if answers:
            micro = 40 + zlib.crc32(f"{ip}|{sent}".encode()) % 60 + (30 if ttl != 64 else 0)
            times.append(micro)
            received += 1
            io.out.write(f"64 bytes from {ip}: seq={sent - 1} ttl={ttl} time=0.{micro:03d} ms\n")
        if count is None or sent < count:
            sh.advance(US)
    if not received:
        sh.advance(round(PING_MAXWAIT * US))
    loss = (sent - received) * 100 // sent if sent else 0
    io.out.write(f"\n--- {host} ping statistics ---\n{sent} packets transmitted, {received} packets received, "
                 f"{loss}% packet loss\n")
    if times:
        avg = sum(times) // len(times)
        io.out.write(f"round-trip min/avg/max = 0.{min(times):03d}/0.{avg:03d}/0.{max(times):03d} ms\n")
    return 0 if received else 1


NETWORK_COMMANDS: dict[str, Callable[[_Shell, list[str], _IO, dict[str, str]], int]] = {
    "nslookup": _c_nslookup, "dig": _c_dig, "host": _c_host, "getent": _c_getent, "nc": _c_nc,
    "netcat": _c_nc, "ping": _c_ping, "wget": _c_wget, "curl": _c_curl,
}
