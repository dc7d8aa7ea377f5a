"""Reading back the JSON texts the playground stored (objects, their notes, the change log): fast.

Every reconcile pass that loads a cluster, every page snapshot and every watch read parses stored texts, and
the standard library's decoder was the largest single cost of those reads. msgspec's decoder is two to four
times faster and gives the same values for every text `json.dumps` writes — integers of any size stay
integers — except what it refuses: NaN and Infinity, lone surrogates, nesting deeper than it allows. Those
(and invalid JSON, which then raises as before) go to `json.loads`, so a text reads back the same either way.
"""
from __future__ import annotations

import json
from sys import intern

import msgspec

_decode = msgspec.json.Decoder().decode


def loads(text: str | bytes):
    """json.loads(text), faster."""
    try:
        return _decode(text)
    except (ValueError, RecursionError):   # msgspec's DecodeError is a ValueError
        return json.loads(text)


def share_strings(value: dict | list):
    """`value` (a decoded JSON object or array) with each string replaced by the interned string equal to it,
    in place; returns it. What a state keeps between passes is mostly small strings repeated across objects and clusters
    (timestamps, namespaces, "v1", node and image names): the decoder makes a new one for each, and sharing
    them takes a quarter off a kept state's memory. Dict keys are left as the decoder made them (it
    already shares short ones)."""
    for place, item in value.items() if type(value) is dict else enumerate(value):
        kind = type(item)
        if kind is str:
            value[place] = intern(item)
        elif kind is dict or kind is list:
            share_strings(item)
    return value
