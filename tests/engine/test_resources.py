"""Quantities and selectors: upstream semantics and upstream error wording."""
from __future__ import annotations

from fractions import Fraction

import pytest

from clusters.engine.resources import (
    ERR_FORMAT_WRONG,
    ERR_NUMERIC,
    ERR_SUFFIX,
    QuantityError,
    cpu_millis,
    format_quantity,
    is_qualified_name,
    is_valid_label_value,
    match_quantity,
    memory_bytes,
    parse_field_selector,
    parse_label_selector,
    parse_quantity,
    parse_quantity_format,
    round_up,
    selector_from_label_selector,
    selector_from_set,
    unsupported_field,
)
from tests.engine.conftest import collector_held

# ------------------------------------------------------------------ quantities


@pytest.mark.parametrize("text, value", [
    ("500m", Fraction(1, 2)), ("0.5", Fraction(1, 2)), ("1", 1), ("0", 0), ("1Gi", 2**30), ("123Mi", 128974848),
    ("128974848", 128974848), ("129M", 129_000_000), ("1e3", 1000), ("1E3", 1000), ("2k", 2000),
    ("1.5Gi", 3 * 2**29), ("100n", Fraction(1, 10**7)), ("-1", -1), ("+2", 2), ("1.", 1), (".5", Fraction(1, 2)),
    ("1e-3", Fraction(1, 1000)), ("1E", 10**18), ("1Ki", 1024), ("0.0000000001", Fraction(1, 10**9)),
])
def test_parse_quantity(text: str, value: Fraction) -> None:
    assert parse_quantity(text) == value


def test_parse_quantity_numbers() -> None:
    assert parse_quantity(2) == 2
    assert parse_quantity(0.25) == Fraction(1, 4)
    with pytest.raises(ValueError):
        parse_quantity(True)


def test_quantity_format_error_message_is_upstreams() -> None:
    assert ERR_FORMAT_WRONG == ("quantities must match the regular expression "
                                "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")


@pytest.mark.parametrize("text, message", [
    ("", ERR_FORMAT_WRONG), ("abc", ERR_FORMAT_WRONG), ("1Gb", ERR_FORMAT_WRONG), ("1.5.5", ERR_FORMAT_WRONG),
    (" 1", ERR_FORMAT_WRONG), ("1 Gi", ERR_FORMAT_WRONG), ("1K", ERR_SUFFIX), ("1mi", ERR_SUFFIX), ("1e", ERR_SUFFIX),
    (".", ERR_NUMERIC),
])
def test_parse_quantity_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_quantity(text)
    assert str(err.value) == message


def test_cpu_and_memory() -> None:
    assert cpu_millis("250m") == 250 and cpu_millis("1") == 1000 and cpu_millis("0.1") == 100
    assert cpu_millis("1n") == 1  # MilliValue rounds up
    assert cpu_millis(Fraction(3, 2)) == 1500
    assert memory_bytes("64Mi") == 67108864 and memory_bytes("1G") == 10**9 and memory_bytes("500m") == 1


@pytest.mark.parametrize("text, fmt", [("1Gi", "BinarySI"), ("500m", "DecimalSI"), ("1e3", "DecimalExponent"),
                                       ("2", "DecimalSI"), ("1E", "DecimalSI")])
def test_parse_quantity_format(text: str, fmt: str) -> None:
    assert parse_quantity_format(text) == (parse_quantity(text), fmt)


def test_round_up_is_away_from_zero() -> None:
    assert round_up(Fraction(1, 10**10)) == Fraction(1, 10**9)
    assert round_up(Fraction(-1, 10**10)) == Fraction(-1, 10**9)
    assert round_up(Fraction(1, 10**4), 3) == Fraction(1, 1000) and round_up(Fraction(3, 2), 3) == Fraction(3, 2)


def test_match_quantity_reads_the_documented_regexp() -> None:
    assert match_quantity("1.5Gi") == (3 * 2**29, "BinarySI")
    assert match_quantity("0.0000000001") == (Fraction(1, 10**10), "DecimalSI")  # not rounded
    for text, message in [("-", ERR_FORMAT_WRONG), ("Mi", ERR_FORMAT_WRONG), ("1.5.5", ERR_NUMERIC),
                          (".K", ERR_NUMERIC), ("1K", ERR_SUFFIX)]:
        with pytest.raises(QuantityError) as err:
            match_quantity(text)
        assert str(err.value) == message
    with pytest.raises(QuantityError, match="^other$"):
        match_quantity(".", numeric_error="other")


@pytest.mark.parametrize("value, fmt, text", [
    (Fraction(1, 2), "DecimalSI", "500m"), (2**30, "BinarySI", "1Gi"), (3 * 2**29, "BinarySI", "1536Mi"),
    (1000, "BinarySI", "1k"), (1025, "BinarySI", "1025"), (-2048, "BinarySI", "-2Ki"), (0, "BinarySI", "0"),
    (1000, "DecimalExponent", "1e3"), (Fraction(1, 1000), "DecimalExponent", "1e-3"), (10**21, "DecimalSI", "1000E"),
    (10**21, "DecimalExponent", "1e21"), (Fraction(1, 10**10), "DecimalSI", "1n"),
    (Fraction(-3, 2), "DecimalSI", "-1500m"),
])
def test_format_quantity(value: Fraction, fmt: str, text: str) -> None:
    assert format_quantity(Fraction(value), fmt) == text


def test_format_quantity_capped_exponent() -> None:
    assert format_quantity(Fraction(10**21), "DecimalExponent", cap_exponent=True) == "1000e18"


def test_label_key_wordings() -> None:
    long_name = "a" * 64
    assert is_qualified_name(long_name) == ["name part must be no more than 63 characters"]
    assert is_qualified_name(long_name, content=True) == ["name part must be no more than 63 bytes"]
    assert is_qualified_name("a/b/c")[0].startswith("a qualified name must consist of")
    assert "(e.g. 'MyName',  or 'my.name',  or '123-abc', regex" in is_qualified_name("a/b/c")[0]
    assert is_qualified_name("a/b/c", content=True)[0].startswith("a valid label key must consist of")
    assert "(e.g. 'MyName' or 'my.name' or '123-abc', regex" in is_qualified_name("a/b/c", content=True)[0]
    assert is_valid_label_value("é" * 40) != is_valid_label_value("é" * 40, content=True)
    assert is_valid_label_value("é" * 40, content=True)[0] == "must be no more than 63 bytes"


# ------------------------------------------------------------------ label selectors


def test_equality_selectors() -> None:
    labels = {"app": "web", "tier": "front"}
    assert parse_label_selector("app=web").matches(labels)
    assert parse_label_selector("app==web,tier=front").matches(labels)
    assert not parse_label_selector("app=web,tier=back").matches(labels)
    assert parse_label_selector("app!=db").matches(labels)
    assert parse_label_selector("missing!=x").matches(labels)  # != matches when the label is absent
    assert not parse_label_selector("app!=web").matches(labels)
    assert parse_label_selector("app = web").matches(labels)  # whitespace is allowed around tokens


def test_set_based_selectors() -> None:
    labels = {"env": "prod", "app": "web"}
    assert parse_label_selector("env in (prod, staging)").matches(labels)
    assert not parse_label_selector("env in (dev)").matches(labels)
    assert parse_label_selector("env notin (dev)").matches(labels)
    assert parse_label_selector("x notin (dev)").matches(labels)
    assert parse_label_selector("app").matches(labels)
    assert not parse_label_selector("!app").matches(labels)
    assert parse_label_selector("!db,app").matches(labels)
    assert parse_label_selector("env in (in)").matches({"env": "in"})  # keywords are values in a set
    assert parse_label_selector("x in (a,,b)").requirements[0].values == ("", "a", "b")
    assert parse_label_selector("x in ()").matches({"x": ""})


def test_gt_lt() -> None:
    assert parse_label_selector("gen>3").matches({"gen": "4"})
    assert not parse_label_selector("gen>3").matches({"gen": "3"})
    assert parse_label_selector("gen<3").matches({"gen": "-1"})
    assert not parse_label_selector("gen<3").matches({"gen": "x"})
    assert not parse_label_selector("gen<3").matches({})


def test_empty_selector_matches_everything() -> None:
    assert parse_label_selector("").matches({"a": "b"})
    assert parse_label_selector("").matches(None)
    assert parse_label_selector("").empty()


def test_selector_string_form_is_sorted_like_upstream() -> None:
    assert str(parse_label_selector("tier=front, app in (b,a), !x")) == "app in (a,b),tier=front,!x"


VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and "
             "must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "
             "regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")
NAME_MSG = ("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
            "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
            "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")


@pytest.mark.parametrize("text, message", [
    ("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"),
    ("a in b", "unable to parse requirement: found 'b' expected: '('"),
    ("a in (b", "unable to parse requirement: found '', expected: ',' or ')'"),
    ("a,", "found '', expected: identifier after ','"),
    ("a=b=c", "found '=', expected: ',' or 'end of string'"),
    ("=a", "found '=', expected: !, identifier, or 'end of string'"),
    ("a=(b", "unable to parse requirement: found '(', expected: identifier"),
    ("a=-x", f'unable to parse requirement: values[0][a]: Invalid value: "-x": {VALUE_MSG}'),
    ("-a=b", f'unable to parse requirement: <nil>: Invalid value: "-a": {NAME_MSG}'),
    ("a>b", 'unable to parse requirement: values[0]: Invalid value: "b": for \'Gt\', \'Lt\' operators, '
            "the value must be an integer"),
])
def test_label_selector_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_label_selector(text)
    assert str(err.value) == message


def test_prefixed_keys() -> None:
    assert parse_label_selector("app.kubernetes.io/name=web").matches({"app.kubernetes.io/name": "web"})
    with pytest.raises(ValueError, match="prefix part a lowercase RFC 1123 subdomain"):
        parse_label_selector("Bad_Prefix/name=web")


def test_selector_from_label_selector_object() -> None:
    sel = selector_from_label_selector({"matchLabels": {"app": "web"},
                                        "matchExpressions": [{"key": "tier", "operator": "In",
                                                              "values": ["front", "edge"]},
                                                             {"key": "canary", "operator": "DoesNotExist"}]})
    assert sel.matches({"app": "web", "tier": "edge"})
    assert not sel.matches({"app": "web", "tier": "edge", "canary": "1"})
    assert not sel.matches({"app": "web"})
    assert selector_from_label_selector({"matchExpressions": [{"key": "a", "operator": "Exists"}]}).matches({"a": ""})
    assert selector_from_label_selector({"matchExpressions": [{"key": "a", "operator": "NotIn",
                                                               "values": ["x"]}]}).matches({})


def test_nil_and_empty_label_selector_objects() -> None:
    assert not selector_from_label_selector(None).matches({"a": "b"})  # nil: nothing
    assert not selector_from_label_selector(None).matches({})
    assert selector_from_label_selector({}).matches({"a": "b"})  # empty: everything
    assert selector_from_label_selector({"matchLabels": {}, "matchExpressions": []}).matches(None)


def test_label_selector_object_errors() -> None:
    with pytest.raises(ValueError) as err:
        selector_from_label_selector({"matchExpressions": [{"key": "a", "operator": "Equals", "values": ["x"]}]})
    assert str(err.value) == '"Equals" is not a valid label selector operator'
    with pytest.raises(ValueError) as err:
        selector_from_label_selector({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]})
    assert str(err.value) == ("values: Invalid value: []string{}: for 'in', 'notin' operators, "
                              "values set can't be empty")
    with pytest.raises(ValueError) as err:
        selector_from_label_selector({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]})
    assert "values set must be empty for exists and does not exist" in str(err.value)
    with pytest.raises(ValueError) as err:
        selector_from_label_selector({"matchLabels": {"-a": "b"}})
    assert str(err.value) == f'key: Invalid value: "-a": {NAME_MSG}'


def test_selector_from_set() -> None:
    assert selector_from_set({"app": "web"}).matches({"app": "web", "x": "y"})
    assert not selector_from_set({"app": "web"}).matches({"app": "db"})
    assert selector_from_set({}).matches({"anything": "x"})


# ------------------------------------------------------------------ field selectors

POD = {"metadata": {"name": "web-1", "namespace": "default"},
       "spec": {"nodeName": "node-1", "restartPolicy": "Always", "serviceAccountName": "default",
                "schedulerName": "default-scheduler"},
       "status": {"phase": "Running", "podIP": "10.0.0.5", "podIPs": [{"ip": "10.0.0.5"}]}}


def test_field_selector_on_pods() -> None:
    assert parse_field_selector("metadata.name=web-1").matches(POD, "Pod")
    assert parse_field_selector("metadata.name==web-1,metadata.namespace=default").matches(POD, "Pod")
    assert not parse_field_selector("metadata.name=web-2").matches(POD, "Pod")
    sel = parse_field_selector("spec.nodeName=node-1,status.phase!=Succeeded,status.phase!=Failed")
    assert sel.matches(POD, "Pod")
    assert not parse_field_selector("status.phase!=Running").matches(POD, "Pod")
    assert parse_field_selector("status.podIP=10.0.0.5").matches(POD, "Pod")
    assert parse_field_selector("spec.host=node-1").matches(POD, "Pod")  # old name of spec.nodeName
    assert parse_field_selector("spec.hostNetwork=false").matches(POD, "Pod")
    assert parse_field_selector("status.nominatedNodeName=").matches(POD, "Pod")
    assert parse_field_selector("").matches(POD, "Pod") and parse_field_selector("").empty()


def test_field_selector_on_events_and_others() -> None:
    event = {"metadata": {"name": "e1", "namespace": "default"},
             "involvedObject": {"kind": "Pod", "name": "web-1", "namespace": "default", "uid": "u-1"},
             "reason": "Scheduled", "type": "Normal", "source": {"component": "default-scheduler"}}
    sel = parse_field_selector("involvedObject.name=web-1,involvedObject.namespace=default,involvedObject.uid=u-1")
    assert sel.matches(event, "Event")
    assert parse_field_selector("source=default-scheduler,type=Normal,reason=Scheduled").matches(event, "Event")
    secret = {"metadata": {"name": "s", "namespace": "default"}, "type": "kubernetes.io/tls"}
    assert parse_field_selector("type=kubernetes.io/tls").matches(secret, "Secret")
    node = {"metadata": {"name": "n1"}, "spec": {"unschedulable": True}}
    assert parse_field_selector("spec.unschedulable=true").matches(node, "Node")
    assert parse_field_selector("spec.unschedulable=false").matches({"metadata": {"name": "n2"}}, "Node")
    namespace = {"metadata": {"name": "ns"}, "status": {"phase": "Terminating"}}
    assert parse_field_selector("status.phase=Terminating").matches(namespace, "Namespace")
    service = {"metadata": {"name": "svc", "namespace": "default"}, "spec": {"type": "NodePort"}}
    assert parse_field_selector("spec.type=NodePort").matches(service, "Service")
    job = {"metadata": {"name": "j", "namespace": "default"}, "status": {"succeeded": 1}}
    assert parse_field_selector("status.successful=1").matches(job, "Job")


def test_field_selector_escapes() -> None:
    obj = {"metadata": {"name": "a,b=c", "namespace": "default"}}
    sel = parse_field_selector(r"metadata.name=a\,b\=c")
    assert sel.matches(obj, "ConfigMap")
    assert sel.requires("metadata.name") == "a,b=c"
    assert str(sel) == r"metadata.name=a\,b\=c"


@pytest.mark.parametrize("text, message", [
    ("metadata.name", "invalid selector: 'metadata.name'; can't understand 'metadata.name'"),
    ("a=b,c", "invalid selector: 'a=b,c'; can't understand 'c'"),
    (r"a=b\x", r"invalid field selector: invalid escape sequence: \x"),
    ("a=b=c", "invalid field selector: unescaped character in value: 61"),
])
def test_field_selector_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_field_selector(text)
    assert str(err.value) == message


def test_unsupported_fields() -> None:
    assert unsupported_field("Pod", "spec.nodeName") is None
    assert unsupported_field("Pod", "spec.foo") == "field label not supported: spec.foo"
    assert unsupported_field("Node", "metadata.namespace") == "field label not supported: metadata.namespace"
    assert unsupported_field("Event", "involvedObject.fieldPath") is None
    assert unsupported_field("Deployment", "metadata.name") is None
    assert unsupported_field("Deployment", "spec.replicas") == \
        '"spec.replicas" is not a known field selector: only "metadata.name", "metadata.namespace"'
    sel = parse_field_selector("status.phase=Running,spec.bogus=1,metadata.name=x")
    # terms are checked in sorted order, like the server's Transform
    assert sel.unsupported("Pod") == "field label not supported: spec.bogus"
    assert parse_field_selector("metadata.name=x").unsupported("ConfigMap") is None


# ------------------------------------------------------------------ huge exponents (no big-number DoS)
# ParseQuantity (quantity.go) reads an "e" suffix with strconv.ParseInt(…, 10, 64) — ErrSuffix beyond
# int64 — then converts it with int32(), which wraps; "1e9999999" is accepted and kept as written.

@pytest.mark.parametrize("text, canonical", [
    ("1e9999999", "1e9999999"),
    ("1e999999", "1e999999"),
    ("-1e9999999", "-1e9999999"),
    ("10e9999999", "10e9999999"),
    ("1.5e9999999", "1500e9999996"),
    ("1E2147483647", "10e2147483646"),
    ("1e4294967296", "1"),             # int32(2**32) == 0
    ("1e9223372036854775807", "100e-3"),  # int32(int64 max) == -1
    ("0e9999999", "0"),
])
def test_huge_exponents_parse_fast_like_upstream(text: str, canonical: str) -> None:
    import time
    with collector_held():
        started = time.perf_counter()
        value, fmt = parse_quantity_format(text)
        exact, exact_fmt = match_quantity(text)
        took = time.perf_counter() - started
    assert format_quantity(value, fmt) == canonical
    assert format_quantity(exact, exact_fmt) == canonical
    assert took < 0.05


def test_huge_quantities_compare_and_convert_fast() -> None:
    import time
    started = time.perf_counter()
    assert parse_quantity("1e9999999") > parse_quantity("1e300") > parse_quantity("64Gi")
    assert parse_quantity("-1e9999999") < 0
    assert cpu_millis("1e9999999") > 10 ** 100 and memory_bytes("1e9999999") > 10 ** 100
    assert parse_quantity("1e-9999999") == Fraction(1, 10 ** 9)  # rounded up to 1n
    assert cpu_millis("1e-9999999") == 1
    assert parse_quantity("1" + "0" * 5000) > 10 ** 100  # a 5001-digit number, no suffix
    assert time.perf_counter() - started < 0.1


@pytest.mark.parametrize("text", ["1e9223372036854775808", "1e99999999999999999999", "1e-9223372036854775809",
                                  "1e" + "9" * 100_000])
def test_exponent_beyond_int64_is_the_suffix_error(text: str) -> None:
    import time
    started = time.perf_counter()
    for parse in (parse_quantity, match_quantity):
        with pytest.raises(QuantityError) as err:
            parse(text)
        assert str(err.value) == "unable to parse quantity's suffix"
    assert time.perf_counter() - started < 0.1


def test_huge_quantities_keep_their_order() -> None:
    one, two = parse_quantity("1e9999999"), parse_quantity("2e9999999")
    assert one < two and two > one and one == parse_quantity("10e9999998") and one != two
    assert parse_quantity("-2e9999999") < parse_quantity("-1e9999999") < 0 < parse_quantity("1e300") < one
    assert parse_quantity("15e9999999") < parse_quantity("1.6e10000000")
