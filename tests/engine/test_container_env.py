"""A container's environment is made once, when the kubelet creates the container.

The kubelet resolves env[].valueFrom (configMapKeyRef, secretKeyRef, fieldRef) and envFrom when it creates a
container (pkg/kubelet/kuberuntime generateContainerConfig → kubelet_pods.go makeEnvironmentVariables): a
ConfigMap patched afterwards changes neither what the running container's program sees nor what
`kubectl exec … printenv` prints; the next container of the pod (a restart after a crash) gets the new
values. The docs say it of ConfigMaps consumed as environment variables: "are not updated automatically and
require a pod restart" (concepts/configuration/configmap.md).
"""
from __future__ import annotations

import base64

from clusters.engine.kubelet import logs
from tests.engine.conftest import T0, apply, new_state, run


def config_map(color: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app-config", "namespace": "default"},
            "data": {"COLOR": color, "MODE": "dark"}}


def app_pod(script: str = "sleep 3600", restart: str = "Always") -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "app", "namespace": "default", "labels": {"tier": "front"}},
            "spec": {"restartPolicy": restart, "containers": [{
                "name": "app", "image": "busybox", "command": ["sh", "-c", script],
                "env": [{"name": "COLOR", "valueFrom": {"configMapKeyRef": {"name": "app-config", "key": "COLOR"}}},
                        {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "app-secret", "key": "pw"}}},
                        {"name": "TIER", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['tier']"}}}],
                "envFrom": [{"configMapRef": {"name": "app-config"}, "prefix": "CFG_"}]}]}}


def cluster(pod: dict):
    state = new_state()
    state.config["start_delays"] = False
    apply(state, config_map("blue"))
    apply(state, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "app-secret", "namespace": "default"},
                  "data": {"pw": base64.b64encode(b"s3cret").decode()}})
    apply(state, pod)
    run(state, T0 + 5)
    return state


def patch(state, **data: str) -> None:
    """`kubectl patch configmap app-config …` (and a new resourceVersion, as the API server gives it)."""
    cm = state.get("ConfigMap", "default", "app-config")
    cm["data"].update(data)
    state.update(cm)
    state.commit()


def printenv(state, *names: str) -> tuple[int, str, str]:
    return logs.exec_in_container(state, state.get("Pod", "default", "app"), None, ["printenv", *names])


def test_a_running_container_keeps_the_environment_it_was_started_with():
    state = cluster(app_pod())
    assert printenv(state, "COLOR", "CFG_COLOR", "PASSWORD", "TIER") == (0, "blue\nblue\ns3cret\nfront\n", "")
    patch(state, COLOR="green")
    secret = state.get("Secret", "default", "app-secret")
    secret["data"]["pw"] = base64.b64encode(b"changed").decode()
    state.update(secret)
    pod = state.get("Pod", "default", "app")
    pod["metadata"]["labels"]["tier"] = "back"                     # kubectl label --overwrite
    state.update(pod)
    state.commit()
    run(state, state.now + 120)                                    # past the kubelet's volume sync too
    assert printenv(state, "COLOR", "CFG_COLOR", "PASSWORD", "TIER") == (0, "blue\nblue\ns3cret\nfront\n", "")
    # The same in a shell (`kubectl exec -it app -- sh`, then `echo $COLOR`), which the program's env seeds.
    assert logs.exec_in_container(state, pod, None, ["sh", "-c", 'echo "$COLOR $CFG_MODE"']) == \
        (0, "blue dark\n", "")
    # Deleted altogether: the running container still has what it was given.
    state.delete(state.get("ConfigMap", "default", "app-config"))
    state.commit()
    assert printenv(state, "COLOR") == (0, "blue\n", "")
    assert state.get("Pod", "default", "app")["status"]["containerStatuses"][0]["restartCount"] == 0


def test_the_next_container_of_the_pod_gets_the_new_values():
    # The program prints its COLOR at its start, then crashes after a minute: restarted, with the new value.
    state = cluster(app_pod('echo "color=$COLOR"; sleep 60; exit 1'))
    patch(state, COLOR="green")
    run(state, state.now + 30)
    assert [line.text for line in logs.container_logs(state, state.get("Pod", "default", "app"), None).lines] == \
        ["color=blue"]
    run(state, T0 + 80)                                            # exited at 60 s, restarted at once
    pod = state.get("Pod", "default", "app")
    assert pod["status"]["containerStatuses"][0]["restartCount"] == 1
    assert [line.text for line in logs.container_logs(state, pod, None).lines] == ["color=green"]
    assert [line.text for line in logs.container_logs(state, pod, None, previous=True).lines] == ["color=blue"]
    assert printenv(state, "COLOR", "CFG_COLOR") == (0, "green\ngreen\n", "")
