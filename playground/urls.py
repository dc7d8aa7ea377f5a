from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path

from clusters.web import files, metrics, objects, traffic, views

# A cluster's name as actions.cluster_create allows it (DNS label).
NAME = r"(?P<name>[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?)"
# Someone else's cluster, read-only, for those allowed to look at it (selectors.may_view).
OWNER = r"u/(?P<owner>[\w.@+-]{1,150})/"

urlpatterns = [
    path("admin/", admin.site.urls),   # operators: clusters, users, lesson progress (staff only)
    path("", views.home, name="home"),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True, next_page="home"),
         name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(next_page="home"), name="logout"),
    path("accounts/", include("django.contrib.auth.urls")),
    # The Kubernetes API (/clusters/<uuid>/api/…) before the pages: its paths never end like a page's.
    path("", include("clusters.kubeapi.urls")),
    path("", include("lessons.urls")),
    path("", include("classroom.urls")),
    path("clusters/new", views.cluster_create, name="cluster-create"),
    re_path(rf"^clusters/{NAME}/$", views.cluster_detail, name="cluster-detail"),
    re_path(rf"^clusters/{NAME}/kubeconfig$", views.cluster_kubeconfig, name="cluster-kubeconfig"),
    re_path(rf"^clusters/{NAME}/reset$", views.cluster_reset, name="cluster-reset"),
    re_path(rf"^clusters/{NAME}/delete$", views.cluster_delete, name="cluster-delete"),
    # The manifest editor (clusters/web/PAGE.md): a file name's own rules are checked by actions.file_save.
    re_path(rf"^clusters/{NAME}/files$", files.file_list, name="cluster-files"),
    re_path(rf"^clusters/{NAME}/files/(?P<file>[^/]{{1,255}})$", files.file_detail, name="cluster-file"),
    re_path(rf"^clusters/{NAME}/validate$", files.validate, name="cluster-validate"),
    re_path(rf"^clusters/{NAME}/clock$", views.cluster_clock, name="cluster-clock"),
    re_path(rf"^clusters/{NAME}/metrics$", metrics.cluster_metrics, name="cluster-metrics"),
    re_path(rf"^clusters/{NAME}/terminal-history$", views.terminal_history, name="terminal-history"),
    # Object details for the page's side panel, printed by the real kubectl ("-": a cluster-scoped object).
    re_path(rf"^clusters/{NAME}/objects/(?P<kind>[A-Za-z]{{1,63}})/(?P<namespace>-|[a-z0-9][-a-z0-9]{{0,62}})/"
            r"(?P<obj>[A-Za-z0-9][-A-Za-z0-9._:@]{0,252})$", objects.object_details, name="object-details"),
    re_path(rf"^clusters/{NAME}/nodes/(?P<node>[a-z0-9][-a-z0-9.]{{0,252}})/(?P<action>fail|recover)$",
            views.node_switch, name="node-switch"),
    # A Service card's "Send traffic" (a read: the network model answers from the cluster's state).
    re_path(rf"^clusters/{NAME}/services/(?P<namespace>[a-z0-9][-a-z0-9]{{0,62}})/"
            r"(?P<service>[a-z0-9][-a-z0-9]{0,62})/traffic$", traffic.service_traffic, name="service-traffic"),
    # The reads of the cluster page under /u/<owner>/…: what a viewer's read-only page calls.
    re_path(rf"^{OWNER}clusters/{NAME}/files$", files.file_list, name="viewer-files"),
    re_path(rf"^{OWNER}clusters/{NAME}/metrics$", metrics.cluster_metrics, name="viewer-metrics"),
    re_path(rf"^{OWNER}clusters/{NAME}/terminal-history$", views.terminal_history, name="viewer-terminal-history"),
    re_path(rf"^{OWNER}clusters/{NAME}/objects/(?P<kind>[A-Za-z]{{1,63}})/(?P<namespace>-|[a-z0-9][-a-z0-9]{{0,62}})/"
            r"(?P<obj>[A-Za-z0-9][-A-Za-z0-9._:@]{0,252})$", objects.object_details, name="viewer-object-details"),
    re_path(rf"^{OWNER}clusters/{NAME}/services/(?P<namespace>[a-z0-9][-a-z0-9]{{0,62}})/"
            r"(?P<service>[a-z0-9][-a-z0-9]{0,62})/traffic$", traffic.service_traffic, name="viewer-service-traffic"),
]
