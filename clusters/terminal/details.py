"""The cluster page's object details: `kubectl get -o yaml` and `kubectl describe` of one object,
printed by the real kubectl in a one-shot sandbox (the side panel shows exactly what kubectl prints)."""
from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from clusters.apiserver import registry
from clusters.terminal.policy import Command
from clusters.terminal.sandbox import Exit, KubectlRun, Sandbox, limits, process_slot

if TYPE_CHECKING:
    from clusters.models import Cluster

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
