"""playground/outage.py's note_unavailable: an outage met by a class's open sockets is a line a minute, not a flood."""
from __future__ import annotations

import logging

from django.db.utils import OperationalError

from playground import outage


def test_one_line_per_quiet_period_with_the_count_kept_back(monkeypatch, caplog):
    clock = [1000.0]
    monkeypatch.setattr(outage.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(outage, "_quiet", {"until": 0.0, "kept_back": 0})
    error = OperationalError("connection refused")
    with caplog.at_level(logging.WARNING, logger="playground.outage"):
        outage.note_unavailable("live re-check of cluster a", error)
        for page in range(199):                      # the rest of the class, retrying within the minute
            outage.note_unavailable(f"live re-check of cluster {page}", error)
        clock[0] += outage.QUIET_SECONDS
        outage.note_unavailable("lesson re-check of 7", error)
    lines = [record.getMessage() for record in caplog.records]
    assert lines == ["database unavailable: live re-check of cluster a: connection refused",
                     "database unavailable: lesson re-check of 7: connection refused "
                     "(199 more since the last such line)"]
    assert all(record.exc_info is None for record in caplog.records)
