from django.urls import re_path

from . import views

urlpatterns = [
    # The Kubernetes API of one cluster. kubectl keeps this prefix on every request.
    re_path(r"^clusters/(?P<cluster_id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/"
            r"(?P<rest>(?:api|apis|version|openapi)(?:/.*)?)$", views.cluster_api, name="cluster-api"),
]
