"""What the apiserver pipeline needs from storage, and an in-memory store.

The pipeline (pipeline.py) is written against `Store` so that it stays free of
Django: `clusters.store.database.DbStore` keeps objects in the database inside one
transaction per request; `MemoryStore` keeps them in dicts (tests, bootstrap); `DryRunStore` lays what a
series of dry-run requests would write over another store (the editor's validation).
A store assigns resourceVersions: every write takes the cluster's next one.
"""
from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Protocol

from clusters.engine.state import object_text

Key = tuple[str, str, str]  # (kind, namespace, name); namespace "" for cluster-scoped kinds


def key_of(obj: dict) -> Key:
    meta = obj["metadata"]
    return obj["kind"], meta.get("namespace", ""), meta["name"]


class Store(Protocol):
    """Objects of one cluster, in their storage version."""

    def get(self, kind: str, namespace: str, name: str) -> dict | None: ...

    def list(self, kind: str, namespace: str | None = None) -> list[dict]:
        """Objects of a kind, in one namespace or (None) in all, ordered by namespace and name."""
        ...

    def list_json(self, kind: str, namespace: str | None = None) -> list[str]:
        """Like list(), as JSON texts (a plain list answer then needs no parsing)."""
        ...

    def count(self, kind: str | None = None) -> int:
        """All objects of the cluster, or of one kind (for the per-cluster quotas): without reading them."""
        ...

    def write(self, event: str, obj: dict) -> dict:
        """Store `obj` (ADDED/MODIFIED) or forget it (DELETED) at the next resourceVersion.

        Sets metadata.resourceVersion on `obj` and returns it; the change is logged for watches. A MODIFIED
        `obj` with another uid than the stored object's replaces it: logged as that one DELETED, then this
        one ADDED, each at a resourceVersion of its own (as etcd logs a delete and a create).
        """
        ...

    @property
    def resource_version(self) -> int: ...


class MemoryStore:
    """A Store in plain dicts: fast, for tests and for building a new cluster's objects."""

    def __init__(self, objects: Iterable[dict] = (), resource_version: int = 1) -> None:
        self._objects: dict[Key, dict] = {}
        self._rv = resource_version
        self.changes: list[tuple[int, str, dict]] = []
        for obj in objects:
            self._objects[key_of(obj)] = obj

    def get(self, kind: str, namespace: str, name: str) -> dict | None:
        return self._objects.get((kind, namespace, name))

    def list(self, kind: str, namespace: str | None = None) -> list[dict]:
        found = [obj for (k, ns, _), obj in self._objects.items()
                 if k == kind and (namespace is None or ns == namespace)]
        return sorted(found, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))

    def list_json(self, kind: str, namespace: str | None = None) -> list[str]:
        return [object_text(obj) for obj in self.list(kind, namespace)]

    def count(self, kind: str | None = None) -> int:
        return len(self._objects) if kind is None else sum(1 for k, _, _ in self._objects if k == kind)

    def write(self, event: str, obj: dict) -> dict:
        stored = self._objects.get(key_of(obj))
        if event == "MODIFIED" and stored is not None and stored["metadata"].get("uid") != obj["metadata"].get("uid"):
            self._rv += 1
            gone = copy.deepcopy(stored)
            gone["metadata"]["resourceVersion"] = str(self._rv)
            self.changes.append((self._rv, "DELETED", gone))
            event = "ADDED"
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        if event == "DELETED":
            self._objects.pop(key_of(obj), None)
        else:
            self._objects[key_of(obj)] = obj
        self.changes.append((self._rv, event, obj))
        return obj

    @property
    def resource_version(self) -> int:
        return self._rv

    def objects(self) -> list[dict]:
        return list(self._objects.values())


class DryRunStore:
    """A store's objects plus what earlier requests of a dry run *would* have created or changed
    (`remember`), so that a namespace created by document 1 of a manifest exists for document 2, as
    it would for `kubectl apply`. It never writes to the store beneath."""

    def __init__(self, base: Store) -> None:
        self.base = base
        self.pending: dict[tuple[str, str, str], dict] = {}
        self.added: dict[str, int] = {}  # per kind, pending objects the store beneath does not hold (quotas)

    def get(self, kind: str, namespace: str, name: str) -> dict | None:
        found = self.pending.get((kind, namespace, name))
        return copy.deepcopy(found) if found is not None else self.base.get(kind, namespace, name)

    def list(self, kind: str, namespace: str | None = None) -> list[dict]:
        items = {(o["metadata"].get("namespace", ""), o["metadata"]["name"]): o
                 for o in self.base.list(kind, namespace)}
        for (k, ns, name), obj in self.pending.items():
            if k == kind and (namespace is None or ns == namespace):
                items[(ns, name)] = copy.deepcopy(obj)
        return [items[key] for key in sorted(items)]

    def list_json(self, kind: str, namespace: str | None = None) -> list[str]:
        return [object_text(o) for o in self.list(kind, namespace)]

    def count(self, kind: str | None = None) -> int:
        return self.base.count(kind) + (sum(self.added.values()) if kind is None else self.added.get(kind, 0))

    def write(self, event: str, obj: dict) -> dict:  # pragma: no cover - dry runs never write
        raise AssertionError(f"a dry run tried to store {obj.get('kind')} {obj['metadata'].get('name')}")

    def remember(self, obj: dict) -> None:
        meta = obj["metadata"]
        key = (obj["kind"], meta.get("namespace", ""), meta["name"])
        if key not in self.pending and self.base.get(*key) is None:
            self.added[key[0]] = self.added.get(key[0], 0) + 1
        self.pending[key] = obj

    @property
    def resource_version(self) -> int:
        return self.base.resource_version
