"""ASGI entry point: HTTP (the pages and the Kubernetes API) and WebSockets (`kubectl exec` / `attach` /
`port-forward` with a bearer token; the cluster page's live feed with the browser's session)."""
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")

# Django must be set up before the consumers (and the models they import) are loaded: as
# django.core.asgi.get_asgi_application does (the HTTP handlers are playground/handlers.py's).
django.setup(set_prefix=False)

from channels.auth import AuthMiddlewareStack
from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import re_path

from classroom.consumer import ClassConsumer
from clusters.kubeapi.portforward import PortForwardConsumer
from clusters.kubeapi.remotecommand import RemoteCommandConsumer
from clusters.terminal.consumer import TerminalConsumer
from clusters.web.consumer import ClusterConsumer
from lessons.consumer import LessonConsumer
from playground.handlers import http_application

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

websocket_routes = [
    re_path(rf"^clusters/(?P<cluster_id>{_UUID})/api/v1/namespaces/(?P<namespace>[^/]+)/pods/(?P<name>[^/]+)/"
            r"(?P<action>exec|attach)$", RemoteCommandConsumer.as_asgi()),
    # `kubectl port-forward`: SPDY/3.1 tunneled over the WebSocket (subprotocol SPDY/3.1+portforward.k8s.io).
    re_path(rf"^clusters/(?P<cluster_id>{_UUID})/api/v1/namespaces/(?P<namespace>[^/]+)/pods/(?P<name>[^/]+)/"
            r"portforward$", PortForwardConsumer.as_asgi()),
    # The page's feed: the session user must own the cluster (only this route needs cookies and an Origin).
    re_path(r"^clusters/(?P<name>[^/]+)/live$",
            AllowedHostsOriginValidator(AuthMiddlewareStack(ClusterConsumer.as_asgi()))),
    # The same feed for someone allowed to look at the owner's clusters (read-only: it only sends).
    re_path(r"^u/(?P<owner>[\w.@+-]{1,150})/clusters/(?P<name>[^/]+)/live$",
            AllowedHostsOriginValidator(AuthMiddlewareStack(ClusterConsumer.as_asgi()))),
    # The page's terminal (the real kubectl, sandboxed): owner only, like the feed.
    re_path(r"^clusters/(?P<name>[^/]+)/terminal$",
            AllowedHostsOriginValidator(AuthMiddlewareStack(TerminalConsumer.as_asgi()))),
    # A class's live grid: its instructor only.
    re_path(r"^classes/(?P<class_id>\d{1,12})/live$",
            AllowedHostsOriginValidator(AuthMiddlewareStack(ClassConsumer.as_asgi()))),
    # The lesson panel: the learner who started the lesson only.
    re_path(r"^lessons/(?P<track>[a-z0-9-]{1,42})/(?P<lesson>[a-z0-9-]{1,42})/live$",
            AllowedHostsOriginValidator(AuthMiddlewareStack(LessonConsumer.as_asgi()))),
]

application = ProtocolTypeRouter({
    "http": http_application(),
    "websocket": URLRouter(websocket_routes),
})
