from django.urls import include, path

from clusters.views import home

urlpatterns = [
    path("", home, name="home"),
    path("", include("clusters.api.urls")),
]
