"""Building blocks of kube-apiserver validation: field errors, names, labels, quantities.

Messages are copied from k8s.io/apimachinery (util/validation, api/validate/content,
util/validation/field) so that kubectl prints exactly what it prints against a real
cluster. Note the mix of "characters" (DNS names, util/validation.MaxLenError) and
"bytes" (label keys/values, api/validate/content.MaxLenError) in max-length
messages: that is how the 1.3x sources read.
"""
from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from fractions import Fraction
from typing import Any

from clusters.engine import resources
from clusters.engine.resources import (  # noqa: F401  (re-exported for the validation modules)
    DNS1123_LABEL_FMT,
    DNS1123_SUBDOMAIN_FMT,
    DNS1123_SUBDOMAIN_RE,
    LABEL_VALUE_FMT,
    QuantityError,
    is_dns1123_subdomain,
    max_len_bytes_error,
    max_len_error,
)

# ---------------------------------------------------------------------------
# field errors (k8s.io/apimachinery/pkg/util/validation/field/errors.go)
# ---------------------------------------------------------------------------


class GoValue(str):
    """A value already rendered the way Go's `%#v`/`String()` would print it (unquoted)."""


def go_quote(value: str) -> str:
    """Go's %q: double-quoted with escapes; printable non-ASCII stays as is."""
    return json.dumps(value, ensure_ascii=False)


def _render(value: Any) -> str:
    if isinstance(value, GoValue):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, (int, float)):
        return str(value)
    return go_repr(value)


class Errors:
    """An ErrorList: each entry is a `details.causes` item in the Status."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def __bool__(self) -> bool:
        return bool(self.items)

    def _add(self, reason: str, field: str, message: str) -> None:
        self.items.append({"reason": reason, "message": message, "field": field})

    def required(self, field: str, detail: str = "") -> None:
        self._add("FieldValueRequired", field, "Required value" + (f": {detail}" if detail else ""))

    def invalid(self, field: str, value: Any, detail: str = "") -> None:
        self._add("FieldValueInvalid", field,
                  f"Invalid value: {_render(value)}" + (f": {detail}" if detail else ""))

    def not_supported(self, field: str, value: Any, supported: list[str]) -> None:
        detail = ("supported values: " + ", ".join(go_quote(s) for s in supported)) if supported else ""
        self._add("FieldValueNotSupported", field,
                  f"Unsupported value: {_render(value)}" + (f": {detail}" if detail else ""))

    def forbidden(self, field: str, detail: str) -> None:
        self._add("FieldValueForbidden", field, "Forbidden" + (f": {detail}" if detail else ""))

    def duplicate(self, field: str, value: Any) -> None:
        self._add("FieldValueDuplicate", field, f"Duplicate value: {_render(value)}")

    def not_found(self, field: str, value: Any, detail: str = "") -> None:
        self._add("FieldValueNotFound", field,
                  f"Not found: {_render(value)}" + (f": {detail}" if detail else ""))

    def too_long(self, field: str, max_length: int) -> None:
        self._add("FieldValueTooLong", field, f"Too long: must have at most {max_length} bytes")

    def invalid_each(self, field: str, value: Any, messages: list[str]) -> None:
        for msg in messages:
            self.invalid(field, value, msg)

    def deduplicated(self) -> list[dict[str, str]]:
        """ErrorList.ToAggregate drops repeated `field: message` pairs from the message."""
        seen: set[tuple[str, str]] = set()
        out = []
        for item in self.items:
            key = (item["field"], item["message"])
            if key not in seen:
                seen.add(key)
                out.append(item)
        return out


# ---------------------------------------------------------------------------
# Go %#v rendering of the few composite values that appear in messages
# ---------------------------------------------------------------------------


def go_string_map(value: dict[str, str] | None) -> str:
    """%#v of map[string]string: keys sorted, as fmt prints maps."""
    if value is None:
        return "map[string]string(nil)"
    inner = ", ".join(f"{go_quote(k)}:{go_quote(str(v))}" for k, v in sorted(value.items()))
    return "map[string]string{" + inner + "}"


def go_string_slice(value: list[str] | None) -> str:
    if value is None:
        return "[]string(nil)"
    return "[]string{" + ", ".join(go_quote(str(v)) for v in value) + "}"


def go_label_selector(sel: dict | None) -> str:
    """%#v of a (dereferenced) metav1.LabelSelector."""
    sel = sel or {}
    labels = go_string_map(sel.get("matchLabels")) if "matchLabels" in sel and sel["matchLabels"] is not None \
        else "map[string]string(nil)"
    exprs = sel.get("matchExpressions")
    if exprs is None:
        rendered = "[]v1.LabelSelectorRequirement(nil)"
    else:
        parts = []
        for e in exprs:
            e = e or {}
            parts.append(
                f'v1.LabelSelectorRequirement{{Key:{go_quote(e.get("key") or "")}, '
                f'Operator:{go_quote(e.get("operator") or "")}, Values:{go_string_slice(e.get("values"))}}}')
        rendered = "[]v1.LabelSelectorRequirement{" + ", ".join(parts) + "}"
    return f"v1.LabelSelector{{MatchLabels:{labels}, MatchExpressions:{rendered}}}"


def go_repr(value: Any) -> str:
    """A best-effort %#v for plain JSON values (used when no typed rendering exists)."""
    if isinstance(value, dict):
        if all(isinstance(v, str) for v in value.values()):
            return go_string_map(value)
        return "map[string]interface {}{" + ", ".join(
            f"{go_quote(k)}:{go_repr(v)}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, list):
        if all(isinstance(v, str) for v in value):
            return go_string_slice(value)
        return "[]interface {}{" + ", ".join(go_repr(v) for v in value) + "}"
    return _render(value)


# ---------------------------------------------------------------------------
# names (util/validation/validation.go, api/validate/content)
# ---------------------------------------------------------------------------

DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_dns1123_label = re.compile("^" + DNS1123_LABEL_FMT + "$")
_dns1035_label = re.compile("^" + DNS1035_LABEL_FMT + "$")


def regex_error(msg: str, fmt: str, *examples: str) -> str:
    return resources.regex_error(msg, fmt, *examples, content=True)


def is_dns1123_label(value: str) -> list[str]:
    errs = []
    if len(value) > 63:
        errs.append(max_len_error(63))
    if not _dns1123_label.match(value):
        if DNS1123_SUBDOMAIN_RE.match(value):
            errs.append("must not contain dots")
        else:
            errs.append(regex_error(
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
                "and must start and end with an alphanumeric character", DNS1123_LABEL_FMT, "my-name", "123-abc"))
    return errs


def is_dns1035_label(value: str) -> list[str]:
    errs = []
    if len(value) > 63:
        errs.append(max_len_error(63))
    if not _dns1035_label.match(value):
        errs.append(regex_error(
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
            "alphabetic character, and end with an alphanumeric character", DNS1035_LABEL_FMT, "my-name", "abc-123"))
    return errs


# Kinds whose names are not DNS-1123 subdomains (pkg/apis/*/validation: ValidateXName).
_NAME_RULES = {"Namespace": is_dns1123_label, "Service": is_dns1035_label}


def name_checker(kind: str):
    return _NAME_RULES.get(kind, is_dns1123_subdomain)


LABEL_KEY_FMT = resources.QUALIFIED_NAME_FMT


def is_qualified_name(value: str) -> list[str]:
    """content.IsLabelKey: [prefix/]name."""
    return resources.is_qualified_name(value, content=True)


def is_label_value(value: str) -> list[str]:
    return resources.is_valid_label_value(value, content=True)


def validate_labels(labels: Any, path: str, errs: Errors) -> None:
    """metav1 validation.ValidateLabels: every key a qualified name, every value a label value."""
    if not isinstance(labels, dict):
        return
    for key, value in labels.items():
        errs.invalid_each(path, key, is_qualified_name(key))
        if isinstance(value, str):
            errs.invalid_each(path, value, is_label_value(value))


TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024


def validate_annotations(annotations: Any, path: str, errs: Errors) -> None:
    if not isinstance(annotations, dict):
        return
    total = 0
    for key, value in annotations.items():
        # The rule is QualifiedName except that case doesn't matter.
        errs.invalid_each(path, key, is_qualified_name(key.lower()))
        total += len(key.encode()) + len(str(value or "").encode())
    if total > TOTAL_ANNOTATION_SIZE_LIMIT:
        errs.too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT)


CONFIG_KEY_FMT = "[-._a-zA-Z0-9]+"
_config_key = re.compile("^" + CONFIG_KEY_FMT + "$")


def is_config_map_key(value: str) -> list[str]:
    errs = []
    if len(value) > 253:
        errs.append(max_len_error(253))
    if not _config_key.match(value):
        errs.append(regex_error("a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
                                CONFIG_KEY_FMT, "key.name", "KEY_NAME", "key-name"))
    if value == ".":
        errs.append("must not be '.'")
    elif value == "..":
        errs.append("must not be '..'")
    elif value.startswith(".."):
        errs.append("must not start with '..'")
    return errs


def is_relaxed_env_var_name(value: str) -> list[str]:
    """RelaxedEnvironmentVariableValidation is GA (on) in 1.3x: printable ASCII except '='."""
    errs = []
    if not value:
        errs.append("environment variable name must be non-empty")
    for ch in value:
        if ord(ch) > 127 or not ch.isprintable() or ch == "=":
            errs.append("a valid environment variable name must consist only of printable ASCII characters "
                        "other than '='")
            break
    return errs


_port_name_charset = re.compile("^[-a-z0-9]+$")
_port_name_letter = re.compile("[a-z]")


def is_valid_port_name(port: str) -> list[str]:
    errs = []
    if len(port) > 15:
        errs.append(max_len_error(15))
    if not _port_name_charset.match(port):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not _port_name_letter.search(port):
        errs.append("must contain at least one letter (a-z)")
    if "--" in port:
        errs.append("must not contain consecutive hyphens")
    if port and (port[0] == "-" or port[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def is_valid_port_num(port: int) -> list[str]:
    return [] if 1 <= port <= 65535 else ["must be between 1 and 65535, inclusive"]


PERCENT_FMT = "[0-9]+%"
_percent = re.compile("^" + PERCENT_FMT + "$")


def is_valid_percent(value: str) -> list[str]:
    if not _percent.match(value):
        return [regex_error("a valid percent string must be a numeric string followed by an ending '%'",
                            PERCENT_FMT, "1%", "93%")]
    return []


# ---------------------------------------------------------------------------
# quantities (k8s.io/apimachinery/pkg/api/resource)
# ---------------------------------------------------------------------------

QUANTITY_FORMAT_ERROR = resources.ERR_FORMAT_WRONG
# This module's wording, kept although upstream's ErrNumeric (resources.ERR_NUMERIC) reads differently.
_NUMERIC_ERROR = "unable to parse quantity's numeric part"


class Quantity:
    """A parsed quantity: exact value plus the format it was written in (for String())."""

    __slots__ = ("value", "binary")

    def __init__(self, value: Fraction, binary: bool) -> None:
        self.value = value
        self.binary = binary

    def __str__(self) -> str:
        return format_quantity(self.value, self.binary)


def parse_quantity(text: Any) -> Quantity:
    """resource.ParseQuantity; numbers (YAML `cpu: 0.5`) are accepted like JSON numbers.

    Read with the documented regexp after stripping white space; the value is
    exact (not rounded to nano) and an exponent ("1e3") counts as DecimalSI."""
    if isinstance(text, bool):
        raise QuantityError(QUANTITY_FORMAT_ERROR)
    if isinstance(text, (int, float)):
        text = repr(text) if isinstance(text, float) else str(text)
    if not isinstance(text, str):
        raise QuantityError(QUANTITY_FORMAT_ERROR)
    value, fmt = resources.match_quantity(text.strip(), numeric_error=_NUMERIC_ERROR)
    return Quantity(value, fmt == resources.BINARY_SI)


def format_quantity(value: Fraction | Decimal, binary: bool) -> str:
    """Quantity.String(): the canonical form ("500m", "1", "2k", "1Gi")."""
    if isinstance(value, resources.SaturatedQuantity):  # "1e9999999": written from its digits, at once
        return resources.format_quantity(value, resources.BINARY_SI if binary else resources.DECIMAL_SI)
    value = Fraction(value)
    sign = "-" if value < 0 else ""
    # Two spellings of this module's own, kept: a whole binary value under 1024 as
    # a plain integer ("1000", not "1k"), and a value finer than nano rounded up to
    # nano and written in n even where a larger suffix would do ("1000000000n").
    if binary and value.denominator == 1 and abs(value) < 1024:
        return str(int(value))
    if (value * 10**9).denominator != 1:
        return f"{sign}{math.ceil(abs(value) * 10**9)}n"
    return resources.format_quantity(value, resources.BINARY_SI if binary else resources.DECIMAL_SI)
