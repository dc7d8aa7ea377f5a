"""ASGI entry point: HTTP (the page and the Kubernetes API) and WebSockets (`kubectl exec` / `attach`)."""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")

# Django must be set up before the consumers (and the models they import) are loaded.
http_application = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import re_path  # noqa: E402

from clusters.api.remotecommand import RemoteCommandConsumer  # noqa: E402

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

websocket_routes = [
    re_path(rf"^clusters/(?P<cluster_id>{_UUID})/api/v1/namespaces/(?P<namespace>[^/]+)/pods/(?P<name>[^/]+)/"
            r"(?P<action>exec|attach)$", RemoteCommandConsumer.as_asgi()),
]

application = ProtocolTypeRouter({
    "http": http_application,
    "websocket": URLRouter(websocket_routes),
})
