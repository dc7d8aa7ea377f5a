"""kubernetes.io "Declare Network Policy" (tasks/administer-cluster/declare-network-policy), its commands in
order with the real kubectl, against what the page shows a real cluster printing.

An nginx Deployment exposed as the Service `nginx`, `wget --spider --timeout=1 nginx` from `kubectl run
busybox --rm -ti --image=busybox -- /bin/sh` (the file exists), the NetworkPolicy access-nginx applied,
the same wget from a pod without the label (it times out), and from one run with `--labels="access=true"`
(it gets through again). Pulls and starts are instant.

The policy is the page's nginx-policy.yaml as kubernetes.io shows it: it selects `app: nginx`, the label
`kubectl create deployment nginx` gives its pods ("You can see this policy selects Pods with the label
app=nginx"). Each `kubectl run … --rm` pod runs sh, which as the container's first process ignores the
SIGTERM of its deletion, so it terminates at the end of its 30-second grace period, and a `kubectl run`
of the same name before then is refused (AlreadyExists) on a real cluster too: a learner reading the page
takes that long; the cluster's clock is moved on instead.

Where the page shows an older cluster, the assertions follow a current one (kubectl 1.3x): `kubectl get
svc,pod` has the TYPE column.
"""
from __future__ import annotations

import re

import pytest

from .tutorial import AGE, CLUSTER_IP, HASH, SUFFIX, Page, classroom_server, eventually, lines_match, table

pytestmark = pytest.mark.e2e

NGINX_POLICY = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: access-nginx
spec:
  podSelector:
    matchLabels:
      app: nginx
  ingress:
  - from:
    - podSelector:
        matchLabels:
          access: "true"
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from classroom_server(tmp_path_factory, "tutorial-netpol", PLAYGROUND_START_DELAYS="0")


@pytest.fixture(scope="module")
def page(server) -> Page:
    return Page(server, "declare-network-policy")


def wget_from_busybox(page: Page, *labels: str) -> str:
    """`kubectl run busybox --rm -ti [--labels=…] --image=busybox -- /bin/sh`, then `wget --spider --timeout=1
    nginx` in it: what wget printed. The pod is gone afterwards (its grace period passed)."""
    with page.terminal("run", "busybox", "--rm", "-ti", *labels, "--image=busybox", "--", "/bin/sh") as shell:
        assert shell.banner.endswith("If you don't see a command prompt, try pressing enter.\r\n/ # ")
        answer = shell.line("wget --spider --timeout=1 nginx")
        code, after = shell.exit()
    assert code == 0
    assert after == ("exit\nSession ended, resume using 'kubectl attach busybox -c busybox -n default -i -t' "
                     'command\npod "busybox" deleted from default namespace\n')
    page.advance(30)                 # sh ignores SIGTERM: the pod goes at the end of its grace period
    page.gone("pod", "busybox")
    return answer


def test_declare_network_policy(page):
    # Create an nginx deployment and expose it via a service
    assert page("create", "deployment", "nginx", "--image=nginx") == "deployment.apps/nginx created\n"
    assert page("expose", "deployment", "nginx", "--port=80") == "service/nginx exposed\n"
    page.running(1, "-l", "app=nginx")
    shown = page("get", "svc,pod")
    lines_match(shown, [
        r"NAME +TYPE +CLUSTER-IP +EXTERNAL-IP +PORT\(S\) +AGE",
        rf"service/kubernetes +ClusterIP +10\.96\.0\.1 +<none> +443/TCP +{AGE}",
        rf"service/nginx +ClusterIP +{CLUSTER_IP} +<none> +80/TCP +{AGE}",
        r"",
        r"NAME +READY +STATUS +RESTARTS +AGE",
        rf"pod/nginx-{HASH}-{SUFFIX} +1/1 +Running +0 +{AGE}"])
    ip = table(shown)[2][2]

    # Test the service by accessing it from another Pod
    assert wget_from_busybox(page) == f"Connecting to nginx ({ip}:80)\nremote file exists\n"

    # Limit access to the nginx service; assign the policy to the service.
    assert page.apply_yaml(NGINX_POLICY) == "networkpolicy.networking.k8s.io/access-nginx created\n"
    lines_match(page("get", "networkpolicy"), [r"NAME +POD-SELECTOR +AGE", rf"access-nginx +app=nginx +{AGE}"])

    # Test access to the service when access label is not defined: the request times out.
    assert wget_from_busybox(page) == f"Connecting to nginx ({ip}:80)\nwget: download timed out\n"

    # Define access label and test again: allowed.
    assert wget_from_busybox(page, "--labels=access=true") == f"Connecting to nginx ({ip}:80)\nremote file exists\n"

    # The nginx pod itself never changed: still one Running pod behind the Service.
    assert re.fullmatch(rf"nginx-{HASH}-{SUFFIX}", next(iter(eventually(lambda: page.running(1, "-l", "app=nginx")))))
