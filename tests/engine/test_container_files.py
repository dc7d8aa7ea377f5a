"""The file systems of the containers: what `kubectl exec POD -- ls`, `cat` and the shell's messages show.

Each well-known image has the tree a learner expects to poke at (nginx's pages and configuration, busybox's
tools, redis's /data, httpd's htdocs, /etc/os-release), the kubelet's files (/etc/hosts, /etc/hostname,
/etc/resolv.conf), the volumes at their mount paths, and the tools the real image has — with the real
"not found" wording of its shell. Service links are those of the Services that existed when the container
started. Exec here is the engine's (clusters.engine.kubelet.logs), as `kubectl exec` runs it.
"""
from __future__ import annotations

import pytest

from clusters.engine.kubelet import images, logs, rootfs
from clusters.engine.network import PodNetwork
from clusters.engine.state import timestamp
from tests.engine.conftest import T0, apply, new_state, run


def pod(name: str, *containers: dict, volumes: list[dict] | None = None, **spec) -> dict:
    body = {"containers": list(containers), **spec}
    if volumes:
        body["volumes"] = volumes
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"}, "spec": body}


def started(*objects: dict, until: float = 10):
    state = new_state()
    state.config["start_delays"] = False
    for obj in objects:
        apply(state, obj)
    run(state, T0 + until)
    return state


def ex(state, name: str, *argv: str, container: str | None = None) -> tuple[int, str, str]:
    """`kubectl exec` (its writes kept, as the API's exec keeps them)."""
    answer = logs.exec_and_keep(state, state.get("Pod", "default", name), container, list(argv))
    state.commit()
    return answer


def page(state, name: str, path: str = "/", port: int = 80, container: str | None = None):
    """What the container's program answers to GET `path` now (what a Service or curl would get)."""
    _name, program, _run = logs.running_program(state, state.get("Pod", "default", name), container)
    return program.http(port, path, state.now)


NGINX = {"name": "nginx", "image": "nginx"}
BUSYBOX = {"name": "box", "image": "busybox", "command": ["sleep", "3600"]}


# --------------------------------------------------------------------------------------------- nginx
def test_nginx_serves_the_welcome_page_its_file_system_holds():
    state = started(pod("web", NGINX))
    assert ex(state, "web", "ls", "/usr/share/nginx/html") == (0, "50x.html\nindex.html\n", "")
    image = images.lookup("nginx")
    code, index, _ = ex(state, "web", "cat", "/usr/share/nginx/html/index.html")
    assert code == 0 and index == images.nginx_welcome(image.version) and len(index) == 615
    assert page(state, "web") == (200, index)                       # one source for the file and the page
    assert len(ex(state, "web", "cat", "/usr/share/nginx/html/50x.html")[1]) == 497
    assert ex(state, "web", "ls", "/etc/nginx")[1] == \
        "conf.d\nfastcgi_params\nmime.types\nmodules\nnginx.conf\nscgi_params\nuwsgi_params\n"
    conf = ex(state, "web", "cat", "/etc/nginx/conf.d/default.conf")[1]
    assert conf.startswith("server {\n    listen       80;\n    listen  [::]:80;\n    server_name  localhost;\n")
    assert "        root   /usr/share/nginx/html;\n        index  index.html index.htm;\n" in conf
    main = ex(state, "web", "cat", "/etc/nginx/nginx.conf")[1]
    assert main.startswith("\nuser  nginx;\nworker_processes  auto;\n\nerror_log  /var/log/nginx/error.log notice;\n")
    assert "    include /etc/nginx/conf.d/*.conf;\n}\n" in main
    assert ex(state, "web", "ls", "/")[1].split() == [
        "bin", "boot", "dev", "docker-entrypoint.d", "docker-entrypoint.sh", "etc", "home", "lib", "lib64", "media",
        "mnt", "opt", "proc", "root", "run", "sbin", "srv", "sys", "tmp", "usr", "var"]
    assert ex(state, "web", "pwd") == (0, "/\n", "")


def test_nginx_without_an_index_file_forbids_the_directory_and_curl_w_reports_it():
    # A readiness probe on / fails with 403 once index.html is gone, as nginx's `index` without autoindex does.
    state = started(pod("web", NGINX))
    ex(state, "web", "rm", "/usr/share/nginx/html/index.html")
    code, body = page(state, "web", "/")
    assert code == 403 and "<head><title>403 Forbidden</title></head>" in body
    assert page(state, "web", "/50x.html")[0] == 200
    # curl's -w goes to stdout even when -o sends the body away.
    assert ex(state, "web", "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}\\n", "http://localhost/") == (
        0, "403\n", "")
    assert ex(state, "web", "sh", "-c", "curl -s -o /tmp/page -w '%{http_code}' localhost/50x.html; wc -c < /tmp/page"
              ) == (0, "200497\n", "")


def test_a_file_removed_then_written_again_is_served_to_other_pods():
    # The network answers from the container's files as they stand (no start: every write is in the past);
    # `rm` notes the path as a file and as a directory, and the later write must win over both.
    state = started(pod("web", NGINX), pod("client", BUSYBOX))
    ex(state, "web", "rm", "/usr/share/nginx/html/index.html")
    run(state, state.now + 30)
    ex(state, "web", "sh", "-c", "echo back > /usr/share/nginx/html/index.html")
    ip = state.get("Pod", "default", "web")["status"]["podIP"]
    net = PodNetwork(state, state.get("Pod", "default", "client"))
    answer = net.request(f"http://{ip}/", state.now)
    assert (answer.status, answer.body) == (200, "back\n")
    assert page(state, "web", "/") == (200, "back\n")


def test_the_os_release_follows_the_image_line():
    assert 'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"' in rootfs.image_tree(images.lookup("nginx")).files[
        "/etc/os-release"]
    assert 'VERSION_CODENAME=bookworm' in rootfs.image_tree(images.lookup("nginx:1.27")).files["/etc/os-release"]
    old = rootfs.image_tree(images.lookup("nginx:1.14.2"))
    assert "/docker-entrypoint.sh" not in old.files          # the entrypoint scripts arrived in 1.19
    assert "error.log warn;" in old.files["/etc/nginx/nginx.conf"]
    assert len(old.files["/usr/share/nginx/html/index.html"]) == 612
    alpine = rootfs.image_tree(images.lookup("nginx:alpine")).files["/etc/os-release"]
    assert alpine.startswith('NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.')
    assert rootfs.image_tree(images.lookup("nginx")) is rootfs.image_tree(images.lookup("nginx"))   # built once


def test_the_kubelet_files():
    state = started(pod("web", NGINX))
    web = state.get("Pod", "default", "web")
    ip = web["status"]["podIP"]
    assert ex(state, "web", "cat", "/etc/hosts")[1] == (
        "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
        "fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n"
        f"{ip}\tweb\n")
    assert ex(state, "web", "cat", "/etc/resolv.conf")[1] == (
        "search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n")
    assert ex(state, "web", "cat", "/etc/hostname")[1] == "web\n"


def test_a_statefulset_style_hostname_and_subdomain_in_hosts():
    state = started(pod("db-0", BUSYBOX, hostname="db-0", subdomain="db"))
    ip = state.get("Pod", "default", "db-0")["status"]["podIP"]
    assert ex(state, "db-0", "cat", "/etc/hosts")[1].endswith(f"{ip}\tdb-0.db.default.svc.cluster.local\tdb-0\n")


# --------------------------------------------------------------------------------------------- tools
def test_busybox_has_wget_but_no_curl():
    state = started(pod("box", BUSYBOX))
    assert ex(state, "box", "sh", "-c", "curl http://web") == (127, "", "sh: curl: not found\n")
    assert ex(state, "box", "/bin/sh", "-c", "curl http://web")[2] == "/bin/sh: curl: not found\n"
    code, _out, err = ex(state, "box", "curl", "http://web")
    assert code == 126 and 'exec: "curl": executable file not found in $PATH' in err
    assert "wget\n" in ex(state, "box", "ls", "/bin")[1]
    assert ex(state, "box", "cat", "/etc/os-release") == (
        1, "", "cat: can't open '/etc/os-release': No such file or directory\n")
    assert ex(state, "box", "ls", "/")[1].split() == [
        "bin", "dev", "etc", "home", "lib", "lib64", "proc", "root", "sys", "tmp", "usr", "var"]


def test_nginx_has_curl_and_bash_but_no_ping_ps_or_vi_and_its_sh_is_dash():
    state = started(pod("web", NGINX))
    for tool in ("ping", "ps", "vi", "ip", "wget"):
        assert ex(state, "web", "sh", "-c", tool) == (127, "", f"sh: 1: {tool}: not found\n")
    assert ex(state, "web", "bash", "-c", "ping x") == (127, "", "bash: line 1: ping: command not found\n")
    assert ex(state, "web", "which", "curl")[1] == "/usr/bin/curl\n"
    assert ex(state, "web", "which", "apt-get")[1] == "/usr/bin/apt-get\n"          # a Debian image
    assert ex(state, "web", "ls", "/bin/bash") == (0, "/bin/bash\n", "")      # /bin is /usr/bin (merged /usr)
    assert ex(state, "web", "cat", "/nope") == (1, "", "cat: /nope: No such file or directory\n")
    assert ex(state, "web", "ls", "/nope") == (2, "", "ls: cannot access '/nope': No such file or directory\n")
    assert ex(state, "web", "sh", "-c", "echo x > /nodir/f")[2] == \
        "sh: 1: cannot create /nodir/f: Directory nonexistent\n"
    assert ex(state, "web", "bash", "-c", "echo x > /nodir/f")[2] == \
        "bash: line 1: /nodir/f: No such file or directory\n"


def test_debian_images_have_apt_get_and_alpine_ones_busybox_tools():
    state = started(pod("deb", {"name": "d", "image": "debian", "command": ["sleep", "3600"]}),
                    pod("alp", {"name": "a", "image": "nginx:alpine"}))
    assert "/usr/bin/apt-get" in rootfs.image_tree(images.lookup("debian")).files
    assert ex(state, "alp", "sh", "-c", "ping -c1 x; curl -s x; bash -c true")[2].splitlines()[-1] == \
        "sh: bash: not found"
    assert ex(state, "alp", "cat", "/nope")[2] == "cat: can't open '/nope': No such file or directory\n"


def test_redis_works_in_data_and_httpd_in_its_server_root():
    state = started(pod("cache", {"name": "redis", "image": "redis"}), pod("site", {"name": "httpd", "image": "httpd"}))
    assert ex(state, "cache", "pwd") == (0, "/data\n", "")
    assert ex(state, "cache", "ls") == (0, "", "")
    assert ex(state, "site", "pwd") == (0, "/usr/local/apache2\n", "")
    assert ex(state, "site", "cat", "htdocs/index.html") == (0, "<html><body><h1>It works!</h1></body></html>\n", "")
    assert ex(state, "site", "sh", "-c", "echo hello > htdocs/index.html") == (0, "", "")
    assert page(state, "site") == (200, "hello\n")
    ex(state, "site", "sh", "-c", "rm htdocs/index.html; mkdir htdocs/docs; echo a > htdocs/notes.txt")
    code, listing = page(state, "site")                     # Options Indexes: mod_autoindex's plain list
    assert code == 200 and "<title>Index of /</title>" in listing
    assert '<li><a href="docs/"> docs/</a></li>\n<li><a href="notes.txt"> notes.txt</a></li>' in listing
    assert page(state, "site", "/docs")[0] == 301


# --------------------------------------------------------------------------------------------- volumes
CONFIG = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "default"},
          "data": {"color": "blue", "size": "L"}}


def test_every_mount_path_is_there_and_projections_are_read_only():
    box = {**BUSYBOX, "volumeMounts": [{"name": "config", "mountPath": "/etc/config"},
                                       {"name": "scratch", "mountPath": "/scratch"},
                                       {"name": "one", "mountPath": "/etc/color", "subPath": "color"}]}
    state = started(CONFIG, pod("box", box, volumes=[{"name": "config", "configMap": {"name": "cfg"}},
                                                     {"name": "scratch", "emptyDir": {}},
                                                     {"name": "one", "configMap": {"name": "cfg"}}]))
    assert ex(state, "box", "ls", "/etc/config") == (0, "color\nsize\n", "")
    assert ex(state, "box", "ls", "/scratch") == (0, "", "")
    assert ex(state, "box", "cat", "/etc/color") == (0, "blue", "")
    assert ex(state, "box", "ls", "/var/run/secrets/kubernetes.io/serviceaccount")[1] == "ca.crt\nnamespace\ntoken\n"
    assert ex(state, "box", "sh", "-c", "echo x > /etc/config/x") == (
        1, "", "sh: can't create /etc/config/x: Read-only file system\n")
    assert ex(state, "box", "touch", "/etc/config/x")[2] == "touch: /etc/config/x: Read-only file system\n"
    assert ex(state, "box", "rm", "/etc/config/color")[2] == \
        "rm: can't remove '/etc/config/color': Read-only file system\n"
    assert ex(state, "box", "mkdir", "/etc/config/d")[2] == \
        "mkdir: can't create directory '/etc/config/d': Read-only file system\n"
    assert ex(state, "box", "cat", "/etc/config/color") == (0, "blue", "")


def test_a_mount_covers_what_the_image_has_there():
    web = {**NGINX, "volumeMounts": [{"name": "html", "mountPath": "/usr/share/nginx/html"}]}
    state = started(pod("web", web, volumes=[{"name": "html", "emptyDir": {}}]))
    assert ex(state, "web", "ls", "/usr/share/nginx/html") == (0, "", "")
    assert page(state, "web")[0] == 403                                 # nginx: a directory without an index
    assert page(state, "web", "/missing.html")[0] == 404


def test_a_configmap_change_reaches_the_files_after_the_kubelet_sync_but_not_a_subpath():
    box = {**BUSYBOX, "volumeMounts": [{"name": "config", "mountPath": "/etc/config"},
                                       {"name": "one", "mountPath": "/etc/color", "subPath": "color"}]}
    state = started(CONFIG, pod("box", box, volumes=[{"name": "config", "configMap": {"name": "cfg"}},
                                                     {"name": "one", "configMap": {"name": "cfg"}}]))
    config = state.get("ConfigMap", "default", "cfg")
    config["data"] = {"color": "red", "size": "L"}
    state.update(config)
    run(state, state.now + 1)
    assert ex(state, "box", "cat", "/etc/config/color")[1] == "blue"    # not yet: the kubelet syncs later
    run(state, state.now + 95)
    assert ex(state, "box", "cat", "/etc/config/color")[1] == "red"
    assert ex(state, "box", "cat", "/etc/color")[1] == "blue"           # a subPath mount is never updated


def test_a_script_sees_the_configmap_change_when_it_lands():
    box = {"name": "watch", "image": "busybox", "volumeMounts": [{"name": "config", "mountPath": "/etc/config"}],
           "command": ["sh", "-c", "while [ \"$(cat /etc/config/color)\" = blue ]; do sleep 1; done; echo changed"]}
    state = started(CONFIG, pod("watch", box, volumes=[{"name": "config", "configMap": {"name": "cfg"}}]))
    config = state.get("ConfigMap", "default", "cfg")
    config["data"] = {"color": "green", "size": "L"}
    state.update(config)
    changed_at = state.now
    run(state, state.now + 100)
    log = logs.container_logs(state, state.get("Pod", "default", "watch"), None)
    assert [line.text for line in log.lines] == ["changed"]
    assert 60 <= log.lines[0].time - changed_at <= 92


# --------------------------------------------------------------------------------------------- environment
SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "my-nginx", "namespace": "default"},
           "spec": {"selector": {"app": "nginx"}, "clusterIP": "10.96.0.50",
                    "ports": [{"port": 80, "protocol": "TCP"}]}}


def env_of(state, name: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in ex(state, name, "env")[1].splitlines())


def test_service_variables_only_for_services_that_existed_when_the_container_started():
    state = started(pod("early", BUSYBOX))
    apply(state, SERVICE)
    run(state, state.now + 5)
    apply(state, pod("late", BUSYBOX))
    run(state, state.now + 5)
    early, late = env_of(state, "early"), env_of(state, "late")
    assert "MY_NGINX_SERVICE_HOST" not in early and "KUBERNETES_SERVICE_HOST" in early
    ip = state.get("Service", "default", "my-nginx")["spec"]["clusterIP"]
    assert late["MY_NGINX_SERVICE_HOST"] == ip and late["MY_NGINX_SERVICE_PORT"] == "80"
    assert late["MY_NGINX_PORT"] == f"tcp://{ip}:80" and late["MY_NGINX_PORT_80_TCP_ADDR"] == ip
    assert late["MY_NGINX_PORT_80_TCP_PROTO"] == "tcp" and late["MY_NGINX_PORT_80_TCP_PORT"] == "80"


def test_a_service_created_within_the_second_after_the_container_started_is_not_linked():
    # Connecting Applications with Services: `kubectl expose` right after the pods run. creationTimestamps have
    # whole seconds; what counts is whether the kubelet knew the Service when it created the container.
    state = started(pod("early", BUSYBOX), until=0.2)
    assert state.sim(state.get("Pod", "default", "early"))["c"]["box"]["start"] < T0 + 0.2
    state.now = T0 + 0.6
    apply(state, SERVICE)
    assert state.get("Service", "default", "my-nginx")["metadata"]["creationTimestamp"] == timestamp(T0)
    run(state, T0 + 5)
    assert "MY_NGINX_SERVICE_HOST" not in env_of(state, "early")
    apply(state, pod("late", BUSYBOX))
    run(state, T0 + 10)
    assert "MY_NGINX_SERVICE_HOST" in env_of(state, "late")


def test_service_links_off_keep_only_the_kubernetes_service_and_other_namespaces_never_count():
    other = {**SERVICE, "metadata": {"name": "elsewhere", "namespace": "kube-system"},
             "spec": {**SERVICE["spec"], "clusterIP": "10.96.0.51"}}
    state = started(SERVICE, other, pod("off", BUSYBOX, enableServiceLinks=False), pod("on", BUSYBOX))
    off, on = env_of(state, "off"), env_of(state, "on")
    assert [k for k in off if k.endswith("_SERVICE_HOST")] == ["KUBERNETES_SERVICE_HOST"]
    assert sorted(k for k in on if k.endswith("_SERVICE_HOST")) == ["KUBERNETES_SERVICE_HOST", "MY_NGINX_SERVICE_HOST"]


@pytest.mark.parametrize("image", ["nginx", "busybox", "redis", "httpd", "alpine", "ubuntu", "debian",
                                   "registry.k8s.io/pause:3.9", "registry.k8s.io/e2e-test-images/agnhost:2.39",
                                   "registry.k8s.io/nginx-slim:0.8", "mysql", "postgres", "python:3.12-slim"])
def test_every_tree_has_its_image_binaries_and_a_root(image):
    found = images.lookup(image)
    tree = rootfs.image_tree(found)
    assert "/" in tree.dirs and tree.workdir in tree.dirs
    names = {path.rsplit("/", 1)[-1] for path in tree.files}
    assert {b.rsplit("/", 1)[-1] for b in found.binaries} - {"[["} <= names
