"""The stored texts read back with msgspec give exactly what json.loads gives, and are written as json.dumps
writes them (clusters/engine/jsontext.py)."""
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


WRITTEN_AS_JSON_DOES = [
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-0", "labels": {"app": "web"}, "uid": "u-1"},
     "spec": {"containers": [{"name": "c", "image": "nginx", "ports": [{"containerPort": 80}]}]},
     "status": {"phase": "Running", "ready": True, "restarts": 0, "none": None}},
    {"ints": [0, -1, 2**63, -(2**64), 10**30], "floats": [0.1, 1.5, -0.0, 1.0, 123456789.125, 0.0001]},
    {"escapes": 'quote " backslash \\ newline \n tab \t nul \x00 esc \x1b del \x7f /slash'},
    {"non-ascii": "café ☃ 😀 \u2028", "ключ": "значение"},            # escaped as json.dumps does
    {"tuple": (1, "two"), "nested": [[{}], [], {"": ""}]},
    {2: "int key", True: "bool key", None: "null key"},               # keys json.dumps turns into strings
    [],
]


@pytest.mark.parametrize("value", WRITTEN_AS_JSON_DOES)
def test_written_as_json_dumps_writes_it(value):
    assert jsontext.dumps(value) == json.dumps(value, separators=(",", ":"))


def test_exponent_floats_are_written_shorter_and_read_back_the_same():
    """The one difference from json.dumps (1e16 for 1e+16), and the values are unchanged."""
    value = {"big": 1e16, "small": 1.25e-07, "max": 1.7976931348623157e308}
    assert jsontext.loads(jsontext.dumps(value)) == value
    assert jsontext.dumps({"big": 1e16}) == '{"big":1e16}'


def test_what_json_dumps_refuses_is_refused():
    with pytest.raises(TypeError):
        jsontext.dumps({"x": object()})
    deep: dict = {}
    for _ in range(100_000):
        deep = {"a": deep}
    with pytest.raises(RecursionError):
        jsontext.dumps(deep)
