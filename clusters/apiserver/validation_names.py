"""Building blocks of kube-apiserver validation: field errors, names, labels, quantities.

Messages are copied from k8s.io/apimachinery (util/validation, api/validate/content,
util/validation/field) so that kubectl prints exactly what it prints against a real
cluster. Note the mix of "characters" (DNS names, util/validation.MaxLenError) and
"bytes" (label keys/values, api/validate/content.MaxLenError) in max-length
messages: that is how the 1.3x sources read.
"""
from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

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

DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN_FMT = DNS1123_LABEL_FMT + "(\\." + DNS1123_LABEL_FMT + ")*"
DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_dns1123_label = re.compile("^" + DNS1123_LABEL_FMT + "$")
_dns1123_subdomain = re.compile("^" + DNS1123_SUBDOMAIN_FMT + "$")
_dns1035_label = re.compile("^" + DNS1035_LABEL_FMT + "$")


def max_len_error(length: int) -> str:
    return f"must be no more than {length} characters"


def max_len_bytes_error(length: int) -> str:
    return f"must be no more than {length} bytes"


def regex_error(msg: str, fmt: str, *examples: str) -> str:
    if not examples:
        return msg + " (regex used for validation is '" + fmt + "')"
    return msg + " (e.g. " + " or ".join(f"'{e}'" for e in examples) + ", regex used for validation is '" + fmt + "')"


def is_dns1123_label(value: str) -> list[str]:
    errs = []
    if len(value) > 63:
        errs.append(max_len_error(63))
    if not _dns1123_label.match(value):
        if _dns1123_subdomain.match(value):
            errs.append("must not contain dots")
        else:
            errs.append(regex_error(
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
                "and must start and end with an alphanumeric character", DNS1123_LABEL_FMT, "my-name", "123-abc"))
    return errs


def is_dns1123_subdomain(value: str) -> list[str]:
    errs = []
    if len(value) > 253:
        errs.append(max_len_error(253))
    if not _dns1123_subdomain.match(value):
        errs.append(regex_error(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
            "and must start and end with an alphanumeric character", DNS1123_SUBDOMAIN_FMT, "example.com"))
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


LABEL_KEY_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
LABEL_VALUE_FMT = "(" + LABEL_KEY_FMT + ")?"
_label_key = re.compile("^" + LABEL_KEY_FMT + "$")
_label_value = re.compile("^" + LABEL_VALUE_FMT + "$")
_LABEL_KEY_MSG = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"


def is_qualified_name(value: str) -> list[str]:
    """content.IsLabelKey: [prefix/]name."""
    errs: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs.extend("prefix part " + m for m in _dns1123_subdomain_bytes(prefix))
    else:
        return ["a valid label key " + regex_error(_LABEL_KEY_MSG, LABEL_KEY_FMT, "MyName", "my.name", "123-abc")
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part " + max_len_bytes_error(63))
    if not _label_key.match(name):
        errs.append("name part " + regex_error(_LABEL_KEY_MSG, LABEL_KEY_FMT, "MyName", "my.name", "123-abc"))
    return errs


def _dns1123_subdomain_bytes(value: str) -> list[str]:
    # content.IsDNS1123Subdomain, used for label-key prefixes, counts bytes.
    errs = []
    if len(value.encode()) > 253:
        errs.append(max_len_bytes_error(253))
    if not _dns1123_subdomain.match(value):
        errs.append(regex_error(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
            "and must start and end with an alphanumeric character", DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errs


def is_label_value(value: str) -> list[str]:
    errs = []
    if len(value.encode()) > 63:
        errs.append(max_len_bytes_error(63))
    if not _label_value.match(value):
        errs.append(regex_error(
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
            "and must start and end with an alphanumeric character", LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


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
            errs.append("a valid environment variable name must consist only of printable ASCII characters other than '='")
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

QUANTITY_FORMAT_ERROR = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
_quantity_re = re.compile(r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")
_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_SUFFIX = {v: k for k, v in _DECIMAL.items()}


class QuantityError(ValueError):
    pass


class Quantity:
    """A parsed quantity: exact value plus the format it was written in (for String())."""

    __slots__ = ("value", "binary")

    def __init__(self, value: Decimal, binary: bool) -> None:
        self.value = value
        self.binary = binary

    def __str__(self) -> str:
        return format_quantity(self.value, self.binary)


def parse_quantity(text: Any) -> Quantity:
    """resource.ParseQuantity; numbers (YAML `cpu: 0.5`) are accepted like JSON numbers."""
    if isinstance(text, bool):
        raise QuantityError(QUANTITY_FORMAT_ERROR)
    if isinstance(text, (int, float)):
        text = repr(text) if isinstance(text, float) else str(text)
    if not isinstance(text, str):
        raise QuantityError(QUANTITY_FORMAT_ERROR)
    text = text.strip()
    m = _quantity_re.match(text)
    if not m:
        raise QuantityError(QUANTITY_FORMAT_ERROR)
    number, suffix = m.group(1), m.group(2)
    try:
        value = Decimal(number)
    except InvalidOperation:
        raise QuantityError("unable to parse quantity's numeric part") from None
    if suffix in _BINARY:
        return Quantity(value * (Decimal(1024) ** _BINARY[suffix]), True)
    if suffix in _DECIMAL:
        return Quantity(value.scaleb(_DECIMAL[suffix]), False)
    em = re.fullmatch(r"[eE]([-+]?[0-9]+)", suffix)
    if em:
        return Quantity(value.scaleb(int(em.group(1))), False)
    raise QuantityError("unable to parse quantity's suffix")


def format_quantity(value: Decimal, binary: bool) -> str:
    """Quantity.String(): the canonical form ("500m", "1", "2k", "1Gi")."""
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    value = abs(value)
    if binary and value == value.to_integral_value() and value >= 1024:
        n = int(value)
        power = 0
        while power < 6 and n % 1024 == 0:
            n //= 1024
            power += 1
        suffix = {0: ""} | {v: k for k, v in _BINARY.items()}
        return f"{sign}{n}{suffix[power]}"
    if binary and value == value.to_integral_value():
        return f"{sign}{int(value)}"
    # DecimalSI: the largest multiple-of-3 exponent leaving an integer mantissa;
    # below nano the value is rounded up to 1n, as Go's inf.Dec rounding does.
    for exp in range(18, -12, -3):
        mant = value.scaleb(-exp)
        if mant == mant.to_integral_value() and exp >= -9:
            return f"{sign}{int(mant)}{_DECIMAL_SUFFIX[exp]}"
    return f"{sign}{int(value.scaleb(9).to_integral_value(rounding='ROUND_CEILING'))}n"
