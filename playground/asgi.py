"""ASGI entry point: HTTP (the page and the Kubernetes API) and, later, websockets."""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")

application = get_asgi_application()
