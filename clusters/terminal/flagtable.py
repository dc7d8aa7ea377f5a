"""kubectl's own flag definitions, as the terminal's policy reads them: a generated table.

`python -m clusters.terminal.flagtable [KUBECTL]` runs the bundled kubectl's `--help` for every
subcommand the terminal allows (policy.ALLOWED) and, recursively, their own subcommands (`set env`,
`create secret generic`, `rollout undo`, `config view`, …), plus `kubectl options` for the global
flags, and writes kubectl_flags.json beside this file:

    {"kubectl": "v1.37.1",
     "global": FLAGS,
     "commands": {"create secret generic": FLAGS, "rollout undo": FLAGS, …}}

where FLAGS is {"switches": [boolean flags], "values": [flags that take a value],
"shorthands": {"f": "filename", …}, "paths": {flag: its help text}}. "paths" are the flags whose
help text (or name) speaks of a file, path, directory or kubeconfig: the ones that make kubectl read or
write a local path. policy.py decides for each of them what it may name (an editor file) or refuses it;
a path flag it has no rule for is refused. tests/web/test_terminal_flagtable.py regenerates the table
from the real kubectl and compares, so a kubectl upgrade cannot add a file flag unnoticed.

This module runs kubectl; policy.py only reads the JSON (it stays pure).
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

TABLE = Path(__file__).with_name("kubectl_flags.json")

# A flag line of kubectl's help: "    -f, --filename=[]:" or "    --dry-run='none':"; its help follows,
# indented with a tab, up to a blank line.
FLAG_LINE = re.compile(r"^    (?:-(?P<short>[A-Za-z0-9]), )?--(?P<name>[A-Za-z0-9][\w-]*)=(?P<default>.*):$")
COMMAND_LINE = re.compile(r"^  (?P<name>[a-z][\w-]*)\s{2,}\S")
# What makes a flag a path flag: its help text or its name mentions a file, a path, a directory or a kubeconfig.
PATH_WORDS = re.compile(r"\b(files?|filenames?|paths?|director(?:y|ies)|dirs?|kubeconfig|kustomization)\b",
                        re.IGNORECASE)
PATH_NAMES = re.compile(r"(file|dir|path|kubeconfig|kustomize)", re.IGNORECASE)


def _help(kubectl: str, words: list[str], home: str) -> str:
    result = subprocess.run([kubectl, *words], capture_output=True, text=True, timeout=60,
                            env={"HOME": home, "KUBECONFIG": str(Path(home) / "none"), "PATH": "/usr/bin:/bin",
                                 "LANG": "C.UTF-8"})
    return result.stdout


def parse_help(text: str) -> tuple[dict, list[str]]:
    """(FLAGS, the names of the subcommands it lists) from one `kubectl … --help` output."""
    switches, values, shorthands, paths = set(), set(), {}, {}
    children: list[str] = []
    section = None
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if line and not line.startswith(" "):
            section = line.rstrip(":") if line.endswith(":") else None
            continue
        if section and section.endswith("Commands") and (match := COMMAND_LINE.match(line)):
            children.append(match["name"])
        elif (section in ("Options", "The following options can be passed to any command")
              and (match := FLAG_LINE.match(line))):
            help_lines = []
            while i < len(lines) and lines[i].startswith("\t"):
                help_lines.append(lines[i].strip())
                i += 1
            name, description = match["name"], " ".join(help_lines)
            (switches if match["default"] in ("true", "false") else values).add(name)
            if match["short"]:
                shorthands[match["short"]] = name
            if PATH_WORDS.search(description) or PATH_NAMES.search(name):
                paths[name] = description
    return {"switches": sorted(switches), "values": sorted(values), "shorthands": dict(sorted(shorthands.items())),
            "paths": dict(sorted(paths.items()))}, children


def generate(kubectl: str) -> dict:
    """The table, from this kubectl's help."""
    from clusters.terminal.policy import ALLOWED

    commands: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as home, ThreadPoolExecutor(4) as pool:
        version = subprocess.run([kubectl, "version", "--client", "-o", "json"], capture_output=True, text=True,
                                 timeout=60, env={"HOME": home}).stdout
        global_flags, _ = parse_help(_help(kubectl, ["options"], home))
        level = [(name,) for name in sorted(ALLOWED)]
        while level:
            texts = pool.map(lambda path: _help(kubectl, [*path, "--help"], home), level)
            next_level = []
            for path, text in zip(level, texts, strict=True):
                flags, children = parse_help(text)
                commands[" ".join(path)] = flags
                next_level += [(*path, child) for child in children if child != "help"]
            level = next_level
    return {"kubectl": json.loads(version)["clientVersion"]["gitVersion"], "global": global_flags,
            "commands": dict(sorted(commands.items()))}


def dumps(table: dict) -> str:
    return json.dumps(table, indent=1, sort_keys=False) + "\n"


def main(argv: list[str]) -> None:
    kubectl = argv[0] if argv else str(Path(sys.executable).parent / "kubectl")
    TABLE.write_text(dumps(generate(kubectl)))
    print(f"wrote {TABLE}")


if __name__ == "__main__":
    main(sys.argv[1:])
