"""The cluster page's object details: GET /clusters/<name>/objects/<kind>/<namespace or ->/<object>
→ {"yaml", "describe"}, both printed by the real kubectl (clusters/terminal/details.py). Also under
/u/<owner>/… for someone allowed to look at that learner's clusters (selectors.may_view)."""
from __future__ import annotations

from channels.db import database_sync_to_async
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from clusters import selectors
from clusters.terminal import details, sandbox


@require_GET
async def object_details(request: HttpRequest, name: str, kind: str, namespace: str, obj: str,
                         owner: str | None = None) -> JsonResponse:
    user = await request.auser()
    cluster = await database_sync_to_async(selectors.cluster_of_user)(user, name) if owner is None else \
        await database_sync_to_async(selectors.cluster_for_viewer)(user, owner, name)
    if cluster is None:
        return JsonResponse({"error": f"no cluster named {name}"}, status=404)
    try:
        shown = await details.object_details(cluster=cluster, user_id=user.pk, kind=kind,
                                              namespace=None if namespace == "-" else namespace, name=obj)
    except (details.UnknownKind, details.NotFound) as error:
        return JsonResponse({"error": str(error)}, status=404)
    except sandbox.Busy as error:
        return JsonResponse({"error": str(error)}, status=429)
    return JsonResponse(shown)
