"""kubernetes.io "Configure Memory and CPU Quotas for a Namespace"
(tasks/administer-cluster/manage-resources/quota-memory-cpu-namespace) and "Configure Default Memory
Requests and Limits for a Namespace" (tasks/administer-cluster/manage-resources/memory-default-namespace),
their commands in order with the real kubectl, against what the pages show a real cluster printing.

The manifests are the pages' (admin/resource/quota-mem-cpu*.yaml, memory-defaults*.yaml), written here
as the pages give them. Where the page differs from a current cluster, the assertion follows the real
one: the quota page's error shows "requests.memory=700Mi,used: …" (a typo of the page; the plugin writes
", used: "), and kubectl 1.3x's `get resourcequota` has the columns NAME, REQUEST, LIMIT, AGE.
"""
from __future__ import annotations

import pytest

from .tutorial import AGE, Page, classroom_server, eventually, lines_match

pytestmark = pytest.mark.e2e

QUOTA = """\
apiVersion: v1
kind: ResourceQuota
metadata:
  name: mem-cpu-demo
spec:
  hard:
    requests.cpu: "1"
    requests.memory: 1Gi
    limits.cpu: "2"
    limits.memory: 2Gi
"""

QUOTA_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: quota-mem-cpu-demo
spec:
  containers:
  - name: quota-mem-cpu-demo-ctr
    image: nginx
    resources:
      limits:
        memory: "800Mi"
        cpu: "800m"
      requests:
        memory: "600Mi"
        cpu: "400m"
"""

QUOTA_POD_2 = """\
apiVersion: v1
kind: Pod
metadata:
  name: quota-mem-cpu-demo-2
spec:
  containers:
  - name: quota-mem-cpu-demo-2-ctr
    image: redis
    resources:
      limits:
        memory: "1Gi"
        cpu: "800m"
      requests:
        memory: "700Mi"
        cpu: "400m"
"""

MEMORY_DEFAULTS = """\
apiVersion: v1
kind: LimitRange
metadata:
  name: mem-limit-range
spec:
  limits:
  - default:
      memory: 512Mi
    defaultRequest:
      memory: 256Mi
    type: Container
"""


def defaults_pod(name: str, resources: str = "") -> str:
    return f"""\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  containers:
  - name: {name}-ctr
    image: nginx
{resources}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from classroom_server(tmp_path_factory, "tutorial-quota", PLAYGROUND_START_DELAYS="0")


@pytest.fixture(scope="module")
def page(server) -> Page:
    return Page(server, "quota-memory-cpu-namespace")


def test_configure_memory_and_cpu_quotas_for_a_namespace(page):
    ns = "--namespace=quota-mem-cpu-example"
    assert page("create", "namespace", "quota-mem-cpu-example") == "namespace/quota-mem-cpu-example created\n"
    assert page("apply", "-f", "-", ns, input=QUOTA) == "resourcequota/mem-cpu-demo created\n"

    def status_known() -> dict:
        status = page.json("get", "resourcequota", "mem-cpu-demo", ns)["status"]
        assert status["hard"] == {"limits.cpu": "2", "limits.memory": "2Gi", "requests.cpu": "1",
                                  "requests.memory": "1Gi"}
        return status
    status = eventually(status_known)
    assert status["used"] == {"limits.cpu": "0", "limits.memory": "0", "requests.cpu": "0", "requests.memory": "0"}

    assert page("apply", "-f", "-", ns, input=QUOTA_POD) == "pod/quota-mem-cpu-demo created\n"
    eventually(lambda: lines_match(page("get", "pod", "quota-mem-cpu-demo", ns), [
        r"NAME +READY +STATUS +RESTARTS +AGE", rf"quota-mem-cpu-demo +1/1 +Running +0 +{AGE}"]))

    def used() -> None:
        assert page("get", "-o", "jsonpath={.status.used}", "resourcequota", "mem-cpu-demo", ns) == (
            '{"limits.cpu":"800m","limits.memory":"800Mi","requests.cpu":"400m","requests.memory":"600Mi"}')
    eventually(used)
    yaml_text = page("get", "resourcequota", "mem-cpu-demo", ns, "--output=yaml")
    assert ("status:\n  hard:\n    limits.cpu: \"2\"\n    limits.memory: 2Gi\n    requests.cpu: \"1\"\n"
            "    requests.memory: 1Gi\n  used:\n    limits.cpu: 800m\n    limits.memory: 800Mi\n"
            "    requests.cpu: 400m\n    requests.memory: 600Mi\n") in yaml_text

    # A second pod would take requests.memory over 1Gi: refused by the ResourceQuota admission plugin.
    result = page.run("apply", "-f", "-", ns, input=QUOTA_POD_2, check=False)
    assert result.returncode == 1
    assert result.stderr == (
        'Error from server (Forbidden): error when creating "STDIN": pods "quota-mem-cpu-demo-2" is forbidden: '
        "exceeded quota: mem-cpu-demo, requested: requests.memory=700Mi, used: requests.memory=600Mi, "
        "limited: requests.memory=1Gi\n")

    lines_match(page("get", "resourcequota", ns), [
        r"NAME +REQUEST +LIMIT +AGE",
        rf"mem-cpu-demo +requests\.cpu: 400m/1, requests\.memory: 600Mi/1Gi +limits\.cpu: 800m/2, "
        rf"limits\.memory: 800Mi/2Gi +{AGE}"])
    assert page("describe", "quota", "mem-cpu-demo", ns) == (
        "Name:            mem-cpu-demo\n"
        "Namespace:       quota-mem-cpu-example\n"
        "Resource         Used   Hard\n"
        "--------         ----   ----\n"
        "limits.cpu       800m   2\n"
        "limits.memory    800Mi  2Gi\n"
        "requests.cpu     400m   1\n"
        "requests.memory  600Mi  1Gi\n")

    # A pod that says nothing of its resources is refused while the quota tracks them.
    result = page.run("run", "bare", "--image=nginx", ns, check=False)
    assert result.stderr == (
        'Error from server (Forbidden): pods "bare" is forbidden: failed quota: mem-cpu-demo: must specify '
        "limits.cpu for: bare; limits.memory for: bare; requests.cpu for: bare; requests.memory for: bare\n")

    assert page("delete", "namespace", "quota-mem-cpu-example") == (
        'namespace "quota-mem-cpu-example" deleted\n')


def test_configure_default_memory_requests_and_limits_for_a_namespace(page):
    ns = "--namespace=default-mem-example"
    assert page("create", "namespace", "default-mem-example") == "namespace/default-mem-example created\n"
    assert page("apply", "-f", "-", ns, input=MEMORY_DEFAULTS) == "limitrange/mem-limit-range created\n"

    def resources(name: str) -> dict:
        return page.json("get", "pod", name, ns)["spec"]["containers"][0]["resources"]

    # A container without requests or limits gets the LimitRange's defaults.
    assert page("apply", "-f", "-", ns, input=defaults_pod("default-mem-demo")) == "pod/default-mem-demo created\n"
    assert resources("default-mem-demo") == {"limits": {"memory": "512Mi"}, "requests": {"memory": "256Mi"}}
    pod_yaml = page("get", "pod", "default-mem-demo", "--output=yaml", ns)
    assert ("    resources:\n      limits:\n        memory: 512Mi\n      requests:\n        memory: 256Mi\n"
            in pod_yaml)
    assert ("kubernetes.io/limit-ranger: 'LimitRanger plugin set: memory request for container\n"
            "      default-mem-demo-ctr; memory limit for container default-mem-demo-ctr'") in pod_yaml

    # A limit but no request: the request is the limit (API defaulting), not the LimitRange's default.
    limit_only = "    resources:\n      limits:\n        memory: \"1Gi\"\n"
    assert page("apply", "-f", "-", ns, input=defaults_pod("default-mem-demo-2", limit_only)) == (
        "pod/default-mem-demo-2 created\n")
    assert resources("default-mem-demo-2") == {"limits": {"memory": "1Gi"}, "requests": {"memory": "1Gi"}}

    # A request but no limit: the limit is the LimitRange's default.
    request_only = "    resources:\n      requests:\n        memory: \"128Mi\"\n"
    assert page("apply", "-f", "-", ns, input=defaults_pod("default-mem-demo-3", request_only)) == (
        "pod/default-mem-demo-3 created\n")
    assert resources("default-mem-demo-3") == {"limits": {"memory": "512Mi"}, "requests": {"memory": "128Mi"}}

    described = page("describe", "namespace", "default-mem-example")
    assert "Resource Limits\n" \
           " Type       Resource  Min  Max  Default Request  Default Limit  Max Limit/Request Ratio\n" \
           " ----       --------  ---  ---  ---------------  -------------  -----------------------\n" \
           " Container  memory    -    -    256Mi            512Mi          -\n" in described

    assert page("delete", "namespace", "default-mem-example") == 'namespace "default-mem-example" deleted\n'


def test_a_deployment_over_a_pods_quota_reports_failed_create(page):
    ns = "--namespace=team-b"
    page("create", "namespace", "team-b")
    page("create", "quota", "pods", "--hard=pods=2", ns)
    page("create", "deployment", "api", "--image=nginx:1.27", "--replicas=3", ns)
    eventually(lambda: lines_match(page("get", "deployment", "api", ns), [
        r"NAME +READY +UP-TO-DATE +AVAILABLE +AGE", rf"api +2/3 +2 +2 +{AGE}"]))

    def failed() -> str:
        events = page("get", "events", ns, "--field-selector", "reason=FailedCreate")
        assert "Warning   FailedCreate" in events
        return events
    events = failed()
    assert 'replicaset/api-' in events and 'Error creating: pods "api-' in events
    assert '" is forbidden: exceeded quota: pods, requested: pods=1, used: pods=2, limited: pods=2' in events
    result = page.run("run", "extra", "--image=nginx:1.27", ns, check=False)
    assert result.stderr == ('Error from server (Forbidden): pods "extra" is forbidden: exceeded quota: pods, '
                             "requested: pods=1, used: pods=2, limited: pods=2\n")
    eventually(lambda: lines_match(page("describe", "quota", "pods", ns), [
        r"Name: +pods", r"Namespace: +team-b", r"Resource +Used +Hard", r"-------- +---- +----",
        r"pods +2 +2"]))
