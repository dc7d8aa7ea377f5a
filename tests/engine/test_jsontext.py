"""The stored texts read back with msgspec give exactly what json.loads gives (clusters/engine/jsontext.py)."""
from __future__ import annotations

import json
import math

import pytest

from clusters.engine import jsontext

SAME = [
    '{"a":1,"a":2}',                                   # a repeated key: the last one wins, as in json
    '{"big":123456789012345678901234567890}',           # beyond 64 bits: still an int (not a float)
    '{"u64":18446744073709551615,"neg":-9223372036854775809}',
    '{"f":1.5,"e":1E5,"z":-0.0,"tiny":5e-324}',
    '{"s":"caf\\u00e9 \\ud83d\\ude00 \\n\\"","t":true,"f":false,"n":null}',
    '[]', '{}', '""', '0',
]
# What msgspec refuses and json accepts: these go to json.loads.
REFUSED_BY_MSGSPEC = ['{"x":NaN}', '{"x":-Infinity}', '{"x":1e400}', '"\\ud800"']


@pytest.mark.parametrize("text", SAME + REFUSED_BY_MSGSPEC)
def test_same_values_and_types_as_json(text):
    ours, theirs = jsontext.loads(text), json.loads(text)
    assert repr(ours) == repr(theirs)   # repr: nan != nan, and 1 == 1.0 would hide a type change
    assert type(ours) is type(theirs)


def test_nan_reads_back_as_nan():
    assert math.isnan(jsontext.loads('{"x":NaN}')["x"])


@pytest.mark.parametrize("text", ['{"a":', '{"a":1,}', "nope", ""])
def test_invalid_json_raises_as_json_does(text):
    with pytest.raises(json.JSONDecodeError):
        jsontext.loads(text)


def test_a_stored_object_round_trips():
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"a": "b"}},
           "data": {"k": "ü" * 3}, "n": [1, 2.0, None, True]}
    text = json.dumps(obj, separators=(",", ":"))
    assert jsontext.loads(text) == obj
    assert jsontext.loads(text.encode()) == obj


def test_share_strings_makes_equal_strings_one_and_changes_no_value():
    first = jsontext.loads('{"a":"kube-system","b":["kube-system",{"c":"kube-system"}],"n":1,"t":true}')
    second = jsontext.loads('{"a":"kube-system","b":[]}')
    assert first["a"] is not second["a"]            # the decoder makes a new string for each value
    before = json.dumps([first, second])
    assert jsontext.share_strings(first) is first and jsontext.share_strings(second) is second
    assert json.dumps([first, second]) == before
    assert first["a"] is first["b"][0] is first["b"][1]["c"] is second["a"]
