"""Classes: an instructor, the lessons they assigned, the learners who joined."""
from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models

JOIN_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"   # no 0/o, 1/l/i: codes are read aloud and typed


def new_join_code() -> str:
    return "".join(secrets.choice(JOIN_ALPHABET) for _ in range(8))


class Classroom(models.Model):
    name = models.CharField(max_length=100)
    instructor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                   related_name="classrooms_taught")
    lessons = models.JSONField(default=list)      # lesson ids ("<track>/<lesson>"), in the order assigned
    ends = models.DateField(null=True, blank=True)   # no joining after it
    join_code = models.CharField(max_length=12, unique=True, default=new_join_code)
    stuck_minutes = models.PositiveIntegerField(default=10)   # no progress this long: stuck
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]
        permissions = [("teach", "Can run classes (instructor)")]

    def __str__(self) -> str:
        return f"{self.name} ({self.instructor})"


class Membership(models.Model):
    classroom = models.ForeignKey(Classroom, on_delete=models.CASCADE, related_name="memberships")
    learner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="class_memberships")
    joined = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["classroom", "learner"], name="membership_once")]
        ordering = ["learner__username"]

    def __str__(self) -> str:
        return f"{self.learner} in {self.classroom.name}"
