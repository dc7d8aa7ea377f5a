"""A class's channel group: its members changed (the class page re-reads its grid and listens to them)."""
from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

log = logging.getLogger(__name__)


def class_group(class_id: int) -> str:
    return f"classroom.{class_id}"


def members_changed(class_id: int) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(class_group(class_id), {"type": "classroom.members"})
    except Exception:
        log.warning("could not publish the members of class %s", class_id, exc_info=True)
