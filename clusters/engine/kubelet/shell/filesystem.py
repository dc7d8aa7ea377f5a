"""The container's file system as a script sees it: the image below, the container's own files above.

A container's root file system is its image's (read-only, shared by every container of that image) with
a writable layer on top, and volumes mounted over parts of it. Copying the image's few hundred entries
into every replay would cost more than the replay itself, so the shell keeps them in layers:

* Tree           the image's layer: files, directories, directory symlinks (Debian's /bin → /usr/bin)
                 and the WORKDIR; built once per image (rootfs.py) and shared, never changed.
* ContainerFiles what the kubelet puts on top (a dict, path → content; a key ending in "/" is a
                 directory): the files it writes (/etc/hosts, /etc/resolv.conf, /etc/hostname), the
                 volumes' contents, the container's own earlier writes; `hidden` names image paths the
                 container removed or a mount covers; `mounts` gives each mount's rules (read-only,
                 capacity); `pending` holds changes made from outside the script after it started
                 (`kubectl exec`, a ConfigMap update), which the interpreter applies at their instant.
* _Files/_Dirs   the interpreter's view while it runs: the Tree and its own writes, without copying
                 the Tree.

Paths are absolute and normalised. Contents are text; sizes are counted in UTF-8 bytes.
"""
from __future__ import annotations

import bisect
import posixpath
from collections.abc import Iterable, Iterator, Mapping, MutableMapping, MutableSet
from dataclasses import dataclass, field

READ_ONLY = "Read-only file system"
NO_SPACE = "No space left on device"


def size_of(content: str | None) -> int:
    if not content:
        return 0
    return len(content) if content.isascii() else len(content.encode())


@dataclass(frozen=True)
class Tree:
    """An image's file system layer (shared; never mutated)."""
    files: Mapping[str, str]
    dirs: frozenset[str]
    aliases: Mapping[str, str] = field(default_factory=dict)   # directory symlinks: "/bin" -> "/usr/bin"
    workdir: str = "/"
    paths: tuple[str, ...] = ()                                # files and dirs, sorted (for `under`)

    @classmethod
    def build(cls, files: Mapping[str, str], dirs: Iterable[str] = (), aliases: Mapping[str, str] | None = None,
              workdir: str = "/") -> Tree:
        all_dirs = {"/"}
        for path in list(dirs) + [posixpath.dirname(p) for p in files]:
            while path not in all_dirs:
                all_dirs.add(path)
                path = posixpath.dirname(path)
        for alias in aliases or {}:
            all_dirs.add(alias)
        return cls(dict(files), frozenset(all_dirs), dict(aliases or {}), workdir,
                   tuple(sorted(set(files) | all_dirs)))

    def under(self, prefix: str) -> list[str]:
        """Paths (files and directories) strictly below the directory `prefix`."""
        start = prefix.rstrip("/") + "/"
        i = bisect.bisect_left(self.paths, start)
        out = []
        while i < len(self.paths) and self.paths[i].startswith(start):
            out.append(self.paths[i])
            i += 1
        return out


EMPTY_TREE = Tree.build({})


@dataclass(frozen=True)
class Mount:
    """A mount point's rules: writes below `path` are refused (read-only) or counted against `capacity`."""
    path: str
    read_only: bool = False
    capacity: int | None = None     # bytes; None: unbounded
    used: int = 0                   # bytes the volume (or the container's layer, for "/") already holds


class ContainerFiles(dict):
    """What a container has above its image's Tree (see the module docstring)."""

    tree: Tree
    hidden: set[str]
    mounts: tuple[Mount, ...]
    pending: tuple[tuple[float, str, str, str | None], ...]

    def __init__(self, files: Mapping[str, str] | None = None, *, tree: Tree = EMPTY_TREE,
                 hidden: Iterable[str] = (), mounts: Iterable[Mount] = (),
                 pending: Iterable[tuple[float, str, str, str | None]] = ()) -> None:
        super().__init__(files or {})
        self.tree = tree
        self.hidden = set(hidden)
        self.mounts = tuple(sorted(mounts, key=lambda m: len(m.path), reverse=True))
        self.pending = tuple(sorted(pending, key=lambda e: e[0]))

    @property
    def workdir(self) -> str:
        return self.tree.workdir

    def copy(self) -> ContainerFiles:
        return ContainerFiles(self, tree=self.tree, hidden=self.hidden, mounts=self.mounts, pending=self.pending)

    # ---- reading the whole view
    def read(self, path: str) -> str | None:
        """The content of the file at `path` (directory symlinks followed), or None."""
        path = resolve(self.tree, path)
        if path in self:
            return None if path.endswith("/") else self[path]
        if path in self.tree.files and path not in self.hidden:
            return self.tree.files[path]
        return None

    def is_dir(self, path: str) -> bool:
        path = resolve(self.tree, path)
        return (path.rstrip("/") + "/") in self or (path in self.tree.dirs and path not in self.hidden) or \
            any(key.startswith(path.rstrip("/") + "/") for key in self)

    def listdir(self, path: str) -> list[str]:
        """The names in the directory `path`, sorted (a subdirectory's with a trailing "/")."""
        prefix = resolve(self.tree, path).rstrip("/") + "/"
        names: set[str] = set()
        for key in list(self) + [p for p in self.tree.under(prefix) if p not in self.hidden]:
            if key.startswith(prefix) and key != prefix:
                rest = key[len(prefix):]
                name, slash, _more = rest.partition("/")
                is_dir = bool(slash) or key in self.tree.dirs
                names.add(name + ("/" if is_dir else ""))
        return sorted(names)

    # ---- changing it (files_at and the kubelet apply journal entries with these)
    def apply(self, kind: str, path: str, content: str | None) -> None:
        if kind == "write":
            self[path] = content or ""
        elif kind == "mkdir":
            self[path.rstrip("/") + "/"] = ""
        elif kind == "remove":
            self.remove(path)

    def remove(self, path: str) -> None:
        prefix = path.rstrip("/") + "/"
        self.pop(path, None)
        for key in [k for k in self if k.startswith(prefix) or k == prefix]:
            del self[key]
        if path in self.tree.files or path in self.tree.dirs:
            self.hidden.add(path)
            self.hidden.update(self.tree.under(path))

    def at(self, when: float) -> ContainerFiles:
        """This view with the pending changes up to `when` applied."""
        if not self.pending or self.pending[0][0] > when:
            return self
        files = self.copy()
        files.pending = tuple(e for e in self.pending if e[0] > when)
        for t, kind, path, content in self.pending:
            if t <= when:
                files.apply(kind, path, content)
        return files


def resolve(tree: Tree, path: str) -> str:
    """`path` with the Tree's directory symlinks followed (one level, as images have them)."""
    for alias, target in tree.aliases.items():
        if path == alias or path.startswith(alias + "/"):
            return target + path[len(alias):]
    return path


class _Files(MutableMapping[str, str]):
    """The interpreter's files: the Tree's (minus hidden ones) under its own (no copy of the Tree)."""
    __slots__ = ("lower", "upper", "hidden")

    def __init__(self, lower: Mapping[str, str], hidden: set[str]) -> None:
        self.lower = lower
        self.upper: dict[str, str] = {}
        self.hidden = hidden

    def __getitem__(self, key: str) -> str:
        if key in self.upper:
            return self.upper[key]
        if key in self.lower and key not in self.hidden:
            return self.lower[key]
        raise KeyError(key)

    def get(self, key: str, default=None):
        if key in self.upper:
            return self.upper[key]
        if key in self.lower and key not in self.hidden:
            return self.lower[key]
        return default

    def __contains__(self, key: object) -> bool:
        return key in self.upper or (key in self.lower and key not in self.hidden)

    def __setitem__(self, key: str, value: str) -> None:
        self.upper[key] = value

    def __delitem__(self, key: str) -> None:
        found = self.upper.pop(key, None) is not None
        if key in self.lower and key not in self.hidden:
            self.hidden.add(key)
            found = True
        if not found:
            raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        yield from self.upper
        for key in self.lower:
            if key not in self.upper and key not in self.hidden:
                yield key

    def __len__(self) -> int:
        return sum(1 for _ in self)


class _Dirs(MutableSet[str]):
    """The interpreter's directories: the Tree's (minus hidden ones) and those made since."""
    __slots__ = ("lower", "added", "hidden")

    def __init__(self, lower: frozenset[str] | set[str], hidden: set[str]) -> None:
        self.lower = lower
        self.added: set[str] = set()
        self.hidden = hidden

    @classmethod
    def _from_iterable(cls, items: Iterable[str]) -> set[str]:
        return set(items)

    def __contains__(self, key: object) -> bool:
        return key in self.added or (key in self.lower and key not in self.hidden)

    def add(self, key: str) -> None:
        self.added.add(key)

    def discard(self, key: str) -> None:
        self.added.discard(key)
        if key in self.lower:
            self.hidden.add(key)

    def __iter__(self) -> Iterator[str]:
        yield from self.added
        for key in self.lower:
            if key not in self.added and key not in self.hidden:
                yield key

    def __len__(self) -> int:
        return sum(1 for _ in self)
