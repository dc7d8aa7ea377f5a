"""The learner's channel groups: their progress moved (instructors' class pages listen), and messages for
them (their lesson panels listen). Messages only wake up: listeners re-read what they show."""
from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

log = logging.getLogger(__name__)


def progress_group(user_id: int) -> str:
    return f"learner.{user_id}.progress"


def inbox_group(user_id: int) -> str:
    return f"learner.{user_id}.inbox"


def _publish(group: str, message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:   # a broken layer must not fail what was recorded; listeners also re-check on a timer
        log.warning("could not publish %s to %s", message["type"], group, exc_info=True)


def progress_changed(user_id: int, lesson_id: str) -> None:
    _publish(progress_group(user_id), {"type": "learner.progress", "user": user_id, "lesson": lesson_id})


def message_for(user_id: int, sender: str, text: str) -> None:
    """A short message for the learner: kept (lessons.models.LearnerMessage) and shown on their open lesson
    panels now, or on the next one they open."""
    from lessons.models import LearnerMessage

    message = LearnerMessage.objects.create(learner_id=user_id, sender=sender, text=text)
    _publish(inbox_group(user_id), {"type": "lesson.message", "id": message.pk})


def undelivered(user_id: int) -> list[dict]:
    """The learner's messages no panel has shown yet, marked shown now (the caller sends them)."""
    from django.utils import timezone

    from lessons.models import LearnerMessage

    pending = list(LearnerMessage.objects.filter(learner_id=user_id, delivered__isnull=True)[:20])
    LearnerMessage.objects.filter(pk__in=[m.pk for m in pending]).update(delivered=timezone.now())
    return [{"type": "message", "from": m.sender, "text": m.text} for m in pending]
