"""The image catalog: containerd's normalised names, the kubelet's pull errors verbatim, and the
programs' behaviour that the kubernetes.io tutorials rely on."""
from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from clusters.engine.kubelet.images import (
    CATALOG,
    Image,
    ImageRef,
    PullError,
    effective_argv,
    http_response,
    listens,
    lookup,
    missing_env,
    parse_image,
    program_args,
    program_logs,
    render_logs,
    run_mode,
    serving_ports,
)
from tests.fixtures import corpus_files


def image(name: str) -> Image:
    found = lookup(name)
    assert isinstance(found, Image), found
    return found


# ------------------------------------------------------------------ references


@pytest.mark.parametrize("text, normalised", [
    ("nginx", "docker.io/library/nginx:latest"),
    ("nginx:1.27", "docker.io/library/nginx:1.27"),
    ("library/nginx:1.27-alpine", "docker.io/library/nginx:1.27-alpine"),
    ("docker.io/redis:6.0.5", "docker.io/library/redis:6.0.5"),
    ("index.docker.io/library/busybox", "docker.io/library/busybox:latest"),
    ("curlimages/curl", "docker.io/curlimages/curl:latest"),
    ("registry.k8s.io/e2e-test-images/agnhost:2.40", "registry.k8s.io/e2e-test-images/agnhost:2.40"),
    ("gcr.io/google-samples/gb-frontend:v5", "gcr.io/google-samples/gb-frontend:v5"),
    ("localhost:5000/app", "localhost:5000/app:latest"),
    ("localhost/app:1", "localhost/app:1"),
    ("redis@sha256:" + "ab" * 32, "docker.io/library/redis@sha256:" + "ab" * 32),
    ("nginx:1.27@sha256:" + "0" * 64, "docker.io/library/nginx:1.27@sha256:" + "0" * 64),
])
def test_parse_image_normalises_like_containerd(text: str, normalised: str) -> None:
    assert str(parse_image(text)) == normalised


def test_parse_image_fields() -> None:
    assert parse_image("nginx") == ImageRef("docker.io", "library/nginx", "latest", None)
    ref = parse_image("us-docker.pkg.dev/google-samples/containers/gke/gb-frontend:v5")
    assert (ref.registry, ref.repository, ref.tag) == (
        "us-docker.pkg.dev", "google-samples/containers/gke/gb-frontend", "v5")
    assert parse_image("redis@sha256:" + "1" * 64).tag is None


@pytest.mark.parametrize("text, why", [
    ("nginx:", "invalid reference format"),
    ("nginx::1", "invalid reference format"),
    ("ngi nx", "invalid reference format"),
    ("-nginx", "invalid reference format"),
    ("nginx:-1", "invalid reference format"),
    ("Nginx", "invalid reference format: repository name (library/Nginx) must be lowercase"),
    ("myuser/App", "invalid reference format: repository name (myuser/App) must be lowercase"),
    ("", "repository name must have at least one component"),
    ("a" * 64, f"invalid repository name ({'a' * 64}), cannot specify 64-byte hexadecimal strings"),
    ("redis@sha256:abc", "invalid reference format"),
    ("redis@sha256:" + "a" * 40, "invalid checksum digest length"),
])
def test_parse_image_errors_are_the_kubelets(text: str, why: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_image(text)
    assert str(err.value) == f'Failed to apply default image tag "{text}": couldn\'t parse image name "{text}": {why}'


def test_invalid_name_is_invalid_image_name() -> None:
    err = lookup("nginx:")
    assert isinstance(err, PullError) and err.reason == "InvalidImageName"
    assert err.message == ('Failed to apply default image tag "nginx:": couldn\'t parse image name "nginx:": '
                           "invalid reference format")


# ------------------------------------------------------------------ the corpus


def corpus_images() -> list[str]:
    found: set[str] = set()
    for path in corpus_files():
        for match in re.finditer(r'\bimage:\s*"?([^\s",]+)"?', path.read_text()):
            found.add(match.group(1))
    return sorted(found)


def test_corpus_has_images() -> None:
    assert "registry.k8s.io/e2e-test-images/agnhost:2.40" in corpus_images()


@pytest.mark.parametrize("name", corpus_images())
def test_every_corpus_image_pulls(name: str) -> None:
    found = image(name)
    assert found.size_bytes > 0 and 0.3 <= found.pull_seconds <= 10


@pytest.mark.parametrize("name, ports, mode", [
    ("nginx:1.15", ((80, "TCP"),), "server"),
    ("nginx:1.16.1", ((80, "TCP"),), "server"),
    ("nginx", ((80, "TCP"),), "server"),
    ("docker.io/corelab/gb-frontend:v5", ((80, "TCP"),), "server"),
    ("us-docker.pkg.dev/google-samples/containers/gke/gb-frontend:v5", ((80, "TCP"),), "server"),
    ("us-docker.pkg.dev/google-samples/containers/gke/gb-redis-follower:v2", ((6379, "TCP"),), "server"),
    ("docker.io/redis:6.0.5", ((6379, "TCP"),), "server"),
    ("registry.k8s.io/hpa-example", ((80, "TCP"),), "server"),
    ("k8s.gcr.io/fluentd-elasticsearch:1.20", (), "server"),
    ("quay.io/fluentd_elasticsearch/fluentd:v2.5.2", (), "server"),
    ("gcr.io/google-samples/hello-app:2.0", ((8080, "TCP"),), "server"),
    ("registry.k8s.io/goproxy:0.1", ((8080, "TCP"),), "server"),
    ("registry.k8s.io/busybox", (), "exit"),
    ("busybox", (), "exit"),
    ("hello-world", (), "exit"),
    ("registry.k8s.io/pause:3.10", (), "server"),
    ("registry.k8s.io/nginx-slim:0.8", ((80, "TCP"),), "server"),
])
def test_ports_and_behaviour(name: str, ports: tuple, mode: str) -> None:
    found = image(name)
    assert serving_ports(found) == ports
    assert run_mode(found) == mode


def test_nginx_pull_size_and_time_are_realistic() -> None:
    nginx = image("nginx:1.27")
    assert nginx.size_bytes == 72099410 and 2 <= nginx.pull_seconds <= 5
    assert image("registry.k8s.io/pause:3.10").pull_seconds < 1
    assert 8 <= image("mongo:7.0").pull_seconds <= 10


# ------------------------------------------------------------------ tags and pull errors


@pytest.mark.parametrize("name", [
    "nginx:1.27", "nginx:1.27.3", "nginx:1.14.2", "nginx:latest", "nginx:alpine", "nginx:stable", "nginx:mainline",
    "nginx:1.27-alpine", "nginx:stable-alpine", "httpd:2.4", "redis:7.2.4-alpine", "mysql:8.0", "mysql:5.7",
    "postgres:16", "postgres:16.4-alpine", "mongo:7.0", "busybox:1.36", "busybox:1.36.1", "alpine:3.20",
    "ubuntu:22.04", "debian:bookworm-slim", "python:3.12-slim", "node:20-alpine", "golang:1.22", "wordpress:6.5-apache",
    "php:8.2-apache", "php:apache", "curlimages/curl:8.5.0", "nicolaka/netshoot", "registry.k8s.io/pause:3.9",
    "registry.k8s.io/e2e-test-images/agnhost:2.53", "registry.k8s.io/liveness", "k8s.gcr.io/busybox",
])
def test_known_tags_pull(name: str) -> None:
    assert isinstance(lookup(name), Image)


def test_unknown_tag_is_not_found() -> None:
    err = lookup("nginx:doesnotexist")
    assert isinstance(err, PullError) and err.reason == "ErrImagePull"
    cri = ('rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/library/nginx:doesnotexist": '
           "failed to resolve image: docker.io/library/nginx:doesnotexist: not found")
    assert err.message == f'Failed to pull image "nginx:doesnotexist": {cri}'
    assert err.error == cri


@pytest.mark.parametrize("name", ["nginx:1.99.99", "nginx:2.0", "redis:99", "registry.k8s.io/goproxy:0.2",
                                  "busybox:1.99", "registry.k8s.io/hpa-example:v1"])
def test_implausible_tags_fail(name: str) -> None:
    err = lookup(name)
    assert isinstance(err, PullError) and err.message.endswith(": not found")


def test_unknown_docker_hub_repository_is_pull_access_denied() -> None:
    err = lookup("ngnix")
    assert isinstance(err, PullError) and err.reason == "ErrImagePull"
    # The kubelet's CRI client strips 'rpc error: code = Unknown desc = ' (code Unknown adds nothing).
    assert err.message == (
        'Failed to pull image "ngnix": failed to pull and unpack image "docker.io/library/ngnix:latest": '
        "failed to resolve image: pull access denied, repository does not exist or may require authorization: "
        "server message: insufficient_scope: authorization failed")
    private = lookup("mycompany/backend:1.0")
    assert isinstance(private, PullError) and "docker.io/mycompany/backend:1.0" in private.message


def test_unknown_repository_on_public_registry_is_not_found() -> None:
    err = lookup("registry.k8s.io/doesnotexist:1.0")
    assert isinstance(err, PullError)
    assert err.error == ('rpc error: code = NotFound desc = failed to pull and unpack image '
                         '"registry.k8s.io/doesnotexist:1.0": failed to resolve image: '
                         "registry.k8s.io/doesnotexist:1.0: not found")


def test_private_gcr_project() -> None:
    err = lookup("gcr.io/my-project/app:v1")
    assert isinstance(err, PullError)
    assert err.error.endswith("https://gcr.io/v2/token?scope=repository%3Amy-project%2Fapp%3Apull&service=gcr.io: "
                              "401 Unauthorized")


def test_catalog_keys_are_normalised_names() -> None:
    for name in CATALOG:
        ref = parse_image(name)
        assert ref.name == name


# ------------------------------------------------------------------ HTTP


def test_nginx_pages() -> None:
    nginx = image("nginx:1.27")
    status, body = http_response(nginx, None, 80, "/", 5)
    assert status == 200 and "<title>Welcome to nginx!</title>" in body and "color-scheme" in body
    status, body = http_response(nginx, None, 80, "/missing", 5)
    assert status == 404 and "<center>nginx/1.27.5</center>" in body and "404 Not Found" in body
    assert http_response(nginx, None, 8080, "/", 5) is None  # connection refused
    old = image("nginx:1.14.2")
    assert "color-scheme" not in http_response(old, None, 80, "/", 5)[1]


def test_httpd_and_php_apache() -> None:
    assert http_response(image("httpd"), None, 80, "/", 1) == (200, "<html><body><h1>It works!</h1></body></html>\n")
    assert http_response(image("registry.k8s.io/hpa-example"), None, 80, "/", 1) == (200, "OK!")
    status, body = http_response(image("docker.io/corelab/gb-frontend:v5"), None, 80, "/", 1)
    assert status == 200 and "<h2>Guestbook</h2>" in body


def test_hello_app_answers_every_path() -> None:
    # "register hello function to handle all requests": the Ingress tutorial's /v2 reaches web2 as /v2.
    for path in ("/", "/v2", "/anything/else"):
        assert http_response(image("gcr.io/google-samples/hello-app:2.0"), None, 8080, path, 1, "web2-abc") == (
            200, "Hello, world!\nVersion: 2.0.0\nHostname: web2-abc\n")
    assert http_response(image("gcr.io/google-samples/hello-app:1.0"), None, 8080, "/v2", 1, "web")[1].startswith(
        "Hello, world!\nVersion: 1.0.0\n")


def test_agnhost_liveness_fails_after_ten_seconds() -> None:
    agnhost = image("registry.k8s.io/e2e-test-images/agnhost:2.40")
    args = program_args(agnhost, None, ["liveness"])
    assert args == ["liveness"] and run_mode(agnhost, None, ["liveness"]) == "server"
    assert listens(agnhost, args, 8080)
    assert http_response(agnhost, args, 8080, "/healthz", 3) == (200, "ok")
    assert http_response(agnhost, args, 8080, "/healthz", 9.9) == (200, "ok")
    status, body = http_response(agnhost, args, 8080, "/healthz", 10.5)
    assert status == 500 and body == "error: 10.5"
    assert http_response(agnhost, args, 8080, "/nothing", 1) == (404, "404 page not found\n")


def test_agnhost_netexec_and_serve_hostname() -> None:
    agnhost = image("registry.k8s.io/e2e-test-images/agnhost:2.40")
    args = ["netexec", "--http-port=8080"]
    assert serving_ports(agnhost, args) == ((8080, "TCP"), (8081, "UDP"))
    assert http_response(agnhost, args, 8080, "/hostname", 1, hostname="web-0") == (200, "web-0")
    assert http_response(agnhost, args, 8080, "/echo?msg=hello", 1) == (200, "hello")
    assert http_response(agnhost, args, 8080, "/echo?msg=x&code=503", 1) == (503, "x")
    assert http_response(agnhost, args, 8080, "/healthz", 1)[0] == 200
    assert listens(agnhost, ["netexec", "--http-port", "9000"], 9000)
    assert http_response(agnhost, ["serve-hostname"], 9376, "/", 1, hostname="pod-a") == (200, "pod-a")
    assert serving_ports(agnhost) == ()  # CMD ["pause"]


def test_goproxy_listens_on_8080() -> None:
    goproxy = image("registry.k8s.io/goproxy:0.1")
    assert listens(goproxy, None, 8080) and not listens(goproxy, None, 80)
    assert goproxy.shell is None
    assert http_response(goproxy, None, 8080, "/", 20)[0] == 500


def test_old_liveness_image() -> None:
    live = image("registry.k8s.io/liveness")
    args = program_args(live, None, ["/server"])
    assert args == []
    assert http_response(live, args, 8080, "/healthz", 11)[0] == 500


def test_non_http_servers_accept_but_do_not_answer() -> None:
    assert http_response(image("redis"), None, 6379, "/", 1) == (0, "")
    assert listens(image("redis"), None, 6379)


def test_servers_listen_only_after_their_start_time() -> None:
    mysql = image("mysql:8.4")
    assert not listens(mysql, None, 3306, seconds_since_start=1)
    assert listens(mysql, None, 3306, seconds_since_start=60)
    assert http_response(mysql, None, 3306, "/", 1) is None


def test_hpa_example_burns_cpu() -> None:
    assert image("registry.k8s.io/hpa-example").cpu_millis_per_request >= 20
    assert image("nginx").cpu_millis_per_request < 1


# ------------------------------------------------------------------ command / args


def test_command_and_args_rules() -> None:
    busybox = image("registry.k8s.io/busybox:1.27.2")
    script = ["/bin/sh", "-c", "touch /tmp/healthy; sleep 30; rm -f /tmp/healthy; sleep 600"]
    assert effective_argv(busybox, None, script) == script
    assert run_mode(busybox, None, script) == "shell"
    assert run_mode(busybox) == "exit"
    agnhost = image("registry.k8s.io/e2e-test-images/agnhost:2.40")
    assert effective_argv(agnhost, None, ["liveness"]) == ["/agnhost", "liveness"]
    assert effective_argv(agnhost, ["sh", "-c", "sleep 1"], None) == ["sh", "-c", "sleep 1"]
    nginx = image("nginx")
    assert run_mode(nginx, ["nginx", "-g", "daemon off;"]) == "server"
    assert run_mode(nginx, ["sh", "-c", "sleep 3600"]) == "shell"


def test_binaries_and_shells() -> None:
    busybox = image("busybox")
    assert busybox.shell == "/bin/sh" and {"wget", "sleep", "cat", "printenv"} <= busybox.binaries
    assert "curl" not in busybox.binaries
    assert image("gcr.io/google-samples/hello-app:2.0").binaries >= {"printenv"}  # `kubectl exec … printenv`
    assert image("hello-world").shell is None
    assert "curl" in image("curlimages/curl").binaries
    assert image("curlimages/curl").exit_code == 2


# ------------------------------------------------------------------ environment and logs


def test_mysql_without_password_exits_1_with_its_real_log() -> None:
    mysql = image("mysql:8.4")
    lines = missing_env(mysql, {})
    assert lines is not None
    rendered = render_logs(lines, datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert rendered[0] == ("2025-01-02 03:04:05+00:00 [Note] [Entrypoint]: "
                           "Entrypoint script for MySQL Server 8.4.7-1.el9 started.")
    assert ("2025-01-02 03:04:05+00:00 [ERROR] [Entrypoint]: Database is uninitialized and password option is not "
            "specified") in rendered
    assert rendered[-4:] == ["    You need to specify one of the following as an environment variable:",
                             "    - MYSQL_ROOT_PASSWORD", "    - MYSQL_ALLOW_EMPTY_PASSWORD",
                             "    - MYSQL_RANDOM_ROOT_PASSWORD"]
    assert missing_env(mysql, {"MYSQL_ROOT_PASSWORD": "x"}) is None
    assert missing_env(mysql, {"MYSQL_ROOT_PASSWORD": ""}) is not None  # empty counts as unset ([ -z ])
    assert missing_env(mysql, {"MYSQL_RANDOM_ROOT_PASSWORD": "yes"}) is None


def test_postgres_without_password() -> None:
    pg = image("postgres:16")
    lines = missing_env(pg, {})
    assert lines and lines[0] == "Error: Database is uninitialized and superuser password is not specified."
    assert missing_env(pg, {"POSTGRES_HOST_AUTH_METHOD": "trust"}) is None
    assert missing_env(pg, {"POSTGRES_PASSWORD": "pw"}) is None
    assert missing_env(image("nginx"), {}) is None


def test_startup_logs() -> None:
    when = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    nginx = render_logs(image("nginx:1.27").startup_logs, when)
    assert nginx[0] == ("/docker-entrypoint.sh: /docker-entrypoint.d/ is not empty, "
                        "will attempt to perform configuration")
    assert "2025/01/02 03:04:05 [notice] 1#1: nginx/1.27.5" in nginx
    assert image("nginx:1.14.2").startup_logs == ()  # before 1.19 nginx printed nothing at start
    redis = render_logs(image("redis:7.2").startup_logs, when)
    assert redis[-1] == "1:M 02 Jan 2025 03:04:05.000 * Ready to accept connections tcp"
    assert render_logs(image("redis:6.0.5").startup_logs, when)[-1].endswith("* Ready to accept connections")
    assert image("hello-world").startup_logs[1] == "Hello from Docker!"
    httpd = render_logs(image("httpd").startup_logs, when, hostname="10.244.1.5")
    assert "using 10.244.1.5." in httpd[0]


# ------------------------------------------------------------------ the kubernetes.io examples

# Every `image:` of kubernetes/website content/en/examples/** (current and earlier versions of the
# files), except placeholders (gcr.io/<project>/job-wq-1, gcr.io/my-gcp-project/my-kube-scheduler) and
# the Windows examples' mcr.microsoft.com images, which a Linux node cannot run.
WEBSITE_EXAMPLE_IMAGES = [
    # application/
    "nginx", "nginx:1.14.2", "nginx:1.16.1", "nginx:1.7.9", "nginx:1.9.2", "registry.k8s.io/nginx-slim:0.7",
    "registry.k8s.io/nginx-slim:0.8", "registry.k8s.io/nginx-slim:0.21", "registry.k8s.io/nginx-slim:0.24",
    "registry.k8s.io/kubernetes-zookeeper:1.0-3.4.10", "gcr.io/google-samples/cassandra:v13",
    "mysql:5.6", "mysql:5.7", "mysql:8.0", "gcr.io/google-samples/xtrabackup:1.0", "wordpress:6.2.1-apache",
    "mongo:4.2", "redis", "docker.io/redis:6.0.5", "rabbitmq", "busybox", "busybox:1.28", "busybox:1.37",
    "docker.io/library/busybox", "docker.io/library/bash", "alpine:latest", "registry.k8s.io/pause",
    "registry.k8s.io/hpa-example", "gcr.io/google-samples/hello-app:1.0", "gcr.io/google-samples/hello-app:2.0",
    "us-docker.pkg.dev/google-samples/containers/gke/gb-frontend:v5",
    "us-docker.pkg.dev/google-samples/containers/gke/gb-redis-follower:v2",
    "gcr.io/google_samples/gb-redisslave:v1", "gcr.io/google-samples/gb-frontend:v4",
    # controllers/
    "perl", "perl:5.34.0", "docker.io/library/bash:5", "python", "docker.io/library/python:3",
    "quay.io/fluentd_elasticsearch/fluentd:v2.5.2",
    # pods/
    "debian", "fedora", "redis:5", "registry.k8s.io/busybox", "registry.k8s.io/busybox:1.27.2",
    "registry.k8s.io/e2e-test-images/agnhost:2.40", "registry.k8s.io/e2e-test-images/agnhost:2.45",
    "registry.k8s.io/goproxy:0.1", "registry.k8s.io/etcd:3.5.1-0", "registry.k8s.io/pause:3.8",
    "registry.k8s.io/liveness", "k8s.gcr.io/liveness", "polinux/stress", "vish/stress",
    "gcr.io/google-samples/node-hello:1.0", "hashicorp/http-echo:1.0", "docker.io/alpine/socat:1.8.0.3",
    # service/
    "gcr.io/google-samples/hello-go-gke:1.0", "gcr.io/google-samples/hello-frontend:1.0",
    "us-docker.pkg.dev/google-samples/containers/gke/hello-app:2.0", "docker.io/curlimages/curl:8.18.0",
    "bprashanth/nginxhttps:1.0", "radial/busyboxplus:curl",
    # admin/ and debug/
    "registry.k8s.io/e2e-test-images/agnhost:2.39", "registry.k8s.io/e2e-test-images/jessie-dnsutils:1.3",
    "gcr.io/kubernetes-e2e-test-images/dnsutils:1.3", "registry.k8s.io/fluentd-gcp:1.30",
    "registry.k8s.io/fluentd-gcp:2.0.2", "registry.k8s.io/event-exporter:v0.2.3",
    "registry.k8s.io/node-problem-detector:v0.1", "registry.k8s.io/cpa/cluster-proportional-autoscaler:1.8.4",
    "k8s.gcr.io/cloud-controller-manager:v1.8.0", "registry.k8s.io/kas-network-proxy/proxy-server:v0.0.32",
    "us.gcr.io/k8s-artifacts-prod/kas-network-proxy/proxy-agent:v0.0.37", "k8s.gcr.io/echoserver:1.4",
    # older spellings of the same tutorials
    "gcr.io/google_containers/busybox", "gcr.io/google_containers/liveness",
    "gcr.io/google_containers/echoserver:1.4", "gcr.io/google_containers/kubernetes-zookeeper:1.0-3.4.10",
    "gcr.io/google_containers/nginx-slim:0.8", "k8s.gcr.io/kubernetes-zookeeper:1.0-3.4.10",
    "ubuntu", "memcached", "mongo",
]


@pytest.mark.parametrize("name", WEBSITE_EXAMPLE_IMAGES)
def test_every_website_example_image_pulls(name: str) -> None:
    found = image(name)
    assert found.size_bytes > 0 and 0.3 <= found.pull_seconds <= 10


PI_JOB = ["perl", "-Mbignum=bpi", "-wle", "print bpi(2000)"]


def test_pi_job_runs_perls_own_program() -> None:
    perl = image("perl:5.34.0")
    assert program_args(perl, PI_JOB, None) == PI_JOB[1:]
    assert run_mode(perl, PI_JOB, None) == "exit" and perl.exit_code == 0
    assert 2 <= perl.start_seconds <= 10  # Math::BigFloat takes a few seconds
    assert perl.startup_logs == ()  # a bare `perl` pod prints nothing: the output depends on the script
    (line,) = render_logs(program_logs(perl, program_args(perl, PI_JOB, None)), datetime(2025, 1, 2, tzinfo=UTC))
    assert program_logs(perl, ["-Mbignum=bpi", "-wle", "print bpi(1000)"])[0].startswith("3.14159") and \
        len(program_logs(perl, ["-Mbignum=bpi", "-wle", "print bpi(1000)"])[0]) == 1001  # the older docs' job
    assert len(line) == 2001 and line.startswith("3.14159265358979323846264338327950288419716939937510")
    assert line.endswith("4780275901")  # …47802759009 rounded at the 2000th digit
    # also through `sh -c`, and from the kubelet's point of view (program.py)
    assert run_mode(perl, ["sh", "-c", "perl -Mbignum=bpi -wle 'print bpi(2000)'"], None) == "exit"


def test_pi_digits_are_computed_exactly() -> None:
    from decimal import Decimal, getcontext

    from clusters.engine.kubelet.images import _pi_digits
    assert _pi_digits(10) == "3.141592654"
    getcontext().prec = 60
    # Machin's formula with Decimal as an independent check of the first 50 digits
    def atan_inv(x: int) -> Decimal:
        total, term, k, sign, x2 = Decimal(0), Decimal(1) / x, 1, 1, x * x
        while term > Decimal(10) ** -58:
            total += sign * term / k
            term /= x2
            k += 2
            sign = -sign
        return total
    assert _pi_digits(50) == str(+(16 * atan_inv(5) - 4 * atan_inv(239)))[:51]


def test_pi_job_program_exits_0_with_the_digits() -> None:
    from clusters.engine.kubelet.environment import ContainerWorld
    from clusters.engine.kubelet.program import program_for
    container = {"name": "pi", "image": "perl:5.34.0", "command": PI_JOB}
    prog = program_for(image("perl:5.34.0"), container, ContainerWorld(env={"HOSTNAME": "pi-x"}), 1000.0, None)
    assert prog.run(1001.0).exited is False
    done = prog.run(1060.0)
    assert done.exited and done.exit_code == 0 and done.reason == "Completed"
    assert [line for _, _, line in done.logs][0][:12] == "3.1415926535" and len(done.logs[0][2]) == 2001


def test_other_perl_scripts_are_not_the_pi_model() -> None:
    perl = image("perl")
    assert run_mode(perl, ["perl", "-e", "print 42"], None) == "shell"
    # pi to any number of digits is the modelled program (the older docs' job asked for bpi(1000)).
    assert run_mode(perl, ["perl", "-Mbignum=bpi", "-wle", "print bpi(1000)"], None) == "exit"


@pytest.mark.parametrize("name, command, args, ports, mode", [
    ("registry.k8s.io/kubernetes-zookeeper:1.0-3.4.10", ["sh", "-c", "start-zookeeper --servers=3 --heap=512M"], None,
     ((2181, "TCP"), (2888, "TCP"), (3888, "TCP")), "server"),
    ("gcr.io/google-samples/cassandra:v13", None, None, ((7000, "TCP"), (7001, "TCP"), (7199, "TCP"), (9042, "TCP")),
     "server"),
    ("memcached", None, None, ((11211, "TCP"),), "server"),
    ("rabbitmq", None, None, ((5672, "TCP"), (4369, "TCP"), (25672, "TCP")), "server"),
    ("mongo:4.2", None, ["--bind_ip", "0.0.0.0"], ((27017, "TCP"),), "server"),
    ("registry.k8s.io/etcd:3.5.1-0", ["/usr/local/bin/etcd", "--data-dir", "/var/lib/etcd"], None,
     ((2379, "TCP"), (2380, "TCP")), "server"),
    ("gcr.io/google-samples/hello-go-gke:1.0", None, None, ((80, "TCP"),), "server"),
    ("gcr.io/google-samples/node-hello:1.0", None, None, ((8080, "TCP"),), "server"),
    ("docker.io/alpine/socat:1.8.0.3", None, ["tcp-listen:5432,fork", "tcp-connect:db:5432"], ((5432, "TCP"),),
     "server"),
    ("hashicorp/http-echo:1.0", None, ["-text=just made some syscalls!"], ((5678, "TCP"),), "server"),
    ("polinux/stress", ["stress"], ["--vm", "1", "--vm-bytes", "150M", "--vm-hang", "1"], (), "server"),
    ("registry.k8s.io/e2e-test-images/jessie-dnsutils:1.3", None, None, (), "exit"),
    ("docker.io/library/bash:5", None, None, (), "exit"),
    ("fedora", None, None, (), "exit"),
])
def test_website_example_programs(name: str, command, args, ports, mode) -> None:
    found = image(name)
    own = program_args(found, command, args)
    assert run_mode(found, command, args) == mode
    assert serving_ports(found, own if own is not None else None) == ports


def test_website_example_http_answers() -> None:
    assert http_response(image("gcr.io/google-samples/hello-go-gke:1.0"), None, 80, "/", 1) == \
        (200, '{"message":"Hello"}')
    assert http_response(image("gcr.io/google-samples/node-hello:1.0"), None, 8080, "/", 1) == \
        (200, "Hello Kubernetes!")
    echo = image("hashicorp/http-echo:1.0")
    assert http_response(echo, ["-text=just made some syscalls!"], 5678, "/", 1) == \
        (200, "just made some syscalls!\n")
    assert http_response(image("registry.k8s.io/etcd:3.5.1-0"), [], 2379, "/health", 1)[0] == 200
    assert http_response(image("memcached"), None, 11211, "/", 1) == (0, "")


def test_dns_debugging_images_have_the_tools() -> None:
    for name in ("registry.k8s.io/e2e-test-images/jessie-dnsutils:1.3",
                 "gcr.io/kubernetes-e2e-test-images/dnsutils:1.3",
                 "registry.k8s.io/e2e-test-images/agnhost:2.39"):
        assert {"nslookup", "dig"} <= image(name).binaries


def test_memory_task_stress_fits_200mi_not_100mi() -> None:
    stress = image("polinux/stress")
    assert 100 * 2**20 < stress.memory_bytes < 200 * 2**20
