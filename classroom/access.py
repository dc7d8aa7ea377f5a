"""Who is an instructor, and whose work they may see: only the learners of their own classes."""
from __future__ import annotations

from django.contrib.auth.models import Group, Permission

from classroom.models import Membership

INSTRUCTORS = "instructors"
TEACH = "classroom.teach"


def instructors_group() -> Group:
    group, _ = Group.objects.get_or_create(name=INSTRUCTORS)
    permission = Permission.objects.get(content_type__app_label="classroom", codename="teach")
    group.permissions.add(permission)
    return group


def is_instructor(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active and user.has_perm(TEACH))


def grant(user) -> None:
    user.groups.add(instructors_group())


def revoke(user) -> None:
    user.groups.remove(instructors_group())
    user.user_permissions.remove(Permission.objects.get(content_type__app_label="classroom", codename="teach"))


def teaches(instructor, learner) -> bool:
    """Whether `learner` is in one of `instructor`'s classes (and `instructor` still is one)."""
    return is_instructor(instructor) and Membership.objects.filter(
        classroom__instructor=instructor, learner=learner).exists()
