"""`kubectl port-forward` with the learner's own kubectl against a live playground.

kubectl tunnels SPDY/3.1 through a WebSocket (subprotocol SPDY/3.1+portforward.k8s.io) and opens a port on
this machine; what connects to it talks to the simulated program in the pod (clusters/kubeapi/portforward.py).
The server runs with PLAYGROUND_START_DELAYS=0 so pods run within a pass or two.
"""
from __future__ import annotations

import http.client
import signal
import socket
import struct
import subprocess
import threading
import time
import urllib.error
import urllib.request
import zlib
from contextlib import contextmanager

import pytest

from tests import live_server

from .conftest import KUBECTL, Kubectl, instant_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from instant_server(tmp_path_factory, "port-forward")


@pytest.fixture(scope="module")
def k(server) -> Kubectl:
    return Kubectl(server.new_cluster("alice", "forward"), server.env)


def wait_running(k: Kubectl, *selector: str, count: int = 1, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        shown = k("get", "pods", *selector, "--no-headers", check=False)
        if shown.count(" Running ") >= count:
            return
        time.sleep(0.3)
    raise AssertionError(f"not running: {k('get', 'pods', *selector, check=False)}")


class Forward:
    """A `kubectl port-forward` running in the background; its output read as it comes."""

    def __init__(self, k: Kubectl, *args: str) -> None:
        self.process = subprocess.Popen([str(KUBECTL), "--kubeconfig", str(k.kubeconfig), "port-forward", *args],
                                        env=k.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.out: list[str] = []
        self.err: list[str] = []
        self.readers = [threading.Thread(target=self._read, args=(self.process.stdout, self.out), daemon=True),
                        threading.Thread(target=self._read, args=(self.process.stderr, self.err), daemon=True)]
        for reader in self.readers:
            reader.start()

    @staticmethod
    def _read(pipe, lines: list[str]) -> None:
        for line in pipe:
            lines.append(line)

    @property
    def stdout(self) -> str:
        return "".join(self.out)

    @property
    def stderr(self) -> str:
        return "".join(self.err)

    def wait_ready(self, port: int, timeout: float = 30) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if f"Forwarding from 127.0.0.1:{port} ->" in self.stdout:
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"port-forward did not start:\n{self.stdout}\n{self.stderr}")

    def interrupt(self, timeout: float = 15) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        return self.finish(timeout)

    def finish(self, timeout: float = 15) -> int:
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"kubectl port-forward did not end:\n{self.stdout}\n{self.stderr}") from None
        for reader in self.readers:
            reader.join(5)
        return code


@contextmanager
def forwarding(k: Kubectl, resource: str, remote: int | str):
    port = live_server.free_port()
    forward = Forward(k, resource, f"{port}:{remote}")
    try:
        forward.wait_ready(port)
        yield port, forward
    finally:
        if forward.process.poll() is None:
            forward.interrupt()


def get(port: int, path: str = "/", timeout: float = 10) -> tuple[int, dict[str, str], str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as answer:
            return answer.status, dict(answer.headers), answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


@pytest.fixture(scope="module")
def web(k) -> str:
    k("run", "web", "--image=nginx:1.27", "--port=80")
    wait_running(k, "web")
    return "web"


@pytest.fixture(scope="module")
def hello(k) -> str:
    """A Deployment of agnhost serve-hostname (port 9376) behind a Service on port 80."""
    k("create", "deployment", "hello", "--image=registry.k8s.io/e2e-test-images/agnhost:2.53", "--replicas=2",
      "--", "/agnhost", "serve-hostname")
    k("expose", "deployment", "hello", "--port=80", "--target-port=9376")
    wait_running(k, "-l", "app=hello", count=2)
    return "hello"


def test_pod_serves_the_nginx_welcome_page(k, web):
    with forwarding(k, f"pod/{web}", 80) as (port, forward):
        status, headers, body = get(port)
        assert status == 200
        assert "<title>Welcome to nginx!</title>" in body
        assert headers["Server"] == "nginx/1.27.5"
        assert headers["Content-Type"] == "text/html"
        assert headers["Content-Length"] == str(len(body.encode()))
        assert headers["Connection"] == "close"        # urllib asks for it
        assert get(port, "/nothing-here")[0] == 404
        # One connection, several requests (keep-alive), then HEAD and a POST the static site refuses.
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for _ in range(3):
            conn.request("GET", "/index.html")
            answer = conn.getresponse()
            assert answer.getheader("Connection") == "keep-alive"
            assert answer.status == 200 and b"Welcome to nginx!" in answer.read()
        conn.request("HEAD", "/")
        answer = conn.getresponse()
        assert answer.status == 200 and answer.getheader("Content-Length") == "615" and answer.read() == b""
        conn.request("POST", "/", body=b"a=1", headers={"Content-Type": "application/x-www-form-urlencoded"})
        answer = conn.getresponse()
        assert answer.status == 405 and b"<center><h1>405 Not Allowed</h1></center>" in answer.read()
        conn.close()
    assert forward.process.returncode == 0, forward.stderr
    assert forward.stdout.startswith(f"Forwarding from 127.0.0.1:{port} -> 80\n"
                                     f"Forwarding from [::1]:{port} -> 80\n")
    # Two urllib requests, then one connection for everything http.client sent.
    assert forward.stdout.count(f"Handling connection for {port}\n") == 3
    assert forward.stderr == ""


def test_pages_written_into_the_document_root_are_served(k, web):
    k("exec", web, "--", "sh", "-c", "mkdir -p /usr/share/nginx/html/docs && "
      "echo '<h1>forwarded</h1>' > /usr/share/nginx/html/docs/index.html && "
      "echo '{\"ok\": true}' > /usr/share/nginx/html/docs/status.json")
    with forwarding(k, f"pod/{web}", 80) as (port, _forward):
        assert get(port, "/docs/")[2] == "<h1>forwarded</h1>\n"
        status, headers, body = get(port, "/docs/status.json")
        assert (status, headers["Content-Type"], body) == (200, "application/json", '{"ok": true}\n')
        # nginx's redirect of a directory names its own port (80), as behind a real port-forward.
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/docs")
        answer = conn.getresponse()
        assert answer.status == 301 and answer.getheader("Location") == "http://127.0.0.1/docs/"
        conn.close()


def test_service_and_deployment_forward_to_one_of_their_pods(k, hello):
    pods = set(k("get", "pods", "-l", "app=hello", "-o", "jsonpath={.items[*].metadata.name}").split())
    with forwarding(k, "svc/hello", 80) as (port, forward):
        # kubectl translates the Service port to the pod's targetPort and sticks to one pod.
        assert f"Forwarding from 127.0.0.1:{port} -> 9376\n" in forward.stdout
        answers = {get(port)[2] for _ in range(4)}
        assert len(answers) == 1 and answers <= pods
        status, headers, _body = get(port)
        assert status == 200 and headers["Content-Type"] == "text/plain; charset=utf-8" and "Server" not in headers
    with forwarding(k, "deployment/hello", 9376) as (port, _forward):
        assert get(port)[2] in pods


def test_a_port_nothing_listens_on(k, web):
    port = live_server.free_port()
    forward = Forward(k, f"pod/{web}", f"{port}:81")
    forward.wait_ready(port)
    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError, urllib.error.URLError)):
        get(port)
    assert forward.finish() == 1
    uid = k("get", "pod", web, "-o", "jsonpath={.metadata.uid}")
    assert uid not in forward.stderr   # the kubelet names the pod by its sandbox id, and leaves the uid empty
    assert '"An error occurred forwarding" err="error forwarding port 81 to pod ' in forward.stderr
    assert (', uid : failed to execute portforward in network namespace \\"/var/run/netns/cni-' in forward.stderr)
    assert ('failed to connect to localhost:81 inside namespace \\"' in forward.stderr)
    assert ('IPv4: dial tcp4 127.0.0.1:81: connect: connection refused IPv6 dial tcp6 [::1]:81: connect: '
            'connection refused " localPort=' in forward.stderr)
    assert f"localPort={port} remotePort=81\n" in forward.stderr
    assert forward.stderr.endswith("error: lost connection to pod\n")


def test_a_pod_that_is_not_running(k):
    k("run", "nowhere", "--image=nginx", "--overrides", '{"spec": {"nodeSelector": {"disk": "none"}}}')
    error = k.fails("port-forward", "pod/nowhere", f"{live_server.free_port()}:80")
    assert error == "error: unable to forward port because pod is not running. Current status=Pending\n"


def test_redis_answers_ping(k):
    k("run", "cache", "--image=redis:7")
    wait_running(k, "cache")
    with forwarding(k, "pod/cache", 6379) as (port, _forward):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            conn.sendall(b"*1\r\n$4\r\nPING\r\n")
            assert conn.recv(100) == b"+PONG\r\n"
            conn.sendall(b"SET greeting hello\r\nGET greeting\r\nQUIT\r\n")
            received = b""
            while chunk := conn.recv(100):
                received += chunk
            assert received == b"+OK\r\n$5\r\nhello\r\n+OK\r\n"


def test_bytes_that_are_not_http_get_nginx_400(k, web):
    with forwarding(k, f"pod/{web}", 80) as (port, _forward):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            conn.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")   # a TLS ClientHello
            received = b""
            while chunk := conn.recv(4096):
                received += chunk
    assert received.startswith(b"HTTP/1.1 400 Bad Request\r\nServer: nginx/1.27.5\r\n")
    assert received.endswith(b"<center><h1>400 Bad Request</h1></center>\r\n<hr><center>nginx/1.27.5</center>\r\n"
                             b"</body>\r\n</html>\r\n")


def test_a_deleted_pod_ends_the_session_at_the_next_connection(k):
    k("run", "brief", "--image=nginx")
    wait_running(k, "brief")
    port = live_server.free_port()
    forward = Forward(k, "pod/brief", f"{port}:80")
    forward.wait_ready(port)
    assert get(port)[0] == 200
    k("delete", "pod", "brief", "--grace-period=0", "--force")
    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError, urllib.error.URLError)):
        get(port)
    assert forward.finish() == 1
    assert 'in store: not found" localPort=' in forward.stderr
    assert forward.stderr.endswith("error: lost connection to pod\n")


def test_ctrl_c_ends_kubectl_cleanly(k, web):
    with forwarding(k, f"pod/{web}", 80) as (port, forward):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/")
        assert conn.getresponse().status == 200   # a connection still open at Ctrl-C
        code = forward.interrupt()
        conn.close()
    assert code == 0
    assert forward.stderr == ""


def test_kubectl_without_websockets_is_told_why(k, web):
    """Plain SPDY (kubectl before 1.31, or with its WebSocket tunnel switched off) cannot be served."""
    result = subprocess.run([str(KUBECTL), "--kubeconfig", str(k.kubeconfig), "port-forward", f"pod/{web}",
                             f"{live_server.free_port()}:80"],
                            env={**k.env, "KUBECTL_PORT_FORWARD_WEBSOCKETS": "false"},
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert result.stderr == ("error: error upgrading connection: unable to upgrade connection: the playground serves "
                             "port-forward over WebSocket only (SPDY/3.1+portforward.k8s.io: kubectl 1.31 or newer)\n")


# ------------------------------------------------------------------ the wire formats, without a server

def _go_syn_stream(deflate, stream_id: int, headers: dict[str, str]) -> bytes:
    """A SYN_STREAM as spdystream's framer writes it (one zlib stream for the session, sync-flushed)."""
    block = struct.pack(">I", len(headers)) + b"".join(
        struct.pack(">I", len(k)) + k.encode() + struct.pack(">I", len(v)) + v.encode() for k, v in headers.items())
    compressed = deflate.compress(block) + deflate.flush(zlib.Z_SYNC_FLUSH)
    body = struct.pack(">IIBB", stream_id, 0, 0, 0) + compressed
    return struct.pack(">HHI", 0x8003, 1, len(body)) + body


def test_spdy_frames_split_anywhere_and_header_blocks_share_one_zlib_stream():
    from clusters.kubeapi.portforward import DICTIONARY, FLAG_FIN, PING, SYN_STREAM, SpdyCodec

    client = zlib.compressobj(9, zlib.DEFLATED, 15, 8, zlib.Z_DEFAULT_STRATEGY, DICTIONARY)
    wire = (_go_syn_stream(client, 1, {"streamtype": "error", "port": "80", "requestid": "0"})
            + _go_syn_stream(client, 3, {"streamtype": "data", "port": "80", "requestid": "0"})
            + SpdyCodec.data(3, b"GET / HTTP/1.1\r\n\r\n") + SpdyCodec.data(1, b"", fin=True) + SpdyCodec.ping(1))
    codec, frames = SpdyCodec(), []
    for at in range(0, len(wire), 3):          # Go writes a frame in pieces: any split must do
        frames += codec.feed(wire[at:at + 3])
    assert [(f.control, f.type, f.stream_id) for f in frames] == [
        (True, SYN_STREAM, 1), (True, SYN_STREAM, 3), (False, 0, 3), (False, 0, 1), (True, PING, 0)]
    assert frames[1].headers == {"streamtype": "data", "port": "80", "requestid": "0"}
    assert frames[2].data == b"GET / HTTP/1.1\r\n\r\n" and frames[3].flags == FLAG_FIN and frames[4].value == 1
    # Our replies: one compression context, each block complete after its sync flush.
    inflate = zlib.decompressobj(zdict=DICTIONARY)
    for stream_id in (1, 3):
        reply = codec.syn_reply(stream_id)
        assert reply[:4] == b"\x80\x03\x00\x02" and int.from_bytes(reply[8:12], "big") == stream_id
        assert inflate.decompress(reply[12:]) == b"\x00\x00\x00\x00"


def test_http_requests_are_read_from_any_pieces():
    from clusters.kubeapi.portforward import BadRequest, HttpRequestReader

    wire = (b"GET /a HTTP/1.1\r\nHost: localhost:8080\r\n\r\n"
            b"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
            b"PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
            b"GET /d HTTP/1.0\r\n\r\n")
    reader, requests = HttpRequestReader(), []
    for at in range(0, len(wire), 5):
        requests += reader.feed(wire[at:at + 5])
    assert [(r.method, r.path, r.keep_alive) for r in requests] == [
        ("GET", "/a", True), ("POST", "/b", True), ("PUT", "/c", True), ("GET", "/d", False)]
    assert requests[0].header("HOST") == "localhost:8080"
    with pytest.raises(BadRequest):
        HttpRequestReader().feed(b"\x16\x03\x01\x02\x00")
    with pytest.raises(BadRequest):
        HttpRequestReader().feed(b"HELLO THERE\r\n")


def test_the_python_clients_portforward(k, web):
    """kubernetes.stream.portforward speaks the channel protocol (v4.channel.k8s.io, `?ports=80,81`)."""
    from kubernetes import client, config
    from kubernetes.stream import portforward

    core = client.CoreV1Api(config.new_client_from_config(config_file=str(k.kubeconfig)))
    forward = portforward(core.connect_get_namespaced_pod_portforward, web, "default", ports="80,81")
    conn = http.client.HTTPConnection(web, 80, timeout=10)
    conn.sock = forward.socket(80)
    conn.request("GET", "/")
    answer = conn.getresponse()
    assert answer.status == 200 and b"<title>Welcome to nginx!</title>" in answer.read()
    deadline = time.time() + 10
    while forward.error(81) is None and time.time() < deadline:
        time.sleep(0.1)
    assert forward.error(81).startswith("error forwarding port 81 to pod ")
    assert forward.error(81).endswith("IPv4: dial tcp4 127.0.0.1:81: connect: connection refused IPv6 dial tcp6 "
                                      "[::1]:81: connect: connection refused ")
    assert forward.error(80) is None
    forward.close()
