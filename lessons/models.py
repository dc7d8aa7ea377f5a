"""A learner's progress through the lessons (the lessons themselves are files: lessons/catalog.py)."""
from __future__ import annotations

from django.conf import settings
from django.db import models

from clusters.models import Cluster


class LessonProgress(models.Model):
    """One learner in one lesson: its cluster, the step they are on, when they started and finished."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lesson_progress")
    lesson = models.CharField(max_length=100)            # "<track>/<lesson>"
    cluster = models.ForeignKey(Cluster, null=True, on_delete=models.SET_NULL, related_name="+")
    current_step = models.PositiveIntegerField(default=0)
    started = models.DateTimeField()                     # the latest (re)start
    first_started = models.DateTimeField()
    finished = models.DateTimeField(null=True)           # the last step done (kept over a restart)
    restarts = models.PositiveIntegerField(default=0)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "lesson"], name="progress_user_lesson")]
        verbose_name_plural = "lesson progress"

    def __str__(self) -> str:
        return f"{self.user} · {self.lesson} · step {self.current_step + 1}"


class StepProgress(models.Model):
    """One step of a learner's lesson since its latest start: when it began and ended, and the help used."""

    progress = models.ForeignKey(LessonProgress, on_delete=models.CASCADE, related_name="steps")
    index = models.PositiveIntegerField()
    began = models.DateTimeField()
    completed = models.DateTimeField(null=True)
    hints = models.PositiveIntegerField(default=0)       # hints shown
    solution = models.BooleanField(default=False)        # the solution was shown
    attempts = models.PositiveIntegerField(default=0)    # evaluations that failed after a change by the learner
    answer = models.JSONField(null=True)                 # a question step's last answer
    answer_correct = models.BooleanField(null=True)
    last_reason = models.TextField(blank=True, default="")   # why the checks did not hold, last time

    class Meta:
        constraints = [models.UniqueConstraint(fields=["progress", "index"], name="step_progress_index")]
        ordering = ["index"]

    def __str__(self) -> str:
        return f"{self.progress} · #{self.index + 1}{' ✓' if self.completed else ''}"


class LearnerMessage(models.Model):
    """A short message for a learner (from their instructor), kept until a lesson panel of theirs showed it."""

    learner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lesson_messages")
    sender = models.CharField(max_length=150)
    text = models.CharField(max_length=500)
    sent = models.DateTimeField(auto_now_add=True)
    delivered = models.DateTimeField(null=True)

    class Meta:
        ordering = ["sent", "id"]

    def __str__(self) -> str:
        return f"to {self.learner} from {self.sender}: {self.text[:40]}"
