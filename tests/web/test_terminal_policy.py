"""The browser terminal's policy (clusters/terminal/policy.py's parse_command): what runs, what is refused and why.

Pure: no database, no process. The live behaviour is in tests/e2e/test_terminal.py.
"""
from __future__ import annotations

import pytest

from clusters.terminal.details import UnknownKind, resource_of_kind
from clusters.terminal.policy import Command, Refusal, parse_command
from clusters.terminal.sandbox import Busy, internal_api_url, process_slot

FILES = {"web.yaml", "pod.yaml", "app.env"}


def run(line: str, *, stdin: bool = False) -> Command:
    decision = parse_command(line, files=FILES, stdin_given=stdin)
    assert isinstance(decision, Command), decision
    return decision


def refused(line: str, *, stdin: bool = False) -> str:
    decision = parse_command(line, files=FILES, stdin_given=stdin)
    assert isinstance(decision, Refusal), f"{line!r} was accepted: {decision}"
    assert decision.message and "\n" not in decision.message
    return decision.message


@pytest.mark.parametrize("line, args", [
    ("kubectl get pods", ("get", "pods")),
    ("k get po -A -o wide", ("get", "po", "-A", "-o", "wide")),
    ("kubectl -n kube-system get pods", ("-n", "kube-system", "get", "pods")),
    ("kubectl get pods -o jsonpath='{.items[*].metadata.name}'",
     ("get", "pods", "-o", "jsonpath={.items[*].metadata.name}")),
    ('kubectl create deployment web --image=nginx:1.27 --replicas=2',
     ("create", "deployment", "web", "--image=nginx:1.27", "--replicas=2")),
    ("kubectl exec web-1 -- sh -c 'echo hi'", ("exec", "web-1", "--", "sh", "-c", "echo hi")),
    ("kubectl run tmp --image=busybox --restart=Never -- wget -qO- http://web",
     ("run", "tmp", "--image=busybox", "--restart=Never", "--", "wget", "-qO-", "http://web")),
    ("kubectl explain deployment.spec --recursive", ("explain", "deployment.spec", "--recursive")),
    ("kubectl config set-context --current --namespace=dev", ("config", "set-context", "--current", "--namespace=dev")),
    ("kubectl get --raw /api/v1/namespaces", ("get", "--raw", "/api/v1/namespaces")),
    ("kubectl apply --server-side --dry-run=server -f web.yaml",
     ("apply", "--server-side", "--dry-run=server", "-f", "web.yaml")),
    ("kubectl", ()),
    ("kubectl get pods --help", ("get", "pods", "--help")),
])
def test_accepted_command_lines(line, args):
    assert run(line).args == args


@pytest.mark.parametrize("line", [
    "kubectl get pods", "kubectl describe node worker-1", "kubectl delete pod web --now", "kubectl logs web -c app",
    "kubectl logs --previous --tail=20 web", "kubectl rollout undo deploy/web", "kubectl rollout history deploy/web",
    "kubectl scale deploy web --replicas=3", "kubectl autoscale deploy web --min=1 --max=5 --cpu-percent=50",
    "kubectl expose deploy web --port=80", "kubectl label pod web tier=front", "kubectl annotate pod web a=b",
    "kubectl set image deploy/web nginx=nginx:1.28", "kubectl set env deploy/web A=1",
    "kubectl set resources deploy/web --limits=cpu=200m", "kubectl cordon worker-1", "kubectl uncordon worker-1",
    "kubectl drain worker-1 --ignore-daemonsets", "kubectl taint nodes worker-1 key=v:NoSchedule",
    "kubectl top pods", "kubectl wait --for=condition=Ready pod/web", "kubectl events", "kubectl api-resources",
    "kubectl api-versions", "kubectl cluster-info", "kubectl version", "kubectl auth can-i create pods",
    "kubectl auth whoami", "kubectl help", "kubectl options", "kubectl config view", "kubectl config current-context",
    "kubectl config get-contexts", "kubectl patch deploy web -p '{\"spec\":{\"replicas\":2}}'",
    "kubectl replace -f web.yaml", "kubectl diff -f web.yaml", "kubectl create -f pod.yaml",
    "kubectl attach web", "kubectl rollout restart deploy/web",
])
def test_everyday_kubectl_is_allowed(line):
    run(line)


@pytest.mark.parametrize("line, streaming", [
    ("kubectl get pods", False), ("kubectl get pods -w", True), ("kubectl get pods --watch", True),
    ("kubectl get pods --watch-only", True), ("kubectl get pods -w=false", False),
    ("kubectl get pods --watch=false", False), ("kubectl events -w", True), ("kubectl logs web", False),
    ("kubectl logs -f web", True), ("kubectl logs --follow web", True), ("kubectl rollout status deploy/web", True),
    ("kubectl rollout status deploy/web --watch=false", False), ("kubectl rollout history deploy/web", False),
    ("kubectl wait --for=delete pod/web", True), ("kubectl get --raw /api/v1/pods?watch=1", True),
    ("kubectl describe pods", False), ("kubectl get pods -w --help", False),
])
def test_watches_follows_and_waits_get_the_streaming_limit(line, streaming):
    assert run(line).streaming is streaming


def test_logs_f_is_follow_not_a_file():
    command = run("kubectl logs -f web")
    assert command.files == () and command.streaming


@pytest.mark.parametrize("line, files", [
    ("kubectl apply -f web.yaml", ("web.yaml",)),
    ("kubectl apply -f ./web.yaml", ("web.yaml",)),
    ("kubectl apply --filename=web.yaml", ("web.yaml",)),
    ("kubectl apply -fweb.yaml", ("web.yaml",)),
    ("kubectl apply -f=web.yaml", ("web.yaml",)),
    ("kubectl apply -f web.yaml -f pod.yaml", ("web.yaml", "pod.yaml")),
    ("kubectl delete -f web.yaml,pod.yaml", ("web.yaml", "pod.yaml")),
    ("kubectl create configmap cfg --from-file=web.yaml", ("web.yaml",)),
    ("kubectl create configmap cfg --from-file=site=web.yaml", ("web.yaml",)),
    ("kubectl create configmap cfg --from-env-file=app.env", ("app.env",)),
])
def test_f_names_the_editors_files(line, files):
    command = run(line)
    assert command.files == files and not command.reads_stdin


def test_f_dash_reads_the_runs_stdin():
    command = run("kubectl apply -f -")
    assert command.reads_stdin and command.files == ()
    assert not run("kubectl get pods").reads_stdin


@pytest.mark.parametrize("line, expected", [
    ("kubectl apply -f nope.yaml", "-f nope.yaml: no such file in the editor (app.env, pod.yaml, web.yaml)"),
    ("kubectl apply -f /etc/passwd", "no such file in the editor"),
    ("kubectl apply -f ../web.yaml", "no such file in the editor"),
    ("kubectl apply -f .kube/config", "no such file in the editor"),
    ("kubectl apply -f web.yaml,/etc/hosts", "-f /etc/hosts: no such file"),
    ("kubectl apply -f https://k8s.io/examples/pods/simple-pod.yaml",
     "there is no internet here — paste the manifest into the editor and use -f FILE"),
    ("kubectl create secret generic s --from-file=key=/root/.ssh/id_rsa",
     "--from-file /root/.ssh/id_rsa: no such file"),
    ("kubectl apply -f", "-f: this flag needs a value"),
    ("kubectl create secret tls t --cert=/etc/ssl/x.pem --key=web.yaml", "--cert /etc/ssl/x.pem: no such file"),
    ("kubectl --log_file=/tmp/x get pods", "--log-file: this terminal has no files"),
])
def test_f_refusals(line, expected):
    assert expected in refused(line)


def test_f_without_any_editor_file_says_so():
    decision = parse_command("kubectl apply -f web.yaml", files=set())
    assert isinstance(decision, Refusal) and "the editor has no files yet" in decision.message


@pytest.mark.parametrize("line, expected", [
    ("bash", "bash: not available — this terminal runs kubectl only (k is short for kubectl)"),
    ("ls -la", "ls: not available"),
    ("sudo kubectl get pods", "sudo: not available"),
    ("/usr/bin/kubectl get pods", "not available"),
    ("kubectl get pods | grep web", "'|': pipes, redirections and chains aren't supported"),
    ("kubectl get pods > out.txt", "'>': pipes"),
    ("kubectl get pods ; rm -rf /", "';': pipes"),
    ("kubectl get pods && kubectl get svc", "'&&': pipes"),
    ("kubectl get pods 'web", "cannot read the command: no closing quotation"),
    ('kubectl get pods "web', "cannot read the command: no closing quotation"),
    ("kubectl get pods \\", "cannot read the command: no escaped character"),
    ("   ", "nothing to run"),
])
def test_not_kubectl_and_unreadable_lines(line, expected):
    assert expected in refused(line)


@pytest.mark.parametrize("line, expected", [
    ("kubectl edit deploy web", "kubectl edit needs a text editor: use the page's editor"),
    ("kubectl apply edit-last-applied deploy/web", "use the page's editor"),
    ("kubectl proxy", "kubectl proxy opens a port on the server"),
    ("kubectl port-forward pod/web 8080:80", "port-forward opens a port"),
    ("kubectl cp web:/etc/hosts hosts", "kubectl cp copies files"),
    ("kubectl plugin list", "plugins aren't available"),
    ("kubectl krew install x", "plugins (krew) aren't available"),
    ("kubectl kustomize .", "kustomize isn't available"),
    ("kubectl debug web -it --image=busybox", "kubectl debug adds ephemeral containers"),
    ("kubectl cluster-info dump", "cluster-info dump writes files"),
    ("kubectl config use-context other", "kubectl config use-context: this terminal's kubeconfig is fixed"),
    ("kubectl config set-cluster x --server=https://evil", "this terminal only talks to your cluster"),
    ("kubectl config set-credentials x --token=y", "this terminal only talks to your cluster"),
    ("kubectl config set-context other --namespace=dev", "only --current --namespace=NS here"),
    ("kubectl config view --raw", "credentials are temporary"),
    ("kubectl alpha", "kubectl alpha: not available in this terminal"),
    ("kubectl frobnicate", "kubectl frobnicate: not available in this terminal (try kubectl help"),
    ("kubectl -f x get pods", "kubectl x: not available in this terminal"),
])
def test_refused_subcommands_explain(line, expected):
    assert expected in refused(line)


@pytest.mark.parametrize("line", [
    "kubectl exec -it web -- sh", "kubectl exec -ti web -- sh", "kubectl exec -t web -- sh",
    "kubectl exec --tty web -- sh", "kubectl exec -i web -- cat", "kubectl exec --stdin web -- cat",
    "kubectl exec --stdin=true --tty=true web -- bash", "kubectl exec -it web -c app -- sh",
    "kubectl run tmp --rm -it --image=busybox -- sh", "kubectl attach -i web", "kubectl attach -it web",
    "kubectl run -i --tty load-generator --rm --image=busybox:1.28 --restart=Never -- "
    "/bin/sh -c \"while sleep 0.01; do wget -q -O- http://php-apache; done\"",
    "k run box -it --rm --image=busybox:1.28 --restart=Never -- sh",
])
def test_interactive_sessions_run_on_a_terminal(line):
    command = run(line)
    assert command.tty and command.streaming and not command.reads_stdin


@pytest.mark.parametrize("line", [
    "kubectl exec web -- ls", "kubectl exec --tty=false web -- ls", "kubectl exec -i=false web -- ls",
    "kubectl attach web", "kubectl run web --image=nginx", "kubectl get pods -i",
    "kubectl exec -it --help", "kubectl run -it --help",
])
def test_other_commands_do_not_get_a_terminal(line):
    assert not run(line).tty


def test_exec_stdin_is_piped_when_the_run_brings_text():
    command = run("kubectl exec -i web -- cat", stdin=True)
    assert command.reads_stdin and not command.tty
    command = run("kubectl exec -it web -- sh", stdin=True)   # a terminal takes the keyboard, not the text
    assert command.tty and not command.reads_stdin
    assert not run("kubectl exec --tty=false web -- ls").reads_stdin


def test_a_terminal_cannot_also_read_the_runs_text():
    assert "takes its input from the keyboard" in refused("kubectl exec -it -f - -- sh")


def test_kubectl_debug_points_at_the_interactive_alternatives():
    message = refused("kubectl debug web -it --image=busybox")
    assert "ephemeral containers" in message and "kubectl exec -it POD -- sh" in message


@pytest.mark.parametrize("line", [
    "kubectl --kubeconfig=/etc/kubernetes/admin.conf get pods",
    "kubectl --kubeconfig /tmp/x get pods",
    "kubectl -s https://evil get pods", "kubectl --server=https://evil get pods", "kubectl get pods -shttps://evil",
    "kubectl --token=abc get pods", "kubectl --context other get pods", "kubectl --cluster other get pods",
    "kubectl --user admin get pods", "kubectl --as=system:admin get pods", "kubectl --as-group=system:masters get pods",
    "kubectl --as-uid=1 get pods", "kubectl --certificate-authority=/etc/ca.crt get pods",
    "kubectl --client-certificate=/x get pods", "kubectl --client-key=/x get pods",
    "kubectl --insecure-skip-tls-verify get pods", "kubectl --tls-server-name=x get pods",
    "kubectl --username=a get pods", "kubectl --password=b get pods",
    # kubectl reads _ as - in flag names
    "kubectl --client_key=/x get pods", "kubectl --as_group=system:masters get pods",
    "kubectl get pods --insecure_skip_tls_verify", "kubectl -serverhttps://evil get pods",
])
def test_flags_that_change_the_target_are_refused(line):
    assert "this terminal only talks to your cluster, with its own credentials" in refused(line)


@pytest.mark.parametrize("line, expected", [
    ("kubectl --cache-dir=/tmp/c get pods", "--cache-dir: this terminal has no files but the editor's"),
    ("kubectl --profile=cpu get pods", "--profile: this terminal has no files"),
    ("kubectl --profile-output=/tmp/p get pods", "--profile-output: this terminal has no files"),
    ("kubectl --log-file=/tmp/l get pods", "--log-file: this terminal has no files"),
    ("kubectl --kuberc=/tmp/rc get pods", "--kuberc: this terminal has no files"),
    ("kubectl apply -k overlays/dev", "kustomize isn't available"),
    ("kubectl apply --kustomize=dir", "kustomize isn't available"),
    ("kubectl apply -R -f web.yaml", "nothing to recurse into"),
    ("kubectl get -f web.yaml --recursive", "nothing to recurse into"),
    ("kubectl get pods -o go-template-file=/etc/passwd", "a template file must be one of the editor's files"),
    ("kubectl get pods -o=jsonpath-file=/etc/passwd", "a template file must be one of the editor's files"),
    ("kubectl get pods --output template-file=x", "a template file must be one of the editor's files"),
    ("kubectl get pods -o templatefile --template=/etc/shadow", "the template must be one of the editor's files"),
    ("kubectl get pods --template /etc/shadow -o go-template-file", "the template must be one of the editor's"),
    ("kubectl apply --prune -l app=web -f web.yaml", "--prune isn't supported"),
    ("kubectl get --raw https://evil/x", "give a path on your cluster's API"),
    ("kubectl get --raw=//evil/x", "give a path"),
])
def test_flags_that_read_local_files_are_refused(line, expected):
    assert expected in refused(line)


def test_output_templates_given_inline_are_fine():
    run("kubectl get pods -o go-template --template='{{range .items}}{{.metadata.name}}{{end}}'")
    run("kubectl get pods -o custom-columns=NAME:.metadata.name")


def test_the_per_user_process_cap():
    with process_slot(7, cap=2):
        with process_slot(7, cap=2):
            with pytest.raises(Busy, match="you already have 2 kubectl commands running"):
                with process_slot(7, cap=2):
                    pass
        with process_slot(8, cap=2, count=2):   # another user has slots of their own
            pass
    with process_slot(7, cap=2, count=2):       # released when the commands end
        pass


@pytest.mark.parametrize("kind, resource, namespaced", [
    ("Pod", "pods", True), ("Deployment", "deployments.apps", True), ("Service", "services", True),
    ("Node", "nodes", False), ("PersistentVolumeClaim", "persistentvolumeclaims", True),
    ("HorizontalPodAutoscaler", "horizontalpodautoscalers.autoscaling", True),
])
def test_kinds_map_to_kubectl_resources_from_the_registry(kind, resource, namespaced):
    assert resource_of_kind(kind) == (resource, namespaced)


def test_an_unknown_kind():
    with pytest.raises(UnknownKind):
        resource_of_kind("Gizmo")


@pytest.mark.parametrize("bind, url", [
    (None, "https://127.0.0.1:6443"), ("0.0.0.0", "https://127.0.0.1:7443"), ("::", "https://[::1]:7443"),
    ("10.1.2.3", "https://10.1.2.3:7443"),
])
def test_the_terminals_kubectl_reaches_the_api_where_serve_listens(settings, bind, url):
    conf = {**settings.PLAYGROUND, "API_PORT": 6443, "TERMINAL_API_URL": ""}
    if bind:
        conf.update(SERVED_API_BIND=bind, SERVED_API_PORT=7443)
    settings.PLAYGROUND = conf
    assert internal_api_url() == url


def test_the_policy_knows_the_editors_file_name_rule():
    # policy.py keeps a copy (it imports nothing from Django): the two must never drift apart.
    from clusters import actions
    from clusters.terminal import policy

    assert policy.FILE_NAME.pattern == actions.FILE_NAME.pattern
