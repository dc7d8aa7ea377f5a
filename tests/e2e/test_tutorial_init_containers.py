"""kubernetes.io "Init Containers" (concepts/workloads/pods/init-containers), its "Init containers in use"
example as written, with the real kubectl against a classroom-mode playground.

myapp-pod's two init containers loop on `until nslookup myservice.<namespace>.svc.cluster.local; do echo
waiting for myservice; sleep 2; done` (then mydb); `kubectl get -f myapp.yaml` shows `Init:0/2` for as long
as the Services are missing, `kubectl logs myapp-pod -c init-myservice` shows the failed lookups, and once
`kubectl apply -f services.yaml` made them, the pod is `1/1 Running`. Meanwhile the learner runs another pod:
the kubelet's passes for it must not take the waiting pod for one with nothing left to do.
"""
from __future__ import annotations

import pytest

from .tutorial import Page, classroom_server, eventually, table

pytestmark = pytest.mark.e2e

MYAPP = """\
apiVersion: v1
kind: Pod
metadata:
  name: myapp-pod
  labels:
    app.kubernetes.io/name: MyApp
spec:
  containers:
  - name: myapp-container
    image: busybox:1.28
    command: ['sh', '-c', 'echo The app is running! && sleep 3600']
  initContainers:
  - name: init-myservice
    image: busybox:1.28
    command: ['sh', '-c', "until nslookup myservice.$(cat /var/run/secrets/kubernetes.io/serviceaccount/namespace).svc.cluster.local; do echo waiting for myservice; sleep 2; done"]
  - name: init-mydb
    image: busybox:1.28
    command: ['sh', '-c', "until nslookup mydb.$(cat /var/run/secrets/kubernetes.io/serviceaccount/namespace).svc.cluster.local; do echo waiting for mydb; sleep 2; done"]
"""  # noqa: E501 (the page's manifest as written)

SERVICES = """\
---
apiVersion: v1
kind: Service
metadata:
  name: myservice
spec:
  ports:
  - protocol: TCP
    port: 80
    targetPort: 9376
---
apiVersion: v1
kind: Service
metadata:
  name: mydb
spec:
  ports:
  - protocol: TCP
    port: 80
    targetPort: 9377
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from classroom_server(tmp_path_factory, "tutorial-init", PLAYGROUND_START_DELAYS="0")


def test_init_containers_in_use(server, tmp_path):
    page = Page(server, "init")
    (tmp_path / "myapp.yaml").write_text(MYAPP)
    (tmp_path / "services.yaml").write_text(SERVICES)
    assert page.apply(tmp_path / "myapp.yaml") == "pod/myapp-pod created\n"

    def waiting() -> list[str]:
        rows = table(page("get", "-f", str(tmp_path / "myapp.yaml")))
        assert rows[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"] and rows[1][:4] == [
            "myapp-pod", "0/1", "Init:0/2", "0"], rows
        logs = page("logs", "myapp-pod", "-c", "init-myservice")
        assert "nslookup: can't resolve 'myservice.default.svc.cluster.local'" in logs, logs
        assert "waiting for myservice" in logs, logs
        return rows
    eventually(waiting)

    # Another pod meanwhile: the kubelet runs for it, and for the waiting pod finds nothing written.
    page("run", "other", "--image=busybox:1.28", "--restart=Never", "--", "sleep", "3600")
    page.running(1, "--field-selector=metadata.name=other")
    page.advance(30)
    waiting()

    assert page.apply(tmp_path / "services.yaml") == "service/myservice created\nservice/mydb created\n"

    def running() -> None:
        rows = table(page("get", "-f", str(tmp_path / "myapp.yaml")))
        assert rows[1][:4] == ["myapp-pod", "1/1", "Running", "0"], rows
    eventually(running)
    assert page("logs", "myapp-pod") == "The app is running!\n"
    # init-mydb starts once init-myservice found its Service, after both were made: found at the first try.
    mydb = page("logs", "myapp-pod", "-c", "init-mydb")
    assert "waiting for mydb" not in mydb and "Name:      mydb.default.svc.cluster.local\n" in mydb, mydb
