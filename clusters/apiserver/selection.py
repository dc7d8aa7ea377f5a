"""Label and field selectors as the API server applies them to lists and watches.

`?labelSelector=` and `?fieldSelector=` are parsed once per request (a malformed one is a 400 with the
parser's message, as kube-apiserver answers) and then matched against each stored object.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from clusters.engine.resources import parse_field_selector, parse_label_selector

from . import errors


@dataclass(frozen=True)
class Selection:
    labels: Any = None   # a parsed label selector, or None for "everything"
    fields: Any = None   # a parsed field selector, or None

    def matches(self, obj: dict, kind: str) -> bool:
        """Whether the object is selected; a field the kind does not support selects nothing."""
        if self.labels is not None and not self.labels.matches(obj["metadata"].get("labels")):
            return False
        try:
            return self.fields is None or self.fields.matches(obj, kind)
        except ValueError:
            return False


def parse_selection(label_selector: str = "", field_selector: str = "") -> Selection:
    """Both selectors of a request, or a 400 Status error saying what is wrong with one."""
    try:
        return Selection(parse_label_selector(label_selector) if label_selector else None,
                         parse_field_selector(field_selector) if field_selector else None)
    except ValueError as exc:
        raise errors.bad_request(str(exc)) from None
