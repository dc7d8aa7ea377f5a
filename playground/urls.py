from django.urls import include, path

urlpatterns = [
    path("", include("clusters.api.urls")),
]
