"""The command-line HTTP clients as the lessons use them against an Ingress: the URL as curl and wget read
it, and the headers they send.

* curl (lib/urlapi.c): the host part of a URL ends at the first "/", "?" or "#", and a URL without a path
  asks for "/" — `curl -H "Host: foo.bar.com" http://ingress-svc` is `GET / HTTP/1.1` with that Host.
* busybox wget (networking/wget.c): `--header 'NAME: VALUE'` is repeatable and sent as given, a user's Host
  or User-Agent header in place of wget's own; `-U`/`--user-agent` sets the User-Agent.
"""
from __future__ import annotations

from tests.engine.network_helpers import cluster, exec_in, pods, run_pod
from tests.engine.test_network_traffic import example_ingress, hello, ingress_address

SLEEPER = ["sleep", "3600"]


def ingress_cluster():
    return cluster(*hello("web", "1.0", "10.96.70.1"), example_ingress(("/", "Prefix", "web"), host="foo.bar.com"),
                   run_pod("curl", "curlimages/curl:8.5.0", command=SLEEPER), run_pod("shell", "busybox", SLEEPER))


def test_curl_with_a_host_header_and_no_path_asks_for_the_root():
    state = ingress_cluster()
    address = ingress_address(state)
    page = f"Hello, world!\nVersion: 1.0.0\nHostname: {pods(state, 'web-')[0]['metadata']['name']}\n"
    assert exec_in(state, "curl", "curl", "-s", "-H", "Host: foo.bar.com", f"http://{address}") == (0, page, "")
    assert exec_in(state, "curl", "curl", "-s", "-H", "Host: foo.bar.com", f"http://{address}/") == (0, page, "")
    # A query or a fragment right after the host: the path is still "/", the query goes with it.
    assert exec_in(state, "curl", "curl", "-s", "-H", "Host: foo.bar.com", f"http://{address}?x=1") == (0, page, "")
    assert exec_in(state, "curl", "curl", "-s", "-H", "Host: foo.bar.com", f"http://{address}#top") == (0, page, "")
    err = exec_in(state, "curl", "curl", "-sv", "-o", "/dev/null", "-H", "Host: foo.bar.com", f"http://{address}?x=1")[2]
    assert "> GET /?x=1 HTTP/1.1\r\n> Host: foo.bar.com\r\n" in err
    assert exec_in(state, "curl", "curl", "-s", "--resolve", f"foo.bar.com:80:{address}",
                   "http://foo.bar.com") == (0, page, "")


def test_busybox_wget_sends_its_header_options():
    state = ingress_cluster()
    address = ingress_address(state)
    page = f"Hello, world!\nVersion: 1.0.0\nHostname: {pods(state, 'web-')[0]['metadata']['name']}\n"
    assert exec_in(state, "shell", "wget", "--header", "Host: foo.bar.com", "-qO-", f"http://{address}/") == \
        (0, page, "")
    assert exec_in(state, "shell", "wget", "-qO-", "--header=Host: foo.bar.com", f"http://{address}") == (0, page, "")
    # Repeatable, and the user agent set either way; options may come after the URL, as getopt_long allows.
    assert exec_in(state, "shell", "wget", "-q", "-O", "-", "--header", "Accept: text/plain", "--header",
                   "Host: foo.bar.com", "--user-agent", "Mozilla/5.0", f"http://{address}/") == (0, page, "")
    assert exec_in(state, "shell", "wget", "-U", "probe/1.0", "-qO-", f"http://{address}/",
                   "--header", "Host: foo.bar.com") == (0, page, "")
    # Without the Host header the controller's default backend answers.
    code, out, err = exec_in(state, "shell", "wget", "-qO-", f"http://{address}/")
    assert (code, err) == (1, "wget: server returned error: HTTP/1.1 404 Not Found\n")


def test_a_users_header_takes_the_place_of_the_clients_own():
    from clusters.engine.network.http import client_request

    wget = client_request("GET", "foo.bar.com", "/", agent="Wget", close=True,
                          extra=[("Host", "foo.bar.com"), ("User-Agent", "probe/1.0"), ("X-Trace", "1")])
    assert wget.lines() == ["GET / HTTP/1.1", "Host: foo.bar.com", "Connection: close", "User-Agent: probe/1.0",
                            "X-Trace: 1"]
    curl = client_request("GET", "web", "/", agent="curl/8.5.0", extra=[("Accept", "application/json")])
    assert curl.lines() == ["GET / HTTP/1.1", "Host: web", "User-Agent: curl/8.5.0", "Accept: application/json"]
