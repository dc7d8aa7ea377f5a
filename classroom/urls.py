from django.urls import path, re_path

from classroom import views

USERNAME = r"(?P<username>[\w.@+-]{1,150})"

urlpatterns = [
    path("classes/", views.class_list, name="class-list"),
    path("classes/new", views.class_create, name="class-create"),
    re_path(r"^classes/join/(?P<code>[a-z0-9]{4,12})$", views.class_join, name="class-join"),
    path("classes/<int:class_id>/", views.class_detail, name="class-detail"),
    path("classes/<int:class_id>/export.csv", views.class_export, name="class-export"),
    path("classes/<int:class_id>/import", views.class_import, name="class-import"),
    re_path(rf"^classes/(?P<class_id>\d+)/learners/{USERNAME}/$", views.learner_view, name="class-learner"),
    re_path(rf"^classes/(?P<class_id>\d+)/learners/{USERNAME}/(?P<action>reset|clock|message)$", views.learner_help,
            name="class-learner-help"),
]
