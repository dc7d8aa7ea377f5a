"""The Kubernetes API over HTTP(S): `/clusters/<id>/api/…`, `/apis/…`, `/version`, `/openapi/…`.

Thin: authenticate the bearer token, parse the path and query, call the
apiserver pipeline through `actions.api_call`, answer JSON (or a Table, or a
watch stream). Every learner-caused failure is a Kubernetes `Status`.

Timestamps cross these doors in served time (clusters/apiserver/served_time.py):
what goes out is moved back by the cluster's `served_offset()`, what comes in
(bodies, `sinceTime`) forward by it, so the cluster's now, as served, is the
client's wall clock. An offset of 0 (a clock never moved) skips it all.
"""
from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db.utils import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from clusters import actions, selectors
from clusters.apiserver import discovery, errors, eviction, openapi
from clusters.apiserver.decode import decode_body
from clusters.apiserver.errors import ApiError
from clusters.apiserver.pipeline import ApiServer
from clusters.apiserver.served_time import shift_json_patch, to_served, to_stored
from clusters.apiserver.tables import build_table
from clusters.config import database_pooled, max_request_bytes
from clusters.sim import replay
from clusters.sim.runner import api_at_work

from . import logstream, watch
from .metrics import metrics_response
from .paths import Endpoint, ResourcePath, parse
from .responses import (
    JSON,
    PARTIAL,
    PARTIAL_LIST,
    PATCH_TYPES,
    TABLE,
    json_response,
    status_response,
    wants,
)

if TYPE_CHECKING:
    from clusters.models import Cluster

log = logging.getLogger(__name__)


def _bearer_token(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def authenticate(request: HttpRequest, cluster_id: uuid.UUID) -> Cluster:
    """The cluster the request may use: its token must be one issued for this very cluster."""
    return authenticate_token(_bearer_token(request), cluster_id)


def authenticate_token(token: str, cluster_id: uuid.UUID) -> Cluster:
    """authenticate() for a bearer token already taken from the headers (the WebSocket streams use it)."""
    cluster = selectors.cluster_for_token(token, cluster_id)
    if cluster is None:   # which refusal: only now the second query
        token_cluster = selectors.token_cluster_id(token)
        if token_cluster is not None and token_cluster != cluster_id:
            # Same answer whether or not the cluster in the URL exists: nothing leaks.
            raise errors.forbidden("forbidden: this token is not valid for this cluster")
        raise errors.unauthorized()
    actions.cluster_touch(cluster=cluster)   # last activity; starts a cluster retention stopped
    return cluster


# With PostgreSQL the API's database work runs in the thread pool (each thread keeps its connection), not on
# the one thread Django and Channels share for sync code: there, every learner's requests queued behind each
# other and behind the pages' consumers. SQLite (embedded mode, and the test suite's shared-cache database)
# keeps that one thread, where its connections never contend for its locks; so does the test client (no
# `serve`), whose tests' data only the test's own connection sees.
_POOLED = not settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")


def _in_thread(func: Callable) -> Callable:
    if _POOLED and _serving():
        # A pool thread gets no request signals: its connection is checked (and closed when obsolete or
        # broken) around each call, as the request signals do for the shared thread's.
        return database_sync_to_async(func, thread_sensitive=False)
    return sync_to_async(func)


def _serving() -> bool:
    """Whether this process is `manage.py serve` (its event loop outlives the requests)."""
    return bool(settings.PLAYGROUND.get("SERVED_API_PORT"))


_after_answer: set[asyncio.Task] = set()   # the tasks publishing what requests wrote (kept from the GC)


@csrf_exempt
async def cluster_api(request: HttpRequest, cluster_id: str, rest: str) -> HttpResponse:
    committed: list[Callable[[], None]] = []
    try:
        # One hop to a thread for the whole request (authentication, the pipeline, the answer), not one each.
        with api_at_work.working():   # an embedded pass waits meanwhile (a stream's waiting is not work)
            answer = await _in_thread(_serve)(request, uuid.UUID(cluster_id), rest, committed)
        if isinstance(answer, HttpResponse):
            return answer
        cluster, target = answer
        if target.subresource == "log":
            return await log_follow_response(request, cluster, target)
        return await watch_response(request, cluster, target)
    except ApiError as error:
        return status_response(error)
    except (OperationalError, InterfaceError) as exc:  # the database is unreachable: retry, not a bug
        log.warning("database unavailable: %s %s: %s", request.method, request.get_full_path(), exc)
        return status_response(database_unavailable())
    except Exception as exc:  # a bug of ours: still a Status, never an HTML page
        log.exception("API request failed: %s %s", request.method, request.get_full_path())
        return status_response(errors.internal(f"{type(exc).__name__}: {exc}"))
    finally:
        if committed:
            _publish_after_answering(committed)


def _serve(request: HttpRequest, cluster_id: uuid.UUID, rest: str,
           committed: list[Callable[[], None]]) -> HttpResponse | tuple[Cluster, ResourcePath]:
    """The answer to a request, or (cluster, target) for a stream (a watch, `logs -f`) the caller serves.
    What a write does once committed (publish the change, ask for a reconcile pass) is put in `committed`."""
    cluster = authenticate(request, cluster_id)
    target = parse(rest)
    if isinstance(target, Endpoint):
        return endpoint_response(request, target, f"/clusters/{cluster_id}")
    if request.method == "GET" and not target.name and request.GET.get("watch") in ("true", "1"):
        if not target.rt.stored:     # metrics-server serves get and list only
            raise errors.method_not_allowed()
        return cluster, target
    if request.method == "GET" and target.subresource == "log" and request.GET.get("follow") in ("true", "1"):
        return cluster, target
    if not _serving():
        # Not in `serve` (the test client): no event loop outlives the request to publish after it.
        return resource_response(request, cluster, target)
    with actions.after_commit_into(committed):
        return resource_response(request, cluster, target)


def _publish_after_answering(committed: list[Callable[[], None]]) -> None:
    """Run what the request's commit asked for (a message to the cluster's group, a Celery task: a Redis round
    trip each, and a thread hop to the event loop for the first) in a thread while the answer goes out: the
    client does not wait for them. Watches read the change log, so a message's moment only moves a wake-up."""
    def run() -> None:
        for callback in committed:
            try:
                callback()
            except Exception:   # each is best-effort already; never lose the others
                log.exception("after-commit work failed")

    task = asyncio.get_running_loop().create_task(sync_to_async(run, thread_sensitive=False)())
    _after_answer.add(task)
    task.add_done_callback(_after_answer.discard)


# client-go retries a 5xx with Retry-After up to 10 times, waiting the header's seconds each time: with 0,
# kubectl tries again at once, so a blip (a failover) passes unnoticed and an outage is reported in well
# under a second instead of after ten. With pooled connections there is no header: the request already
# waited DB_POOL_TIMEOUT seconds for the pool to reconnect (a blip passed unnoticed there), and ten more
# such waits would keep kubectl from reporting an outage for a minute.
DATABASE_RETRY_AFTER_SECONDS = 0


def database_unavailable() -> ApiError:
    """PostgreSQL is down or restarting (playground/outage.py does the same for the pages)."""
    return ApiError(503, "ServiceUnavailable", "the playground's database is unavailable: try again in a moment",
                    retry_after=None if database_pooled() else DATABASE_RETRY_AFTER_SECONDS)


# ------------------------------------------------------------ non-resource paths
def endpoint_response(request: HttpRequest, target: Endpoint, prefix: str) -> HttpResponse:
    if request.method != "GET":
        raise errors.method_not_allowed()
    accept = request.headers.get("Accept", "")
    if target.what == "version":
        return json_response(discovery.version_info())
    if target.what in ("api", "apis"):
        if "as=APIGroupDiscoveryList" in accept and "g=apidiscovery.k8s.io" in accept:
            return json_response(discovery.aggregated_discovery(target.what),
                                 content_type=discovery.AGGREGATED_CONTENT_TYPE)
        return json_response(discovery.legacy_core_versions() if target.what == "api"
                             else discovery.legacy_group_list())
    if target.what == "group":
        body = discovery.legacy_group(target.group)
    elif target.what == "resources":
        body = discovery.legacy_resource_list(target.group, target.version)
    elif target.what == "openapi-index":
        body = openapi.openapi_v3_index(prefix)
    elif target.what == "openapi":
        document = openapi.openapi_v3_document(target.group, target.version)
        if document is None:
            raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")
        response = HttpResponse(document, content_type=JSON)
        response.headers["Cache-Control"] = "public, immutable"
        return response
    else:
        protobuf = "protobuf" in accept
        return HttpResponse(openapi.openapi_v2_document(protobuf),
                            content_type="application/octet-stream" if protobuf else JSON)
    if body is None:
        raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")
    return json_response(body)


# ---------------------------------------------------------------- resources
def _read_body(request: HttpRequest) -> Any:
    limit = max_request_bytes()
    declared = request.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise errors.too_large(f"Request entity too large: limit is {limit}")
    try:
        raw = request.body
    except RequestDataTooBig:
        raise errors.too_large(f"Request entity too large: limit is {limit}") from None
    return decode_body(raw, request.headers.get("Content-Type", ""), max_bytes=limit)


def _options(request: HttpRequest) -> dict[str, Any]:
    query = request.GET
    return {
        "dry_run": query.get("dryRun") == "All",
        "field_validation": query.get("fieldValidation", ""),
        # Without fieldManager the real server names the writer after its User-Agent ("kubectl", …).
        "field_manager": query.get("fieldManager") or request.headers.get("User-Agent", "unknown").split("/")[0][:128],
    }


def _delete_options(request: HttpRequest) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if request.body:
        body = _read_body(request)
        if isinstance(body, dict):
            options.update(body)
    query = request.GET
    if "propagationPolicy" in query:
        options["propagationPolicy"] = query["propagationPolicy"]
    if "gracePeriodSeconds" in query:
        try:
            options["gracePeriodSeconds"] = int(query["gracePeriodSeconds"])
        except ValueError:
            raise errors.bad_request(f'invalid gracePeriodSeconds "{query["gracePeriodSeconds"]}"') from None
    if "orphanDependents" in query:
        options["orphanDependents"] = query["orphanDependents"] == "true"
    return options


def resource_response(request: HttpRequest, cluster: Cluster, target: ResourcePath) -> HttpResponse:
    rt, method = target.rt, request.method
    if not rt.stored:
        return metrics_response(request, cluster, target)
    namespace = target.namespace or ""
    accept = request.headers.get("Accept", "")
    offset = cluster.served_offset()

    if target.subresource == "eviction":
        if method != "POST":
            raise errors.method_not_allowed()
        return eviction_response(request, cluster, target)

    if method == "GET":
        if not target.name:
            return list_response(request, cluster, target)
        if target.subresource == "log":
            return log_response(request, cluster, target)
        if target.subresource == "scale":
            return json_response(to_served(actions.api_read(
                cluster=cluster, operation=lambda api: api.get_scale(rt, namespace, target.name)), offset))
        if target.subresource not in ("", "status"):
            raise errors.bad_request(f"{target.subresource} is not available in the playground yet")
        obj = actions.api_read(cluster=cluster, operation=lambda api: api.get(rt, namespace, target.name))
        return object_response(obj, accept, cluster, rt.kind, offset)

    if target.subresource in ("exec", "attach") and method in ("GET", "POST"):
        return stream_fallback_response(request, cluster, target)
    if target.subresource == "portforward" and method == "POST":
        from .portforward import spdy_fallback_error  # its WebSocket consumer imports this module
        raise spdy_fallback_error(cluster, target.namespace or "", target.name)

    if method == "POST":
        if target.name:
            raise errors.method_not_allowed()
        body = to_stored(_read_body(request), offset, rt.kind)
        result = actions.api_call(cluster=cluster, operation=lambda api: api.create(
            rt, namespace, body, **_options(request)))
        return json_response(to_served(result.body, offset, rt.kind), result.code, warnings=result.warnings)

    if not target.name:
        if method == "DELETE":
            options = _delete_options(request)
            result = actions.api_call(cluster=cluster, operation=lambda api: api.delete_collection(
                rt, target.namespace, label_selector=request.GET.get("labelSelector", ""),
                field_selector=request.GET.get("fieldSelector", ""), options=options,
                dry_run=request.GET.get("dryRun") == "All"))
            return json_response(to_served(result.body, offset))
        raise errors.method_not_allowed()

    if method == "PUT":
        body = to_stored(_read_body(request), offset, "Scale" if target.subresource == "scale" else rt.kind)
        if target.subresource == "scale":
            result = actions.api_call(cluster=cluster, operation=lambda api: api.update_scale(
                rt, namespace, target.name, body, dry_run=request.GET.get("dryRun") == "All",
                field_manager=_options(request)["field_manager"]))
        else:
            result = actions.api_call(cluster=cluster, operation=lambda api: api.update(
                rt, namespace, target.name, body, subresource=_writable_sub(target), **_options(request)))
        return json_response(to_served(result.body, offset, rt.kind), result.code, warnings=result.warnings)

    if method == "PATCH":
        content_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        patch_type = PATCH_TYPES.get(content_type)
        if patch_type is None:
            raise errors.unsupported_media_type(content_type)
        body = _read_body(request)
        # A JSON patch's values are placed by their paths; the other kinds are partial objects.
        body = (shift_json_patch(body, offset, rt.kind) if patch_type == "json"
                else to_stored(body, offset, rt.kind))
        force = request.GET.get("force") == "true"
        result = actions.api_call(cluster=cluster, operation=lambda api: api.patch(
            rt, namespace, target.name, body, patch_type, subresource=_writable_sub(target), force=force,
            **_options(request)))
        return json_response(to_served(result.body, offset, rt.kind), result.code, warnings=result.warnings)

    if method == "DELETE":
        options = _delete_options(request)
        result = actions.api_call(cluster=cluster, operation=lambda api: api.delete(
            rt, namespace, target.name, options, dry_run=request.GET.get("dryRun") == "All"))
        return json_response(to_served(result.body, offset, rt.kind), result.code)

    raise errors.method_not_allowed()


def eviction_response(request: HttpRequest, cluster: Cluster, target: ResourcePath) -> HttpResponse:
    """POST pods/<name>/eviction (`kubectl drain`): clusters/apiserver/eviction.py."""
    body = _read_body(request)
    result = actions.api_call(cluster=cluster, operation=lambda api: eviction.evict(
        api, target.namespace or "", target.name, body, dry_run=request.GET.getlist("dryRun")))
    return json_response(result.body, result.code)


def _writable_sub(target: ResourcePath) -> str:
    if target.subresource in ("", "status", "scale"):
        return target.subresource
    if target.subresource == "finalize":
        return ""
    raise errors.method_not_allowed()


def object_response(obj: dict, accept: str, cluster: Cluster, kind: str, offset: float = 0.0) -> HttpResponse:
    if wants(accept, "Table"):
        table = build_table(kind, [obj], now=_now(cluster), include_object="Metadata",
                            resource_version=obj["metadata"].get("resourceVersion", ""))
        return json_response(to_served(table, offset), content_type=TABLE)
    obj = to_served(obj, offset, kind)
    if wants(accept, "PartialObjectMetadata"):
        return json_response({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                              "metadata": obj["metadata"]}, content_type=PARTIAL)
    return json_response(obj)


def _now(cluster: Cluster):
    from datetime import datetime

    return datetime.fromtimestamp(cluster.sim_now(), UTC)


def list_response(request: HttpRequest, cluster: Cluster, target: ResourcePath) -> HttpResponse:
    rt = target.rt
    label_selector = request.GET.get("labelSelector", "")
    field_selector = request.GET.get("fieldSelector", "")

    accept = request.headers.get("Accept", "")
    plain = not (label_selector or field_selector or wants(accept, "Table") or
                 wants(accept, "PartialObjectMetadataList"))

    def operation(api: ApiServer) -> tuple[list[dict], list[str] | None, int]:
        version = api.store.resource_version
        texts = api.list_json(rt, target.namespace) if plain else None
        if texts is not None:
            return [], texts, version
        return api.list(rt, target.namespace, label_selector=label_selector,
                        field_selector=field_selector), None, version

    items, texts, version = actions.api_read(cluster=cluster, operation=operation)
    offset = cluster.served_offset()
    if texts is not None and offset:
        items, texts = [json.loads(text) for text in texts], None
    if texts is not None:
        # The stored documents are already the JSON of each item: join them instead of parsing.
        head = json.dumps({"kind": rt.list_kind, "apiVersion": rt.api_version,
                           "metadata": {"resourceVersion": str(version)}}, separators=(",", ":"))
        return HttpResponse(head[:-1] + ',"items":[' + ",".join(texts) + "]}", content_type=JSON)
    if wants(accept, "Table"):
        include = request.GET.get("includeObject", "Metadata")
        return json_response(to_served(build_table(rt.kind, items, now=_now(cluster), include_object=include,
                                                   resource_version=str(version)), offset), content_type=TABLE)
    items = [to_served(item, offset, rt.kind) for item in items] if offset else items
    if wants(accept, "PartialObjectMetadataList"):
        return json_response({
            "kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
            "metadata": {"resourceVersion": str(version)},
            "items": [{"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]}
                      for o in items]}, content_type=PARTIAL_LIST)
    return json_response({"kind": rt.list_kind, "apiVersion": rt.api_version,
                          "metadata": {"resourceVersion": str(version)}, "items": items})


def _int_param(query, name: str, minimum: int = 0) -> int | None:
    value = query.get(name)
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except ValueError:
        raise errors.bad_request(f'invalid {name} "{value}"') from None
    if number < minimum:
        raise errors.bad_request(f"{name}: Invalid value: {number}: must be greater than or equal to {minimum}")
    return number


def log_options(request: HttpRequest) -> replay.LogOptions:
    """PodLogOptions from the query, as kubectl sends them."""
    query = request.GET
    since_time = None
    if query.get("sinceTime"):
        since_time = replay.parse_since_time(query["sinceTime"])
        if since_time is None:
            raise errors.bad_request(f'invalid sinceTime "{query["sinceTime"]}"')
    return replay.LogOptions(
        container=query.get("container") or None, previous=query.get("previous") in ("true", "1"),
        timestamps=query.get("timestamps") in ("true", "1"), tail_lines=_int_param(query, "tailLines"),
        since_seconds=_int_param(query, "sinceSeconds", 1), since_time=since_time,
        limit_bytes=_int_param(query, "limitBytes", 1))


def served_log(log: replay.ContainerLog, offset: float) -> replay.ContainerLog:
    """A container's log with its lines' times as served (`--timestamps`, and `sinceTime` compared with
    them as the client sent it)."""
    if not offset:
        return log
    return dataclasses.replace(log, lines=[dataclasses.replace(line, time=line.time - offset)
                                           for line in log.lines])


def log_response(request: HttpRequest, cluster: Cluster, target: ResourcePath) -> HttpResponse:
    options = log_options(request)
    log = replay.container_logs(cluster=cluster, namespace=target.namespace or "", pod=target.name,
                                    options=options)
    wall = time.time()
    offset = cluster.served_offset(wall)
    body = replay.format_lines(served_log(log, offset), options, cluster.sim_now(wall) - offset)
    return HttpResponse(body, content_type="text/plain")


async def log_follow_response(request: HttpRequest, cluster: Cluster, target: ResourcePath) -> HttpResponse:
    """`kubectl logs -f`: what exists, then new lines as simulated time passes, until the container exits."""
    options = log_options(request)
    namespace = target.namespace or ""
    first = await sync_to_async(replay.container_logs)(cluster=cluster, namespace=namespace, pod=target.name,
                                                           options=options)
    wall = time.time()
    offset = cluster.served_offset(wall)
    head = replay.format_lines(served_log(first, offset), options, cluster.sim_now(wall) - offset)

    async def stream():
        budget = options.limit_bytes
        yield head  # possibly empty: the headers go out now, as the kubelet's zero-byte write does
        if budget is not None:
            budget -= len(head)
        if options.previous:
            return
        async for line in logstream.follow(cluster.pk, namespace, target.name, first, logstream.position_of(first)):
            chunk = replay.format_line(line, options.timestamps)
            if budget is not None:
                if budget <= 0:
                    return
                chunk, budget = chunk[:budget], budget - len(chunk)
            yield chunk

    response = StreamingHttpResponse(stream(), content_type="text/plain")
    response.headers["Cache-Control"] = "no-cache, private"
    return response


def stream_fallback_response(request: HttpRequest, cluster: Cluster, target: ResourcePath) -> HttpResponse:
    """exec/attach without a WebSocket: kubectl's SPDY fallback after the WebSocket upgrade was refused.

    It repeats the checks so kubectl prints the real error (a Status, or the kubelet's plain-text 404
    `container not found ("c")`, shown as `unable to upgrade connection: …`). Streams themselves are
    served over WebSocket only (clusters/kubeapi/remotecommand.py).
    """
    try:
        replay.container_stream_check(cluster=cluster, namespace=target.namespace or "", pod=target.name,
                                          container=request.GET.get("container") or None)
    except replay.ContainerNotFound as missing:
        return HttpResponse(str(missing).encode(), status=404, content_type="text/plain; charset=utf-8")
    if target.subresource == "exec" and not request.GET.getlist("command"):
        raise errors.bad_request("you must specify at least one command for the container")
    raise errors.bad_request(f"the playground serves {target.subresource} over WebSocket only "
                             "(v5.channel.k8s.io: kubectl 1.30 or newer)")


async def watch_response(request: HttpRequest, cluster: Cluster, target: ResourcePath) -> HttpResponse:
    query = request.GET
    try:
        timeout = float(query.get("timeoutSeconds", watch.DEFAULT_TIMEOUT))
    except ValueError:
        raise errors.bad_request(f'invalid timeoutSeconds "{query.get("timeoutSeconds")}"') from None
    accept = request.headers.get("Accept", "")
    spec = watch.WatchSpec(
        cluster=cluster, rt=target.rt, namespace=target.namespace,
        resource_version=query.get("resourceVersion", ""),
        label_selector=query.get("labelSelector", ""), field_selector=query.get("fieldSelector", ""),
        table=wants(accept, "Table"), include_object=query.get("includeObject", "Metadata"),
        timeout=max(0.0, min(timeout, watch.DEFAULT_TIMEOUT)),
        bookmarks=query.get("allowWatchBookmarks") == "true",
        initial_events=query.get("sendInitialEvents") == "true",
    )
    await sync_to_async(watch.check_selectors)(spec)
    content_type = TABLE if spec.table else JSON
    response = StreamingHttpResponse(watch.stream(spec), content_type=content_type)
    response.headers["Cache-Control"] = "no-cache, private"
    return response
