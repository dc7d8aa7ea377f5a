"""What the browser terminal may run: pure argv rules, no I/O.

`parse_command(line, files=…, stdin_given=…)` splits a command line with shlex and answers either a
`Command` (kubectl's argv, whether it streams, whether it reads stdin, whether it runs on a terminal)
or a `Refusal` (one clear line for the learner). Subcommands are allowlisted; flags that would point
kubectl at another server, identity or local file are refused; `-f NAME` must name one of the editor's
files (or `-` for the text sent with the command). `exec`, `attach` and `run` with -t (or -i without
text sent for stdin) are interactive: kubectl runs on a terminal of its own and the widget sends it
the keys.
"""
from __future__ import annotations

import re
import shlex
from collections.abc import Collection
from dataclasses import dataclass

KUBECTL_NAMES = ("kubectl", "k")
WHAT_THE_TERMINAL_RUNS = "this terminal runs kubectl only (k is short for kubectl), e.g. kubectl get pods"

# The editor's file names: the rule of clusters.actions.FILE_NAME (this module stays free of Django, so it
# keeps its own copy; tests/web/test_terminal_policy.py checks the two agree): no slashes, no leading dot.
FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")

ALLOWED = frozenset({
    "get", "describe", "apply", "create", "delete", "replace", "patch", "diff", "explain", "logs", "exec",
    "run", "attach", "expose", "scale", "autoscale", "rollout", "label", "annotate", "set", "cordon",
    "uncordon", "drain", "taint", "top", "wait", "events", "api-resources", "api-versions", "cluster-info",
    "version", "auth", "help", "options", "config", "completion",
})

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
    "debug": "kubectl debug adds ephemeral containers, which the playground doesn't simulate; open a shell in "
             "the pod with kubectl exec -it POD -- sh, or start a pod to debug from with kubectl run -it --rm "
             "debug --image=busybox:1.28 --restart=Never -- sh",
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
    "validate", "cascade", "dry-run", "skip-headers",
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
    tty: bool = False              # exec/attach/run -i/-t: kubectl runs on a terminal (a PTY) and gets the keys
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

    # Interactive sessions: -t, or -i without text brought for stdin, run kubectl on a terminal of its own
    # (the widget sends the keys); -i with the run's text pipes that text in.
    reads_stdin = tty = False
    if subcommand in ("exec", "attach", "run") and not helping:
        wants_tty = any(_is_true(f) for f in _flag(flags, "tty", "t"))
        wants_stdin = any(_is_true(f) for f in _flag(flags, "stdin", "i"))
        if wants_tty or (wants_stdin and not stdin_given):
            tty = True
        elif wants_stdin:
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

    if tty and reads_stdin:   # `-f -` on a terminal: the text would never arrive
        return Refusal("-f -: an interactive command (-i/-t) takes its input from the keyboard; "
                       "put the text in an editor file and use -f FILE")
    return Command(tuple(words), streaming=(_is_streaming(subcommand, second, flags) or tty) and not helping,
                   reads_stdin=reads_stdin, tty=tty, files=tuple(dict.fromkeys(named)))


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
