"""Bad input gets a Kubernetes Status with a clear message, fast, and the cluster is left as it was."""
from __future__ import annotations

import base64
import json
import time

import pytest
import requests
import yaml


class RawApi:
    """Plain HTTPS requests with the kubeconfig's token and CA: bodies kubectl would refuse to send."""

    def __init__(self, kubeconfig, tmp_path):
        config = yaml.safe_load(kubeconfig.read_text())
        cluster = config["clusters"][0]["cluster"]
        self.server = cluster["server"]
        self.ca = tmp_path / "ca.crt"
        self.ca.write_bytes(base64.b64decode(cluster["certificate-authority-data"]))
        self.token = config["users"][0]["user"]["token"]

    def request(self, method: str, path: str, body: bytes | str | None = None, content_type: str = "application/json",
                token: str | None = "default") -> requests.Response:
        headers = {"Content-Type": content_type, "Accept": "application/json"}
        token = self.token if token == "default" else token
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(method, self.server + path, data=body, headers=headers, verify=str(self.ca),
                                timeout=30)

    def resource_version(self) -> str:
        return self.request("GET", "/api/v1/namespaces").json()["metadata"]["resourceVersion"]

    def quiet_resource_version(self, settle: float = 0.8, timeout: float = 20) -> str:
        """The resourceVersion once the control loops have stopped writing (they run in the background)."""
        deadline = time.monotonic() + timeout
        last = self.resource_version()
        while time.monotonic() < deadline:
            time.sleep(settle)
            current = self.resource_version()
            if current == last:
                return current
            last = current
        raise AssertionError("the cluster kept changing")

    def settled(self, timeout: float = 60) -> None:
        """Wait until a fresh cluster has started its system pods (kube-system, local-path-storage,
        ingress-nginx): until then its control loops write in the background."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pods = self.request("GET", "/api/v1/pods").json()["items"]
            if pods and all(p["status"].get("phase") == "Succeeded" or any(
                    c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions") or ())
                    for p in pods):
                return
            time.sleep(0.3)
        raise AssertionError("the system pods did not start")


@pytest.fixture(scope="module")
def raw(kubectl, tmp_path_factory):
    api = RawApi(kubectl.kubeconfig, tmp_path_factory.mktemp("raw"))
    api.settled()
    return api


@pytest.fixture
def unchanged(raw):
    """Asserts after the test that nothing was written to the cluster."""
    before = raw.quiet_resource_version()
    yield
    assert raw.quiet_resource_version() == before


def assert_status(response: requests.Response, code: int, reason: str) -> dict:
    assert response.status_code == code, response.text
    status = response.json()
    assert status["kind"] == "Status" and status["status"] == "Failure"
    assert status["code"] == code and status["reason"] == reason
    return status


def test_malformed_yaml_names_line_and_column(raw, unchanged):
    body = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n data: oops\n"
    status = assert_status(raw.request("POST", "/api/v1/namespaces/default/configmaps", body, "application/yaml"),
                           400, "BadRequest")
    assert "line 5" in status["message"]


def test_yaml_alias_bomb_rejected_fast(raw, unchanged):
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 10):
        refs = ",".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{refs}]")
    body = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\ndata:\n" + \
        "\n".join("  " + line for line in lines) + "\n"
    started = time.monotonic()
    status = assert_status(raw.request("POST", "/api/v1/namespaces/default/configmaps", body, "application/yaml"),
                           400, "BadRequest")
    assert time.monotonic() - started < 2
    assert "alias" in status["message"]


def test_ten_megabyte_document_rejected_fast(raw, unchanged):
    body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "huge"},
                       "data": {"blob": "x" * (10 * 1024 * 1024)}})
    started = time.monotonic()
    response = raw.request("POST", "/api/v1/namespaces/default/configmaps", body)
    assert time.monotonic() - started < 3
    assert_status(response, 413, "RequestEntityTooLarge")


BAD_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: bad}
spec:
  replicas: REPLICAS
  selector: {matchLabels: {app: bad}}
  template:
    metadata: {labels: {app: bad}}
    spec:
      containers: [{name: web, image: nginx}]
"""


def test_wrong_type(kubectl, unchanged):
    err = kubectl.fails("apply", "-f", "-", input=BAD_DEPLOYMENT.replace("REPLICAS", '"three"'))
    assert "Error from server (BadRequest)" in err
    assert "cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32" in err


def test_unknown_field(kubectl, unchanged):
    err = kubectl.fails("apply", "-f", "-", input=BAD_DEPLOYMENT.replace("replicas: REPLICAS", "replica: 2"))
    assert 'strict decoding error: unknown field "spec.replica"' in err


def test_missing_namespace(kubectl, unchanged):
    err = kubectl.fails("apply", "-n", "nope", "-f", "-", input=BAD_DEPLOYMENT.replace("REPLICAS", "1"))
    assert 'Error from server (NotFound): error when creating "STDIN": namespaces "nope" not found' in err


def test_bad_name(kubectl, unchanged):
    err = kubectl.fails("create", "configmap", "My_App")
    assert 'metadata.name: Invalid value: "My_App": a lowercase RFC 1123 subdomain' in err


def test_removed_api_version(kubectl, raw, unchanged):
    cronjob = ("apiVersion: batch/v1beta1\nkind: CronJob\nmetadata: {name: old}\nspec:\n  schedule: '* * * * *'\n"
               "  jobTemplate: {spec: {template: {spec: {restartPolicy: Never, containers: "
               "[{name: c, image: busybox}]}}}}\n")
    err = kubectl.fails("apply", "-f", "-", input=cronjob)
    assert 'no matches for kind "CronJob" in version "batch/v1beta1"' in err
    status = assert_status(raw.request("POST", "/apis/batch/v1beta1/namespaces/default/cronjobs",
                                       json.dumps(yaml.safe_load(cronjob))), 404, "NotFound")
    assert status["message"] == "the server could not find the requested resource"


def test_replicas_beyond_quota(kubectl, unchanged):
    err = kubectl.fails("apply", "-f", "-", input=BAD_DEPLOYMENT.replace("REPLICAS", "1000000"))
    assert "Error from server (Forbidden)" in err and "exceeded quota" in err and "replicas=1000000" in err


def test_stale_update(raw, kubectl):
    kubectl("create", "configmap", "stale", "--from-literal=a=1")
    current = raw.request("GET", "/api/v1/namespaces/default/configmaps/stale").json()
    current["data"] = {"a": "2"}
    assert raw.request("PUT", "/api/v1/namespaces/default/configmaps/stale", json.dumps(current)).status_code == 200
    before = raw.quiet_resource_version()
    current["data"] = {"a": "3"}
    status = assert_status(raw.request("PUT", "/api/v1/namespaces/default/configmaps/stale", json.dumps(current)),
                           409, "Conflict")
    assert "the object has been modified" in status["message"]
    assert raw.quiet_resource_version() == before


def test_tokens(raw, playground, kubectl, unchanged):
    other = RawApi(playground.new_cluster("bob", "other"), raw.ca.parent)
    path = "/api/v1/namespaces/default/configmaps"
    assert_status(raw.request("GET", path, token=other.token), 403, "Forbidden")
    assert_status(raw.request("GET", path, token=None), 401, "Unauthorized")
    assert_status(raw.request("GET", path, token="not-a-token"), 401, "Unauthorized")
    assert_status(raw.request("GET", path, token="x" * 5000), 401, "Unauthorized")
    # A guessed cluster id with a valid token of another cluster answers the same as an existing one.
    guessed = raw.request("GET", path.replace("/api/", "/api/"), token=other.token)
    assert guessed.status_code == 403
    err = kubectl.run("get", "pods", "--token", other.token, check=False).stderr
    assert "Forbidden" in err


def test_field_validation_modes(raw):
    body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "loose"},
                       "data": {"a": "b"}, "bogus": True})
    path = "/api/v1/namespaces/default/configmaps"
    strict = assert_status(raw.request("POST", path + "?fieldValidation=Strict", body), 400, "BadRequest")
    assert strict["message"] == ('ConfigMap in version "v1" cannot be handled as a ConfigMap: '
                                 'strict decoding error: unknown field "bogus"')
    warned = raw.request("POST", path, body)  # no fieldValidation: Warn, as the real server defaults
    assert warned.status_code == 201
    assert warned.headers["Warning"] == '299 - "unknown field \\"bogus\\""'
    assert "bogus" not in warned.json()
