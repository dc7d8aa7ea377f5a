from django.urls import path, re_path

from lessons import views

SLUG = r"[a-z0-9](?:[-a-z0-9]{0,40}[a-z0-9])?"

urlpatterns = [
    path("lessons/", views.lesson_catalog, name="lesson-catalog"),
    re_path(rf"^lessons/(?P<track>{SLUG})/(?P<lesson>{SLUG})/$", views.lesson_page, name="lesson-page"),
    re_path(rf"^lessons/(?P<track>{SLUG})/(?P<lesson>{SLUG})/start$", views.lesson_start, name="lesson-start"),
]
