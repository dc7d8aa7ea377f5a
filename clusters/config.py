"""The playground's settings as the layers below the pages need them: the API pipeline's quotas, the
CA and serving certificate, and the URL kubeconfigs point at.

Read from `settings.PLAYGROUND` (the environment, see the README's table); the certificate files are
made once per process because the settings do not change while it runs.
"""
from __future__ import annotations

import functools

from django.conf import settings

from clusters.apiserver.pipeline import Limits
from clusters.tls import ServingFiles, ensure_serving_files


@functools.cache
def serving_files() -> ServingFiles:
    """The CA and serving certificate (made once per process: the settings do not change)."""
    conf = settings.PLAYGROUND
    return ensure_serving_files(conf["CA_DIR"], conf["PUBLIC_HOSTS"])


@functools.cache
def ca_pem() -> str:
    return serving_files().ca_pem()


def limits() -> Limits:
    """The per-cluster quotas the API pipeline enforces."""
    conf = settings.PLAYGROUND
    return Limits(max_objects=conf["MAX_OBJECTS"], max_pods=conf["MAX_PODS"], max_replicas=conf["MAX_REPLICAS"])


def max_request_bytes() -> int:
    """The largest request body, and so the largest editor file or validated text."""
    return settings.PLAYGROUND["MAX_REQUEST_BYTES"]


def api_server_url(server: str | None = None) -> str:
    """The API's URL for kubeconfigs: `server` if given, else the configured or first public host."""
    conf = settings.PLAYGROUND
    if server:
        return server.rstrip("/")
    if conf["API_SERVER_URL"]:
        return conf["API_SERVER_URL"].rstrip("/")
    host = conf["PUBLIC_HOSTS"][0] if conf["PUBLIC_HOSTS"] else "127.0.0.1"
    return f"https://{host}:{conf['API_PORT']}"
