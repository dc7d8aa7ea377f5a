"""Validation on the fly (POST /clusters/<name>/validate): the text goes through the real API
server pipeline as kubectl apply's dry run, nothing is stored, and every problem is at its line."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from clusters import actions
from clusters.models import ApiObject, Change, Cluster
from tests.fixtures import as_yaml, corpus_files, corpus_text, nginx_deployment

CORPUS = corpus_files()
KUBECTL = Path(sys.executable).parent / "kubectl"


@pytest.fixture
def lab(db):
    owner = get_user_model().objects.create_user("alice")
    return actions.cluster_create(owner=owner, name="lab", workers=2)


@pytest.fixture
def client(lab) -> Client:
    client = Client()
    client.force_login(lab.owner)
    return client


def validate(client: Client, text: str) -> dict:
    response = client.post("/clusters/lab/validate", json.dumps({"text": text}), content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def only(diagnostics: list[dict]) -> dict:
    assert len(diagnostics) == 1, diagnostics
    return diagnostics[0]


def where(diagnostic: dict) -> tuple[int, int, int, int]:
    return diagnostic["line"], diagnostic["column"], diagnostic["endLine"], diagnostic["endColumn"]


def stored_state(cluster: Cluster) -> tuple:
    cluster.refresh_from_db()
    return (cluster.resource_version, ApiObject.objects.filter(cluster=cluster).count(),
            Change.objects.filter(cluster=cluster).count(),
            sorted(ApiObject.objects.filter(cluster=cluster).values_list("kind", "namespace", "name",
                                                                          "resource_version")))


# ------------------------------------------------------------------------------------ the corpus

@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_every_corpus_manifest_validates_as_created(client, lab, path):
    before = stored_state(lab)
    result = validate(client, path.read_text())
    assert result["diagnostics"] == []
    assert result["objects"] and all(o["action"] == "created" for o in result["objects"])
    assert stored_state(lab) == before


def test_objects_are_reported_like_kubectl_apply_names_them(client):
    result = validate(client, corpus_text("application__php-apache.yaml"))
    assert result["objects"] == [
        {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "default", "name": "php-apache",
         "action": "created"},
        {"apiVersion": "v1", "kind": "Service", "namespace": "default", "name": "php-apache", "action": "created"}]
    volume = validate(client, corpus_text("pods__storage__pv-volume.yaml"))
    assert volume["objects"] == [{"apiVersion": "v1", "kind": "PersistentVolume", "namespace": None,
                                  "name": "task-pv-volume", "action": "created"}]


@contextmanager
def _token_proxy(upstream: str, token: str):
    """A plain-HTTP proxy in front of the test server that adds the bearer token: kubectl sends no
    token over plain HTTP, and the test server (pytest-django's live_server) has no TLS."""
    class Handler(BaseHTTPRequestHandler):
        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
            request = urllib.request.Request(upstream + self.path, data=body, method=self.command,
                                             headers={**headers, "Authorization": f"Bearer {token}"})
            try:
                response = urllib.request.urlopen(request, timeout=30)
            except urllib.error.HTTPError as error:
                response = error
            payload = response.read()
            self.send_response(response.status)
            for key, value in response.headers.items():
                if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _kubeconfig(tmp_path: Path, server: str, cluster: Cluster) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "lab",
        "clusters": [{"name": "lab", "cluster": {"server": f"{server}/clusters/{cluster.pk}"}}],
        "users": [{"name": "alice", "user": {}}],
        "contexts": [{"name": "lab", "context": {"cluster": "lab", "user": "alice", "namespace": "default"}}]}))
    return path


def test_after_a_real_kubectl_apply_the_corpus_is_unchanged(transactional_db, live_server, tmp_path):
    # The real kubectl writes the last-applied annotation; validation must agree with it byte for byte.
    owner = get_user_model().objects.create_user("alice")
    cluster = actions.cluster_create(owner=owner, name="lab", workers=2)
    with _token_proxy(live_server.url, actions.token_issue(cluster=cluster)) as proxy:
        _apply_then_validate(cluster, _kubeconfig(tmp_path, proxy, cluster))


def _with_strategy(deployment: dict, strategy: dict) -> dict:
    deployment["spec"]["strategy"] = strategy
    return deployment


# Applied once with the real kubectl, then validated: the editor must say what a second `kubectl apply`
# says, which is "configured" whenever kubectl's three-way patch is not empty, even when the server would
# change nothing (the atomic tolerations list the server extended; the volumes and volumeMounts the
# ServiceAccount admission extended, whose order kubectl sends; a Deployment strategy's retainKeys).
REAPPLIED = {
    "own tolerations": ("configured", """\
apiVersion: v1
kind: Pod
metadata:
  name: tolerant
spec:
  containers:
  - {name: app, image: "busybox:1.36", command: [sleep, "3600"]}
  tolerations:
  - {key: example.com/dedicated, operator: Exists, effect: NoSchedule}
"""),
    "emptyDir, no token volume": ("unchanged", """\
apiVersion: v1
kind: Pod
metadata:
  name: scratch
spec:
  automountServiceAccountToken: false
  containers:
  - name: app
    image: busybox:1.36
    volumeMounts: [{name: cache, mountPath: /cache}]
  volumes:
  - name: cache
    emptyDir: {}
"""),
    "emptyDir and the token volume": ("configured", """\
apiVersion: v1
kind: Pod
metadata:
  name: cached
spec:
  containers:
  - name: app
    image: busybox:1.36
    volumeMounts: [{name: cache, mountPath: /cache}]
  volumes:
  - name: cache
    emptyDir: {}
"""),
    "strategy type only": ("configured", as_yaml(_with_strategy(nginx_deployment(), {"type": "RollingUpdate"}))),
}


def test_a_reapplied_manifest_is_what_kubectl_says_it_is(transactional_db, live_server, tmp_path):
    owner = get_user_model().objects.create_user("alice")
    cluster = actions.cluster_create(owner=owner, name="lab", workers=2)
    client = Client()
    client.force_login(owner)
    with _token_proxy(live_server.url, actions.token_issue(cluster=cluster)) as proxy:
        kubeconfig = _kubeconfig(tmp_path, proxy, cluster)

        def kubectl_apply(text: str, *flags: str) -> subprocess.CompletedProcess:
            return subprocess.run([str(KUBECTL), "--kubeconfig", str(kubeconfig), "apply", *flags, "-f", "-"],
                                  input=text, capture_output=True, text=True, timeout=60)

        for what, (expected, text) in REAPPLIED.items():
            created = kubectl_apply(text)
            assert created.returncode == 0 and created.stdout.strip().endswith(" created"), created.stderr
            result = validate(client, text)
            assert result["diagnostics"] == [], what
            assert [o["action"] for o in result["objects"]] == [expected], (what, result)
            dry_run = kubectl_apply(text, "--dry-run=server")
            assert dry_run.returncode == 0 and dry_run.stdout.split()[1] == expected, (what, dry_run)


def _apply_then_validate(cluster: Cluster, kubeconfig: Path) -> None:
    owner = cluster.owner
    client = Client()
    client.force_login(owner)

    def kubectl_dry_run(text: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(KUBECTL), "--kubeconfig", str(kubeconfig), "apply", "--dry-run=server", "-f", "-"],
                              input=text, capture_output=True, text=True, timeout=60)

    # Applied again, each file is what the real kubectl says it is: mostly "unchanged"; "configured" where
    # kubectl's three-way patch is not empty although nothing would change (application/web/web.yaml's
    # StatefulSet: the server fills in the atomic volumeClaimTemplates list; pods/storage/pv-pod.yaml:
    # the ServiceAccount admission adds a volume and a mount, so kubectl sends their order).
    configured = {"application__web__web.yaml": ["unchanged", "configured"],
                  "pods__storage__pv-pod.yaml": ["configured"]}
    for path in CORPUS:
        if path.name == "application__deployment-scale.yaml":
            continue  # same Deployment as deployment.yaml with other replicas: checked below
        applied = subprocess.run([str(KUBECTL), "--kubeconfig", str(kubeconfig), "apply", "-f", str(path)],
                                 capture_output=True, text=True, timeout=60)
        assert applied.returncode == 0, applied.stderr
        before = stored_state(cluster)
        result = validate(client, path.read_text())
        assert result["diagnostics"] == [], path
        actions_seen = [o["action"] for o in result["objects"]]
        assert actions_seen == configured.get(path.name, ["unchanged"] * len(actions_seen)), (path, result)
        again = kubectl_dry_run(path.read_text())
        assert [line.split()[1] for line in again.stdout.splitlines()] == actions_seen, (path, again.stdout)
        assert stored_state(cluster) == before

    # What kubectl apply would change is "configured", checked as an update (still nothing stored), and
    # the real kubectl's server-side dry run says the same.

    deployment = corpus_text("application__deployment.yaml")
    scaled = deployment.replace("replicas: 2", "replicas: 4")
    fewer_ports = deployment.replace("        ports:\n        - containerPort: 80\n", "")
    relabelled = deployment.replace("  name: nginx-deployment\n",
                                    "  name: nginx-deployment\n  labels:\n    tier: web\n")
    for text in (scaled, fewer_ports, relabelled):
        assert text != deployment
        before = stored_state(cluster)
        result = validate(client, text)
        assert result["diagnostics"] == [] and [o["action"] for o in result["objects"]] == ["configured"]
        assert stored_state(cluster) == before
        assert "deployment.apps/nginx-deployment configured (server dry run)" in kubectl_dry_run(text).stdout
    assert "unchanged" in kubectl_dry_run(deployment).stdout

    immutable = deployment.replace("app: nginx", "app: other")
    diagnostic = only(validate(client, immutable)["diagnostics"])
    assert "field is immutable" in diagnostic["message"] and diagnostic["line"] == 6  # spec.selector
    refused = kubectl_dry_run(immutable)
    assert refused.returncode != 0 and diagnostic["message"].split(": ", 1)[1] in refused.stderr


# ------------------------------------------------------------------------------- exact positions

POD_WITH_TYPO = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
    tier: frontend
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: sidecar
        image: busybox:1.36
        args: ["sleep", "3600"]
      - name: web
        image: nginx:1.27
        imagePullPolicy: IfNotPresent
        portz:
        - containerPort: 80
"""


def test_unknown_field_is_underlined_at_its_key(client):
    diagnostic = only(validate(client, POD_WITH_TYPO)["diagnostics"])
    assert where(diagnostic) == (25, 9, 25, 14)
    assert diagnostic["severity"] == "error"
    assert diagnostic["message"] == ('Deployment in version "v1" cannot be handled as a Deployment: strict decoding '
                                     'error: unknown field "spec.template.spec.containers[1].portz"')


def test_several_unknown_fields_each_at_its_own_line(client):
    text = (POD_WITH_TYPO.replace("  replicas: 2", "  replica: 2")
            .replace("    tier: frontend", "    tier: frontend\n  colour: blue"))
    lines = [(d["line"], d["message"].rsplit(": ", 1)[1]) for d in validate(client, text)["diagnostics"]]
    assert lines == [(8, 'unknown field "metadata.colour"'), (10, 'unknown field "spec.replica"'),
                     (26, 'unknown field "spec.template.spec.containers[1].portz"')]


def test_wrong_type_points_at_the_value(client):
    text = POD_WITH_TYPO.replace("portz", "ports").replace("replicas: 2", 'replicas: "two"')
    diagnostic = only(validate(client, text)["diagnostics"])
    assert where(diagnostic) == (9, 13, 9, 18)
    assert diagnostic["message"] == ('Deployment in version "v1" cannot be handled as a Deployment: json: cannot '
                                     'unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32')


def test_wrong_type_in_the_second_container(client):
    text = POD_WITH_TYPO.replace("portz", "ports").replace("containerPort: 80", "containerPort: eighty")
    diagnostic = only(validate(client, text)["diagnostics"])
    assert where(diagnostic) == (26, 26, 26, 32)
    assert "cannot unmarshal string into Go struct field ContainerPort.spec.template.spec.containers.ports." \
           "containerPort of type int32" in diagnostic["message"]


def test_bad_quantity_points_at_the_value(client):
    text = POD_WITH_TYPO.replace("portz", "ports").replace(
        "        imagePullPolicy: IfNotPresent\n",
        "        imagePullPolicy: IfNotPresent\n        resources:\n          limits:\n            cpu: lots\n")
    diagnostic = only(validate(client, text)["diagnostics"])
    assert where(diagnostic)[:2] == (27, 18)
    assert "quantities must match the regular expression" in diagnostic["message"]


def test_invalid_values_each_at_their_line_with_the_servers_message(client):
    text = POD_WITH_TYPO.replace("portz", "ports").replace("name: web\n  labels", "name: Web_App\n  labels") \
        .replace("containerPort: 80", "containerPort: 70000")
    diagnostics = validate(client, text)["diagnostics"]
    assert [(d["line"], d["column"]) for d in diagnostics] == [(4, 9), (26, 26)]
    assert diagnostics[0]["message"].startswith('Deployment.apps "Web_App" is invalid: metadata.name: Invalid value: '
                                                '"Web_App": a lowercase RFC 1123 subdomain must consist of')
    assert diagnostics[1]["message"] == ('Deployment.apps "Web_App" is invalid: spec.template.spec.containers[1]'
                                         '.ports[0].containerPort: Invalid value: 70000: must be between 1 and '
                                         '65535, inclusive')


def test_missing_required_field_points_at_the_nearest_parent(client):
    text = POD_WITH_TYPO.replace("portz", "ports").replace("        image: nginx:1.27\n", "")
    diagnostic = only(validate(client, text)["diagnostics"])
    assert (diagnostic["line"], diagnostic["column"]) == (22, 9)  # the container's first key: "name: web"
    assert diagnostic["message"] == ('Deployment.apps "web" is invalid: spec.template.spec.containers[1].image: '
                                     'Required value')


def test_yaml_syntax_error_at_the_parsers_mark(client):
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: [1, 2\n  b: c\n"
    diagnostic = only(validate(client, text)["diagnostics"])
    assert (diagnostic["line"], diagnostic["column"]) == (7, 4)
    assert diagnostic["message"].startswith("error converting YAML to JSON: yaml: line 7, column 4: ")
    assert validate(client, text)["objects"] == []


def test_documents_before_a_syntax_error_are_still_checked(client):
    text = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: first\n---\n"
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: second\n  labels: a: b\n")
    result = validate(client, text)
    assert [d["line"] for d in result["diagnostics"]] == [10]
    assert [o["name"] for o in result["objects"]] == ["first"]


def test_second_documents_error_is_at_its_own_line(client):
    text = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fine\ndata:\n  a: b\n---\n"
            "# the broken one\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n"
            "  - port: 80\n    targetPort: 8080\n    protocl: TCP\n")
    result = validate(client, text)
    diagnostic = only(result["diagnostics"])
    assert where(diagnostic) == (17, 5, 17, 12)
    assert diagnostic["message"].endswith('unknown field "spec.ports[0].protocl"')
    assert result["objects"] == [{"apiVersion": "v1", "kind": "ConfigMap", "namespace": "default", "name": "fine",
                                  "action": "created"}]


# --------------------------------------------------------------------------- what kubectl refuses

def test_missing_kind_and_api_version(client):
    no_kind = only(validate(client, "apiVersion: v1\nmetadata:\n  name: x\n")["diagnostics"])
    assert (no_kind["line"], no_kind["message"]) == (1, "Object 'Kind' is missing in the document")
    no_version = only(validate(client, "\n\nkind: Pod\nmetadata:\n  name: x\n")["diagnostics"])
    assert no_version["line"] == 3 and "'apiVersion' is missing" in no_version["message"]


def test_removed_and_unknown_api_versions(client):
    removed = only(validate(client, "apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata:\n  name: x\n")
                   ["diagnostics"])
    assert where(removed) == (1, 13, 1, 31)
    assert removed["message"] == ('no matches for kind "Deployment" in version "extensions/v1beta1": '
                                  "extensions/v1beta1 Deployment was removed in Kubernetes v1.16; use apiVersion: "
                                  "apps/v1")
    unknown_kind = only(validate(client, "apiVersion: apps/v1\nkind: Deploymnet\nmetadata:\n  name: x\n")
                        ["diagnostics"])
    assert unknown_kind["line"] == 2
    assert unknown_kind["message"] == ('no matches for kind "Deploymnet" in version "apps/v1"\n'
                                       "ensure CRDs are installed first")


def test_missing_namespace_and_one_created_by_an_earlier_document(client):
    pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: shop\nspec:\n  containers:\n" \
          "  - name: c\n    image: nginx\n"
    missing = only(validate(client, pod)["diagnostics"])
    assert where(missing) == (5, 14, 5, 18) and missing["message"] == 'namespaces "shop" not found'

    with_namespace = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n---\n" + pod
    result = validate(client, with_namespace)
    assert result["diagnostics"] == []
    assert [(o["kind"], o["action"]) for o in result["objects"]] == [("Namespace", "created"), ("Pod", "created")]


def test_same_object_twice_in_one_text_is_created_then_configured(client):
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: '{}'\n"
    result = validate(client, cm.format(1) + "---\n" + cm.replace("'{}'", "'2'"))
    assert [o["action"] for o in result["objects"]] == ["created", "configured"]


def test_quota_refusal_points_at_replicas(client):
    text = POD_WITH_TYPO.replace("portz", "ports").replace("replicas: 2", "replicas: 500")
    diagnostic = only(validate(client, text)["diagnostics"])
    assert where(diagnostic) == (9, 13, 9, 16)
    assert diagnostic["message"] == ('deployments.apps "web" is forbidden: exceeded quota: playground-limits, '
                                     "requested: replicas=500, limited: replicas=50 per workload in this "
                                     "playground cluster")


def test_deprecated_api_is_a_warning_at_api_version(client):
    text = "apiVersion: v1\nkind: Endpoints\nmetadata:\n  name: legacy\nsubsets: []\n"
    result = validate(client, text)
    diagnostic = only(result["diagnostics"])
    assert (diagnostic["severity"], where(diagnostic)) == ("warning", (1, 13, 1, 15))
    assert diagnostic["message"] == "v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice"
    assert [o["action"] for o in result["objects"]] == ["created"]


def test_a_list_is_applied_as_its_items(client):
    text = ("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: a\n"
            "- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: b\n  dta: {}\n")
    result = validate(client, text)
    assert [o["name"] for o in result["objects"]] == ["a"]
    diagnostic = only(result["diagnostics"])
    assert where(diagnostic) == (12, 3, 12, 6) and diagnostic["message"].endswith('unknown field "dta"')
    odd = only(validate(client, "apiVersion: v1\nkind: List\nitems:\n- just a string\n")["diagnostics"])
    assert odd["line"] == 1 and odd["message"] == "a List item must be an object with apiVersion and kind"


def test_empty_text_and_comments_only(client):
    assert validate(client, "") == {"diagnostics": [], "objects": []}
    assert validate(client, "# nothing yet\n---\n") == {"diagnostics": [], "objects": []}


def test_not_a_mapping(client):
    diagnostic = only(validate(client, "- a\n- b\n")["diagnostics"])
    assert diagnostic["line"] == 1 and "a manifest must be a mapping" in diagnostic["message"]


# ------------------------------------------------------------------------------- hostile input

def test_alias_bomb_is_refused_quickly(client, lab):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(8))
    before = stored_state(lab)
    started = time.perf_counter()
    diagnostic = only(validate(client, bomb)["diagnostics"])
    assert time.perf_counter() - started < 2
    assert diagnostic["message"].endswith("document contains excessive aliasing")
    assert 2 <= diagnostic["line"] <= 9
    assert stored_state(lab) == before


def test_ten_megabytes_are_refused_quickly(client):
    huge = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  a: " + "x" * (10 << 20) + "\n"
    started = time.perf_counter()
    response = client.post("/clusters/lab/validate", json.dumps({"text": huge}), content_type="application/json")
    assert time.perf_counter() - started < 2
    assert response.status_code == 413 and "too large" in response.json()["error"]


def test_over_the_limit_but_within_the_body_limit_is_a_diagnostic(client, settings):
    settings.PLAYGROUND = {**settings.PLAYGROUND, "MAX_REQUEST_BYTES": 1000}
    diagnostic = only(validate(client, "data:\n  a: " + "x" * 995)["diagnostics"])
    assert diagnostic["message"] == "Request entity too large: limit is 1000" and diagnostic["line"] == 1


def test_deep_nesting_is_refused(client):
    text = "a: " + "[" * 200 + "]" * 200 + "\n"
    diagnostic = only(validate(client, text)["diagnostics"])
    assert "exceeded max depth of 128" in diagnostic["message"] and diagnostic["line"] == 1


# ------------------------------------------------------------------------------- nothing stored

def test_validation_stores_nothing_and_publishes_nothing(client, lab, monkeypatch):
    from clusters.sim import runner
    from clusters.store import notify

    published: list = []
    monkeypatch.setattr(notify, "cluster_changed", lambda *args: published.append(args))
    monkeypatch.setattr(runner, "request_reconcile", lambda *args: published.append(args))
    before = stored_state(lab)
    # Every corpus manifest in one text, but one version of nginx-deployment (their selectors differ).
    text = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n---\n" + "\n---\n".join(
        p.read_text() for p in CORPUS if "deployment-" not in p.name)
    result = validate(client, text)
    assert result["objects"] and not [d for d in result["diagnostics"] if d["severity"] == "error"]
    assert stored_state(lab) == before
    assert published == []
