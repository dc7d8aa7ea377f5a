"""The JSON texts the playground stores (objects, their notes, the change log): written and read back, fast.

Every reconcile pass that loads a cluster, every page snapshot and every watch read parses stored texts, and
the standard library's decoder was the largest single cost of those reads. msgspec's decoder is two to four
times faster and gives the same values for every text `json.dumps` writes — integers of any size stay
integers — except what it refuses: NaN and Infinity, lone surrogates, nesting deeper than it allows. Those
(and invalid JSON, which then raises as before) go to `json.loads`, so a text reads back the same either way.

Every object a pass writes is serialised too (to store it, and to tell a changed object from an untouched one
by its text), and the standard library's encoder was a tenth of the pure engine's time. msgspec's encoder is
about nine times faster. `dumps` gives json.dumps's compact text for every object, but for two things:
- non-ASCII characters and DEL, which json.dumps escapes: msgspec does not, so those objects go to json.dumps;
- floats written with an exponent: 1e16 where json.dumps writes 1e+16, the same value. A float in an object is
  rare, and a row stored before this differs only there: such an object is written once more, the next time a
  controller touches it.
(NaN and Infinity, which msgspec would write as null, never reach an object: the API refuses them,
clusters/apiserver/decode.py.)
"""
from __future__ import annotations

import json
from sys import intern

import msgspec

_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode


def dumps(value: dict | list) -> str:
    """json.dumps(value, separators=(",", ":")), faster: the one serialisation of what is stored."""
    try:
        text = _encode(value)
    except (TypeError, ValueError, RecursionError):   # keys json.dumps turns into strings (True, None)…
        text = None
    # …and non-ASCII characters and DEL, which json.dumps escapes (ensure_ascii): its text, then
    if text is None or not text.isascii() or b"\x7f" in text:
        return json.dumps(value, separators=(",", ":"))
    return text.decode()


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
