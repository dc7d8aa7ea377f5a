"""Quantities, label selectors, field selectors and semantic equality, as Kubernetes defines them.

Pure Python, no project or Django imports: the simulation engine (scheduler,
controllers, kubelet, quota) and the API layer (`?labelSelector=`,
`?fieldSelector=`, update validation) both use it. Behaviour and error wording follow
k8s.io/apimachinery (pkg/api/resource/quantity.go, pkg/labels/selector.go,
pkg/fields/selector.go, pkg/apis/meta/v1/helpers.go, util/validation, pkg/api/equality) and the
field label conversion functions of k8s.io/kubernetes (pkg/apis/core/v1,
pkg/apis/batch/v1), because learners see these messages verbatim.
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

# ====================================================================== quantities

_QUANTITY_RE_TEXT = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
ERR_FORMAT_WRONG = f"quantities must match the regular expression '{_QUANTITY_RE_TEXT}'"
ERR_SUFFIX = "unable to parse quantity's suffix"
ERR_NUMERIC = "unable to parse numeric part of quantity"
# The documented regexp of ERR_FORMAT_WRONG, which the API layer reads quantities with
# (see match_quantity; parse_quantity follows upstream's hand-rolled lexer instead).
QUANTITY_RE = re.compile(_QUANTITY_RE_TEXT)

BINARY_SI, DECIMAL_SI, DECIMAL_EXPONENT = "BinarySI", "DecimalSI", "DecimalExponent"
_BINARY_SUFFIXES = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL_SUFFIXES = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BINARY_SUFFIX_OF = {0: "", **{exp: suffix for suffix, exp in _BINARY_SUFFIXES.items()}}
_DECIMAL_SUFFIX_OF = {exp: suffix for suffix, exp in _DECIMAL_SUFFIXES.items()}
_SUFFIX_CHARS = set("eEinumkKMGTP")


class QuantityError(ValueError):
    """A string that is not a quantity; str() is upstream's message."""


def _split_quantity(text: str) -> tuple[str, str]:
    """upstream parseQuantityString: (number part, suffix) or ValueError(ERR_FORMAT_WRONG).

    Hand-rolled like upstream rather than a regexp, because upstream accepts a
    few things its documented regexp would not (and vice versa for errors)."""
    pos, end = 0, len(text)
    if pos < end and text[0] in "+-":
        pos += 1
    while pos < end and text[pos] == "0":  # leading zeros
        pos += 1
    if pos >= end:
        return text, ""
    while pos < end and text[pos].isdigit() and text[pos].isascii():
        pos += 1
    if pos < end and text[pos] == ".":
        pos += 1
        while pos < end and text[pos].isdigit() and text[pos].isascii():
            pos += 1
    number_end = pos
    while pos < end and text[pos] in _SUFFIX_CHARS:
        pos += 1
    if pos < end and text[pos] in "+-":
        pos += 1
    while pos < end and text[pos].isdigit() and text[pos].isascii():
        pos += 1
    if pos < end:
        raise QuantityError(ERR_FORMAT_WRONG)
    return text[:number_end], text[number_end:]


_INT64_MIN, _INT64_MAX = -(2 ** 63), 2 ** 63 - 1
# Decimal magnitudes beyond ±QUANTITY_MAGNITUDE_BOUND are not multiplied out: 10**9999999 as an exact
# Fraction costs seconds (and printing it, minutes). Such a value is held saturated (see SaturatedQuantity).
QUANTITY_MAGNITUDE_BOUND = 1000


class SaturatedQuantity(Fraction):
    """A quantity too large to hold exactly ("1e9999999"): ±10**QUANTITY_MAGNITUDE_BOUND for arithmetic
    and comparisons, with the exact decimal value kept as text (negative, digits, exponent) so that
    format_quantity still writes what upstream writes. Arithmetic on it yields plain Fractions;
    comparisons between two of them use the exact values (a request of 2e9999999 exceeds a limit of
    1e9999999), and any of them lies beyond every exactly held value."""
    exact: tuple[bool, str, int]

    def _compare(self, other: object, op: str) -> bool:
        if not isinstance(other, SaturatedQuantity):
            return getattr(Fraction, f"__{op}__")(self, other)
        (neg_a, digits_a, exp_a), (neg_b, digits_b, exp_b) = self.exact, other.exact
        if neg_a != neg_b:
            order = -1 if neg_a else 1
        else:
            mag_a, mag_b = len(digits_a) + exp_a, len(digits_b) + exp_b
            if mag_a != mag_b:
                order = 1 if mag_a > mag_b else -1
            else:
                width = max(len(digits_a), len(digits_b))
                x, y = digits_a.ljust(width, "0"), digits_b.ljust(width, "0")
                order = (x > y) - (x < y)
            order = -order if neg_a else order
        return {"lt": order < 0, "le": order <= 0, "gt": order > 0, "ge": order >= 0, "eq": order == 0}[op]

    def __lt__(self, other: object) -> bool:  # type: ignore[override]
        return self._compare(other, "lt")

    def __le__(self, other: object) -> bool:  # type: ignore[override]
        return self._compare(other, "le")

    def __gt__(self, other: object) -> bool:  # type: ignore[override]
        return self._compare(other, "gt")

    def __ge__(self, other: object) -> bool:  # type: ignore[override]
        return self._compare(other, "ge")

    def __eq__(self, other: object) -> bool:  # type: ignore[override]
        return self._compare(other, "eq")

    def __hash__(self) -> int:
        return hash(self.exact)


def _go_exponent(text: str) -> int:
    """strconv.ParseInt(text, 10, 64) then int32(): what quantitySuffixer.interpret makes of "e<text>".

    ValueError when ParseInt fails (not a number, or outside int64); a value outside int32 wraps
    around, as Go's conversion does. O(len(text)): no big-number arithmetic."""
    body = text[1:] if text[:1] in "+-" else text
    if not body or not (body.isascii() and body.isdigit()):
        raise ValueError(text)
    body = body.lstrip("0") or "0"
    if len(body) > 19:
        raise ValueError(text)  # ParseInt: value out of range
    value = -int(body) if text[:1] == "-" else int(body)
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise ValueError(text)
    return (value + 2 ** 31) % 2 ** 32 - 2 ** 31


def _suffix(suffix: str) -> tuple[int, int, str]:
    """quantitySuffixer.interpret: (base, exponent, format) of a suffix, or QuantityError(ERR_SUFFIX)."""
    if suffix in _BINARY_SUFFIXES:
        return 2, _BINARY_SUFFIXES[suffix], BINARY_SI
    if suffix in _DECIMAL_SUFFIXES:
        return 10, _DECIMAL_SUFFIXES[suffix], DECIMAL_SI
    if len(suffix) > 1 and suffix[0] in "eE":  # "e3", "E-2": a decimal exponent
        try:
            return 10, _go_exponent(suffix[1:]), DECIMAL_EXPONENT
        except ValueError:
            pass
    raise QuantityError(ERR_SUFFIX)


def quantity_suffix(suffix: str) -> tuple[Fraction, str]:
    """quantitySuffixer.interpret: (multiplier, format) of a suffix ("Ki", "m", "e3"), or QuantityError(ERR_SUFFIX).

    The multiplier of a huge exponent is saturated like the values (see _scaled)."""
    base, exponent, fmt = _suffix(suffix)
    if base == 2:
        return Fraction(2 ** exponent), fmt
    return _scaled(False, "1", exponent), fmt


def _decimal_parts(number: str) -> tuple[bool, str, int]:
    """'-012.340' → (True, '1234', -2): sign, significant digits (no leading or trailing zeros), and
    the power of ten they are scaled by. '' digits for zero. O(len(number))."""
    negative = number.startswith("-")
    body = number.lstrip("+-")
    whole, _, frac = body.partition(".")
    digits = (whole + frac).lstrip("0")
    exponent = -len(frac)
    stripped = digits.rstrip("0")
    exponent += len(digits) - len(stripped)
    return negative, stripped, exponent


def _scaled(negative: bool, digits: str, exponent: int) -> Fraction:
    """±digits × 10**exponent as a Fraction, saturated beyond ±QUANTITY_MAGNITUDE_BOUND (O(1) then)."""
    if not digits:
        return Fraction(0)
    magnitude = len(digits) + exponent  # the value lies in [10**(magnitude-1), 10**magnitude)
    if magnitude > QUANTITY_MAGNITUDE_BOUND:
        huge = SaturatedQuantity(-(10 ** QUANTITY_MAGNITUDE_BOUND) if negative else 10 ** QUANTITY_MAGNITUDE_BOUND)
        huge.exact = (negative, digits, exponent)
        return huge
    if magnitude < -QUANTITY_MAGNITUDE_BOUND:
        # Far below a nano: every reader rounds it up (away from zero) to the smallest unit anyway.
        return Fraction(-1 if negative else 1, 10 ** (QUANTITY_MAGNITUDE_BOUND + 9))
    value = int(digits) * Fraction(10) ** exponent
    return -value if negative else value


def _quantity_value(number: str, base: int, exponent: int) -> Fraction:
    negative, digits, scale = _decimal_parts(number)
    if base == 2:
        value = _scaled(negative, digits, scale)
        return value if isinstance(value, SaturatedQuantity) else value * 2 ** exponent
    return _scaled(negative, digits, scale + exponent)


def round_up(value: Fraction, digits: int = 9) -> Fraction:
    """Round away from zero to 10**-digits, as inf.Dec RoundUp does (9: nano, a Quantity's finest scale)."""
    if isinstance(value, SaturatedQuantity) or value.denominator == 1:
        return value
    scaled = value * 10 ** digits
    if scaled.denominator == 1:
        return value
    whole = math.ceil(abs(scaled))
    return Fraction(whole if value > 0 else -whole, 10 ** digits)


def parse_quantity_format(text: str) -> tuple[Fraction, str]:
    """resource.ParseQuantity: (value, format) of a quantity string, the value rounded up to nano.

    Raises QuantityError (a ValueError) with upstream's message."""
    if not isinstance(text, str) or not text:
        raise QuantityError(ERR_FORMAT_WRONG)
    number, suffix = _split_quantity(text)
    base, exponent, fmt = _suffix(suffix)
    digits = number.lstrip("+-")
    if digits == ".":  # a lone point has no numeric part (upstream: inf.Dec refuses it)
        raise QuantityError(ERR_NUMERIC)
    # "-" and "+" alone read as 0, as upstream
    return round_up(_quantity_value(number, base, exponent)), fmt


def match_quantity(text: str, numeric_error: str = ERR_NUMERIC) -> tuple[Fraction, str]:
    """(exact value, format) of a quantity read with the documented regexp (QUANTITY_RE), not rounded.

    Stricter than parse_quantity_format: the number part needs a digit ("-" and
    "Mi" are refused) and the checks come in the order format, number, suffix.
    Raises QuantityError: ERR_FORMAT_WRONG, `numeric_error` or ERR_SUFFIX."""
    match = QUANTITY_RE.match(text)
    if not match:
        raise QuantityError(ERR_FORMAT_WRONG)
    number, suffix = match.groups()
    if not re.fullmatch(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)", number):
        raise QuantityError(numeric_error)  # what Fraction() (inf.Dec SetString upstream) refuses: "1.2.3", "."
    base, exponent, fmt = _suffix(suffix)
    return _quantity_value(number, base, exponent), fmt


def parse_quantity(value: str | int | float | Fraction) -> Fraction:
    """A resource.Quantity ("500m", "1Gi", "0.5", "1e3", "2k", "129M") as an exact Fraction.

    JSON numbers are accepted as the server does (it parses their text). Like
    upstream, non-zero values finer than 1n are rounded up (away from zero) to 1n:
    asking for some resource gets you some resource."""
    if isinstance(value, bool):
        raise QuantityError(ERR_FORMAT_WRONG)
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise QuantityError(ERR_FORMAT_WRONG)
        value = repr(value)
    return parse_quantity_format(value)[0]


def format_quantity(value: Fraction, fmt: str, *, cap_exponent: bool = False) -> str:
    """Quantity.String() (CanonicalizeBytes): the canonical spelling of `value` in format `fmt`.

    A whole BinarySI value of magnitude 1024 or more takes the largest binary
    suffix that keeps the mantissa whole ("1Gi", "1536Mi"). Anything else is
    rounded up to nano (away from zero) and written with the largest exponent,
    a multiple of 3, that keeps the mantissa whole: "500m", "2k", "1e-3"
    (DecimalExponent), at most 18 ("1000E") except in DecimalExponent unless
    `cap_exponent` (how the table printer has always written "1e21": "1000e18")."""
    if isinstance(value, SaturatedQuantity):
        return _format_saturated(value, fmt)
    if fmt == BINARY_SI and value.denominator == 1 and abs(value) >= 1024:
        mantissa, exponent = int(value), 0
        while mantissa % 1024 == 0 and exponent < 60:
            mantissa //= 1024
            exponent += 10
        return f"{mantissa}{_BINARY_SUFFIX_OF[exponent]}"
    value = round_up(value)
    if value == 0:
        return "0"
    mantissa, exponent = int(value * 10**9), -9
    uncapped = fmt == DECIMAL_EXPONENT and not cap_exponent
    while mantissa % 1000 == 0 and (exponent < 18 or uncapped):
        mantissa //= 1000
        exponent += 3
    if fmt == DECIMAL_EXPONENT:
        return f"{mantissa}e{exponent}" if exponent else f"{mantissa}"
    return f"{mantissa}{_DECIMAL_SUFFIX_OF[exponent]}"


def _format_saturated(value: SaturatedQuantity, fmt: str) -> str:
    """format_quantity of a value too large to multiply out, from its digits (O(len(digits)))."""
    negative, digits, exponent = value.exact
    sign = "-" if negative else ""
    if fmt == BINARY_SI:
        # ParseQuantity caps a BinarySI amount at maxAllowed (int64 max): "9223372036854775807".
        return f"{sign}{_INT64_MAX}"
    shift = exponent % 3  # the exponent is written as a multiple of 3, the mantissa whole
    mantissa, exponent = digits + "0" * shift, exponent - shift
    if fmt == DECIMAL_SI and exponent - 18 <= QUANTITY_MAGNITUDE_BOUND:
        return f"{sign}{mantissa}{'0' * (exponent - 18)}E"
    # DecimalExponent, or a DecimalSI value beyond its largest suffix: upstream falls back to "e<exponent>".
    return f"{sign}{mantissa}e{exponent}"


def cpu_millis(q: str | int | float | Fraction) -> int:
    """CPU in millicores, rounded up like Quantity.MilliValue ("100m" → 100, "0.5" → 500, "1n" → 1)."""
    return math.ceil(parse_quantity(q) * 1000)


def memory_bytes(q: str | int | float | Fraction) -> int:
    """Bytes, rounded up like Quantity.Value ("1Gi" → 1073741824, "129M" → 129000000)."""
    return math.ceil(parse_quantity(q))


# ====================================================================== validation messages
# k8s.io/apimachinery/pkg/util/validation, as the selector parser reports them, and
# api/validate/content, whose wording the apiserver's object validation uses
# (`content=True`: lengths in bytes, examples joined plainly, "a valid label key").

QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QNAME_RE = re.compile(f"^{QUALIFIED_NAME_FMT}$")
_QNAME_MSG = ("must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
              "alphanumeric character")
LABEL_VALUE_FMT = f"({QUALIFIED_NAME_FMT})?"
_LABEL_VALUE_RE = re.compile(f"^{LABEL_VALUE_FMT}$")
_LABEL_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
                    "and must start and end with an alphanumeric character")
DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN_FMT = DNS1123_LABEL_FMT + "(\\." + DNS1123_LABEL_FMT + ")*"
DNS1123_SUBDOMAIN_RE = re.compile(f"^{DNS1123_SUBDOMAIN_FMT}$")
_DNS1123_SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
                          "'.', and must start and end with an alphanumeric character")


def regex_error(msg: str, fmt: str, *examples: str, content: bool = False) -> str:
    """RegexError. util/validation's follows each example with ", " (hence its double spaces:
    "'MyName',  or 'my.name'"); api/validate/content's (`content=True`) joins them with " or "."""
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    if content:
        shown = " or ".join(f"'{example}'" for example in examples) + ", "
    else:
        shown = " or ".join(f"'{example}', " for example in examples)
    return f"{msg} (e.g. {shown}regex used for validation is '{fmt}')"


def max_len_error(length: int) -> str:
    return f"must be no more than {length} characters"


def max_len_bytes_error(length: int) -> str:
    return f"must be no more than {length} bytes"


def _too_long(value: str, length: int, content: bool) -> list[str]:
    """util/validation counts characters, api/validate/content bytes."""
    if content:
        return [max_len_bytes_error(length)] if len(value.encode()) > length else []
    return [max_len_error(length)] if len(value) > length else []


def is_dns1123_subdomain(value: str, *, content: bool = False) -> list[str]:
    errs = _too_long(value, 253, content)
    if not DNS1123_SUBDOMAIN_RE.match(value):
        errs.append(regex_error(_DNS1123_SUBDOMAIN_MSG, DNS1123_SUBDOMAIN_FMT, "example.com", content=content))
    return errs


def is_qualified_name(value: str, *, content: bool = False) -> list[str]:
    """validation.IsQualifiedName: label/annotation keys, `[prefix/]name`
    (`content=True`: content.IsLabelKey, whose name part is still measured in characters)."""
    errs: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs.extend("prefix part " + m for m in is_dns1123_subdomain(prefix, content=content))
    else:
        return [("a valid label key " if content else "a qualified name ")
                + regex_error(_QNAME_MSG, QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc", content=content)
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part " + (max_len_bytes_error(63) if content else max_len_error(63)))
    if not _QNAME_RE.match(name):
        errs.append("name part " + regex_error(_QNAME_MSG, QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc",
                                               content=content))
    return errs


def is_valid_label_value(value: str, *, content: bool = False) -> list[str]:
    errs = _too_long(value, 63, content)
    if not _LABEL_VALUE_RE.match(value):
        errs.append(regex_error(_LABEL_VALUE_MSG, LABEL_VALUE_FMT, "MyValue", "my_value", "12345", content=content))
    return errs


def _go_quote(value: str) -> str:
    """Go's %q for the plain strings selectors carry."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _go_string_slice(values: Iterable[str]) -> str:
    """Go's %#v of a []string: `[]string{"a", "b"}`."""
    return "[]string{" + ", ".join(_go_quote(v) for v in values) + "}"


def _field_invalid(path: str, bad_value: str, detail: str) -> str:
    return f"{path}: Invalid value: {bad_value}: {detail}"


def _aggregate(errors: list[str]) -> str | None:
    """utilerrors.Aggregate.Error(): one message as is, several deduplicated in brackets."""
    unique = list(dict.fromkeys(errors))
    if not unique:
        return None
    if len(unique) == 1:
        return unique[0]
    return "[" + ", ".join(unique) + "]"


# ====================================================================== label selectors

IN, NOT_IN, EQUALS, DOUBLE_EQUALS, NOT_EQUALS = "in", "notin", "=", "==", "!="
EXISTS, DOES_NOT_EXIST, GREATER_THAN, LESS_THAN = "exists", "!", "gt", "lt"
_INT64_RE = re.compile(r"[+-]?[0-9]+")  # what strconv.ParseInt(v, 10, 64) accepts (range aside)
_BINARY_OPERATORS = (IN, NOT_IN, EQUALS, DOUBLE_EQUALS, NOT_EQUALS, GREATER_THAN, LESS_THAN)


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str
    values: tuple[str, ...] = ()  # sorted and unique, like upstream's sets.String

    def matches(self, labels: dict[str, str]) -> bool:
        op = self.operator
        if op in (IN, EQUALS, DOUBLE_EQUALS):
            return self.key in labels and labels[self.key] in self.values
        if op in (NOT_IN, NOT_EQUALS):
            return self.key not in labels or labels[self.key] not in self.values
        if op == EXISTS:
            return self.key in labels
        if op == DOES_NOT_EXIST:
            return self.key not in labels
        if op in (GREATER_THAN, LESS_THAN):
            if self.key not in labels:
                return False
            have, want = labels[self.key], self.values[0] if len(self.values) == 1 else ""
            if not (_INT64_RE.fullmatch(have) and _INT64_RE.fullmatch(want)):
                return False  # upstream: a label that is not an integer never matches Gt/Lt
            have, want = int(have), int(want)
            return have > want if op == GREATER_THAN else have < want
        return False

    def __str__(self) -> str:
        if self.operator == DOES_NOT_EXIST:
            return "!" + self.key
        if self.operator == EXISTS:
            return self.key
        if self.operator in (IN, NOT_IN):
            return f"{self.key} {self.operator} ({','.join(self.values)})"
        symbol = {GREATER_THAN: ">", LESS_THAN: "<"}.get(self.operator, self.operator)
        return f"{self.key}{symbol}{self.values[0] if self.values else ''}"


def new_requirement(key: str, operator: str, values: Iterable[str], path: str | None = None) -> Requirement:
    """labels.NewRequirement: validates like upstream and raises ValueError with its message.

    `path` is the field path prefix (None in the string parser, so errors read
    `key: …`/`values[0][app]: …`)."""
    vals = list(values)
    errors: list[str] = []
    prefix = f"{path}." if path else ""
    key_errs = is_qualified_name(key)
    if key_errs:
        errors.append(_field_invalid(prefix + "key", _go_quote(key), "; ".join(key_errs)))
    values_path = prefix + "values"
    if operator in (IN, NOT_IN):
        if not vals:
            errors.append(_field_invalid(values_path, _go_string_slice(vals),
                                         "for 'in', 'notin' operators, values set can't be empty"))
    elif operator in (EQUALS, DOUBLE_EQUALS, NOT_EQUALS):
        if len(vals) != 1:
            errors.append(_field_invalid(values_path, _go_string_slice(vals),
                                         "exact-match compatibility requires one single value"))
    elif operator in (EXISTS, DOES_NOT_EXIST):
        if vals:
            errors.append(_field_invalid(values_path, _go_string_slice(vals),
                                         "values set must be empty for exists and does not exist"))
    elif operator in (GREATER_THAN, LESS_THAN):
        if len(vals) != 1:
            errors.append(_field_invalid(values_path, _go_string_slice(vals),
                                         "for 'Gt', 'Lt' operators, exactly one value is required"))
        for i, v in enumerate(vals):
            if not _INT64_RE.fullmatch(v):
                errors.append(_field_invalid(f"{values_path}[{i}]", _go_quote(v),
                                             "for 'Gt', 'Lt' operators, the value must be an integer"))
    else:
        supported = ", ".join(_go_quote(o) for o in (DOES_NOT_EXIST, DOUBLE_EQUALS, EQUALS, EXISTS, GREATER_THAN,
                                                      IN, LESS_THAN, NOT_EQUALS, NOT_IN))
        errors.append(f"{prefix}operator: Unsupported value: {_go_quote(operator)}: supported values: {supported}")
    for i, v in enumerate(vals):
        value_errs = is_valid_label_value(v)
        if value_errs:
            errors.append(_field_invalid(f"{values_path}[{i}][{key}]", _go_quote(v), "; ".join(value_errs)))
    message = _aggregate(errors)
    if message:
        raise ValueError(message)
    return Requirement(key, operator, tuple(sorted(set(vals))))


@dataclass(frozen=True)
class Selector:
    """A label selector. `nothing=True` is upstream's labels.Nothing() (a nil LabelSelector)."""
    requirements: tuple[Requirement, ...] = ()
    nothing: bool = False

    def matches(self, labels: dict[str, str] | None) -> bool:
        if self.nothing:
            return False
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    def empty(self) -> bool:
        """Selects everything (upstream Selector.Empty)."""
        return not self.nothing and not self.requirements

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


EVERYTHING = Selector()
NOTHING = Selector(nothing=True)

# --- the string parser (labels.Parse), token for token like upstream's lexer

_T_ERROR, _T_EOS, _T_CLOSE, _T_COMMA, _T_NOT, _T_DEQ, _T_EQ, _T_GT, _T_ID, _T_IN, _T_LT, _T_NEQ, _T_NOTIN, \
    _T_OPEN = range(14)
_STRING_TO_TOKEN = {")": _T_CLOSE, ",": _T_COMMA, "!": _T_NOT, "==": _T_DEQ, "=": _T_EQ, ">": _T_GT,
                    "in": _T_IN, "<": _T_LT, "!=": _T_NEQ, "notin": _T_NOTIN, "(": _T_OPEN}
_SPECIAL = set("=!(),><")
_WHITESPACE = set(" \t\r\n")


def _lex(text: str) -> list[tuple[int, str]]:
    items: list[tuple[int, str]] = []
    pos, end = 0, len(text)
    while True:
        while pos < end and text[pos] in _WHITESPACE:
            pos += 1
        if pos >= end or text[pos] == "\0":
            items.append((_T_EOS, ""))
            return items
        if text[pos] in _SPECIAL:
            buffer, last = "", None
            while pos < end and text[pos] in _SPECIAL:
                candidate = buffer + text[pos]
                if candidate in _STRING_TO_TOKEN:
                    buffer, last = candidate, (_STRING_TO_TOKEN[candidate], candidate)
                    pos += 1
                elif last is not None:
                    break
                else:
                    buffer = candidate
                    pos += 1
            items.append(last if last else (_T_ERROR, f"error expected: keyword found '{buffer}'"))
        else:
            start = pos
            while pos < end and text[pos] not in _SPECIAL and text[pos] not in _WHITESPACE and text[pos] != "\0":
                pos += 1
            word = text[start:pos]
            # Only the keywords "in"/"notin" are words with a token of their own.
            items.append((_STRING_TO_TOKEN[word], word) if word in ("in", "notin") else (_T_ID, word))


class _Parser:
    def __init__(self, text: str) -> None:
        self.items = _lex(text)
        self.position = 0

    def lookahead(self, values_context: bool = True) -> tuple[int, str]:
        tok, lit = self.items[self.position]
        if values_context and tok in (_T_IN, _T_NOTIN):
            tok = _T_ID  # "in"/"notin" are plain words where a value is expected
        return tok, lit

    def consume(self, values_context: bool = True) -> tuple[int, str]:
        tok, lit = self.lookahead(values_context)
        self.position += 1
        return tok, lit

    def parse(self) -> list[Requirement]:
        requirements: list[Requirement] = []
        while True:
            tok, lit = self.lookahead()
            if tok in (_T_ID, _T_NOT):
                try:
                    requirements.append(self.parse_requirement())
                except ValueError as err:
                    raise ValueError(f"unable to parse requirement: {err}") from None
                t, lit2 = self.consume()
                if t == _T_EOS:
                    return requirements
                if t == _T_COMMA:
                    t2, l2 = self.lookahead()
                    if t2 not in (_T_ID, _T_NOT):
                        raise ValueError(f"found '{l2}', expected: identifier after ','")
                else:
                    raise ValueError(f"found '{lit2}', expected: ',' or 'end of string'")
            elif tok == _T_EOS:
                return requirements
            else:
                raise ValueError(f"found '{lit}', expected: !, identifier, or 'end of string'")

    def parse_requirement(self) -> Requirement:
        key, operator = self.parse_key_and_infer_operator()
        if operator in (EXISTS, DOES_NOT_EXIST):
            return new_requirement(key, operator, [])
        operator = self.parse_operator()
        if operator in (IN, NOT_IN):
            values = self.parse_values()
        else:
            values = self.parse_exact_value()
        return new_requirement(key, operator, sorted(values))

    def parse_key_and_infer_operator(self) -> tuple[str, str]:
        operator = ""
        tok, literal = self.consume()
        if tok == _T_NOT:
            operator = DOES_NOT_EXIST
            tok, literal = self.consume()
        if tok != _T_ID:
            raise ValueError(f"found '{literal}', expected: identifier")
        key_errs = is_qualified_name(literal)
        if key_errs:
            # The parser validates the key with a nil field path: Go prints it as <nil>.
            raise ValueError(_field_invalid("<nil>", _go_quote(literal), "; ".join(key_errs)))
        if self.lookahead()[0] in (_T_EOS, _T_COMMA) and operator != DOES_NOT_EXIST:
            operator = EXISTS
        return literal, operator

    def parse_operator(self) -> str:
        tok, lit = self.consume(values_context=False)
        found = {_T_IN: IN, _T_EQ: EQUALS, _T_DEQ: DOUBLE_EQUALS, _T_GT: GREATER_THAN, _T_LT: LESS_THAN,
                 _T_NOTIN: NOT_IN, _T_NEQ: NOT_EQUALS}.get(tok)
        if found is None:
            raise ValueError(f"found '{lit}', expected: {', '.join(_BINARY_OPERATORS)}")
        return found

    def parse_values(self) -> set[str]:
        tok, lit = self.consume()
        if tok != _T_OPEN:
            raise ValueError(f"found '{lit}' expected: '('")
        tok, lit = self.lookahead()
        if tok in (_T_ID, _T_COMMA):
            values = self.parse_identifiers_list()
            if self.consume()[0] != _T_CLOSE:
                raise ValueError(f"found '{lit}', expected: ')'")
            return values
        if tok == _T_CLOSE:  # "()": one empty value
            self.consume()
            return {""}
        raise ValueError(f"found '{lit}', expected: ',', ')' or identifier")

    def parse_identifiers_list(self) -> set[str]:
        values: set[str] = set()
        while True:
            tok, lit = self.consume()
            if tok == _T_ID:
                values.add(lit)
                tok2, lit2 = self.lookahead()
                if tok2 == _T_COMMA:
                    continue
                if tok2 == _T_CLOSE:
                    return values
                raise ValueError(f"found '{lit2}', expected: ',' or ')'")
            if tok == _T_COMMA:  # "(,", ",)" and ",," stand for empty values
                if not values:
                    values.add("")
                tok2, _ = self.lookahead()
                if tok2 == _T_CLOSE:
                    values.add("")
                    return values
                if tok2 == _T_COMMA:
                    self.consume()
                    values.add("")
                continue
            raise ValueError(f"found '{lit}', expected: ',', or identifier")

    def parse_exact_value(self) -> set[str]:
        tok, _ = self.lookahead()
        if tok in (_T_EOS, _T_COMMA):
            return {""}
        tok, lit = self.consume()
        if tok == _T_ID:
            return {lit}
        raise ValueError(f"found '{lit}', expected: identifier")


def parse_label_selector(text: str | None) -> Selector:
    """`?labelSelector=` / `kubectl -l`: labels.Parse. Raises ValueError with upstream's message
    (the API answers it as 400 BadRequest). An empty string selects everything."""
    requirements = _Parser(text or "").parse()
    return Selector(tuple(sorted(requirements, key=lambda r: r.key)))


def selector_from_label_selector(obj: dict[str, Any] | None) -> Selector:
    """metav1.LabelSelectorAsSelector for a LabelSelector object (`spec.selector`).

    None (a nil selector) matches nothing; `{}` (no matchLabels/matchExpressions)
    matches everything, as upstream. Raises ValueError on invalid content."""
    if obj is None:
        return NOTHING
    match_labels = obj.get("matchLabels") or {}
    match_expressions = obj.get("matchExpressions") or []
    if not match_labels and not match_expressions:
        return EVERYTHING
    requirements: list[Requirement] = []
    for key, value in match_labels.items():
        requirements.append(new_requirement(key, EQUALS, [value]))
    operators = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST}
    for expr in match_expressions:
        op = operators.get(expr.get("operator"))
        if op is None:
            raise ValueError(f"{_go_quote(str(expr.get('operator') or ''))} is not a valid label selector operator")
        requirements.append(new_requirement(expr.get("key", ""), op, list(expr.get("values") or [])))
    return Selector(tuple(sorted(requirements, key=lambda r: r.key)))


def selector_from_set(labels: dict[str, str] | None) -> Selector:
    """labels.SelectorFromSet (a Service's or ReplicationController's `spec.selector` map).
    Nil or empty selects everything (callers that need "nil matches nothing" check first)."""
    if not labels:
        return EVERYTHING
    return Selector(tuple(Requirement(k, EQUALS, (v,)) for k, v in sorted(labels.items())))


# ====================================================================== field selectors


@dataclass(frozen=True)
class FieldTerm:
    field: str
    value: str
    negated: bool = False  # "!="

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")
        return f"{self.field}{'!=' if self.negated else '='}{escaped}"


def _split_terms(text: str) -> list[str]:
    if not text:
        return []
    terms, start, in_slash = [], 0, False
    for i, c in enumerate(text):
        if in_slash:
            in_slash = False
        elif c == "\\":
            in_slash = True
        elif c == ",":
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return terms


def _split_term(term: str) -> tuple[str, str, str] | None:
    for i in range(len(term)):
        for op in ("!=", "==", "="):
            if term.startswith(op, i):
                return term[:i], op, term[i + len(op):]
    return None


def _unescape_value(value: str) -> str:
    if not any(c in value for c in "\\,="):
        return value
    out, in_slash = [], False
    for c in value:
        if in_slash:
            if c in "\\,=":
                out.append(c)
            else:
                raise ValueError(f"invalid field selector: invalid escape sequence: \\{c}")
            in_slash = False
            continue
        if c == "\\":
            in_slash = True
        elif c in ",=":
            # Go prints the rune with %v: its code point.
            raise ValueError(f"invalid field selector: unescaped character in value: {ord(c)}")
        else:
            out.append(c)
    if in_slash:
        raise ValueError("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


# Field labels each kind accepts (the apiserver's field label conversion funcs).
# Kinds not listed use runtime.DefaultMetaV1FieldSelectorConversion.
_POD_FIELDS = ("metadata.name", "metadata.namespace", "spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
               "spec.serviceAccountName", "spec.hostNetwork", "status.phase", "status.podIP", "status.podIPs",
               "status.nominatedNodeName")
SUPPORTED_FIELDS: dict[str, tuple[str, ...]] = {
    "Pod": _POD_FIELDS + ("spec.host",),  # spec.host: old clients' name for spec.nodeName
    "Node": ("metadata.name", "spec.unschedulable"),
    "ReplicationController": ("metadata.name", "metadata.namespace", "status.replicas"),
    "Event": ("involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
              "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
              "reportingComponent", "source", "type", "metadata.namespace", "metadata.name"),
    "Namespace": ("status.phase", "metadata.name"),
    "Secret": ("type", "metadata.namespace", "metadata.name"),
    "Service": ("metadata.namespace", "metadata.name", "spec.clusterIP", "spec.type"),
    "Job": ("metadata.name", "metadata.namespace", "status.successful"),
}
_DEFAULT_FIELDS = ("metadata.name", "metadata.namespace")
_RENAMED = {("Pod", "spec.host"): "spec.nodeName"}


def unsupported_field(kind: str, field_label: str) -> str | None:
    """The apiserver's error for a field label `kind` cannot select on (400 BadRequest), or None."""
    if kind in SUPPORTED_FIELDS:
        if field_label in SUPPORTED_FIELDS[kind]:
            return None
        return f"field label not supported: {field_label}"
    if field_label in _DEFAULT_FIELDS:
        return None
    return f'"{field_label}" is not a known field selector: only "metadata.name", "metadata.namespace"'


def _get(obj: dict[str, Any], *path: str) -> Any:
    node: Any = obj
    for part in path:
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _s(value: Any) -> str:
    return "" if value is None else str(value)


def _int_text(value: Any) -> str:
    return str(int(value or 0))


def _bool_text(value: Any) -> str:
    return "true" if value else "false"


def selectable_fields(obj: dict[str, Any], kind: str) -> dict[str, str]:
    """The fields.Set the real registry builds for an object (its ToSelectableFields/GetAttrs)."""
    meta = obj.get("metadata") or {}
    # Cluster-scoped kinds have no metadata.namespace field; reading it gives "" either way.
    fields_set: dict[str, str] = {"metadata.name": _s(meta.get("name")),
                                  "metadata.namespace": _s(meta.get("namespace"))}
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if kind == "Pod":
        pod_ips = status.get("podIPs") or []
        pod_ip = _s(pod_ips[0].get("ip")) if pod_ips and isinstance(pod_ips[0], dict) else _s(status.get("podIP"))
        fields_set.update({
            "spec.nodeName": _s(spec.get("nodeName")),
            "spec.restartPolicy": _s(spec.get("restartPolicy")),
            "spec.schedulerName": _s(spec.get("schedulerName")),
            "spec.serviceAccountName": _s(spec.get("serviceAccountName")),
            "spec.hostNetwork": _bool_text(spec.get("hostNetwork")),
            "status.phase": _s(status.get("phase")),
            "status.podIP": pod_ip,
            "status.nominatedNodeName": _s(status.get("nominatedNodeName")),
        })
    elif kind == "Node":
        fields_set["spec.unschedulable"] = _bool_text(spec.get("unschedulable"))
    elif kind == "ReplicationController":
        fields_set["status.replicas"] = _int_text(status.get("replicas"))
    elif kind == "Event":
        involved = obj.get("involvedObject") or {}
        source = _s(_get(obj, "source", "component")) or _s(obj.get("reportingComponent"))
        fields_set.update({f"involvedObject.{k}": _s(involved.get(k)) for k in
                           ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")})
        fields_set.update({"reason": _s(obj.get("reason")), "reportingComponent": _s(obj.get("reportingComponent")),
                           "source": source, "type": _s(obj.get("type"))})
    elif kind == "Namespace":
        fields_set["status.phase"] = _s(status.get("phase"))
    elif kind == "Secret":
        fields_set["type"] = _s(obj.get("type"))
    elif kind == "Service":
        fields_set["spec.clusterIP"] = _s(spec.get("clusterIP"))
        fields_set["spec.type"] = _s(spec.get("type"))
    elif kind == "Job":
        fields_set["status.successful"] = _int_text(status.get("succeeded"))
    return fields_set


@dataclass(frozen=True)
class FieldSelector:
    terms: tuple[FieldTerm, ...] = field(default_factory=tuple)

    def unsupported(self, kind: str) -> str | None:
        """The first term `kind` does not support, as the server reports it (terms in sorted order)."""
        for term in self.terms:
            message = unsupported_field(kind, term.field)
            if message:
                return message
        return None

    def matches(self, obj: dict[str, Any], kind: str) -> bool:
        """Whether `obj` (a JSON object of `kind`) satisfies every term. A field the
        kind does not expose reads as "" (upstream fields.Set.Get)."""
        available = selectable_fields(obj, kind)
        for term in self.terms:
            name = _RENAMED.get((kind, term.field), term.field)
            equal = available.get(name, "") == term.value
            if equal == term.negated:
                return False
        return True

    def requires(self, field_label: str) -> str | None:
        """The value an `=` term pins `field_label` to (fields.Selector.RequiresExactMatch)."""
        for term in self.terms:
            if term.field == field_label and not term.negated:
                return term.value
        return None

    def empty(self) -> bool:
        return not self.terms

    def __str__(self) -> str:
        return ",".join(str(t) for t in self.terms)


def parse_field_selector(text: str | None) -> FieldSelector:
    """`?fieldSelector=` / `kubectl --field-selector`: fields.ParseSelector
    (`=`, `==`, `!=`, comma = AND, backslash escapes). Raises ValueError with upstream's message."""
    text = text or ""
    terms: list[FieldTerm] = []
    for part in sorted(_split_terms(text)):
        if not part:
            continue
        split = _split_term(part)
        if split is None:
            raise ValueError(f"invalid selector: '{text}'; can't understand '{part}'")
        lhs, op, rhs = split
        terms.append(FieldTerm(lhs, _unescape_value(rhs), negated=(op == "!=")))
    return FieldSelector(tuple(terms))


# ====================================================================== semantic equality

def normalized(value: Any) -> Any:
    """A JSON value as apiequality.Semantic compares it: a nil and an empty map or slice are the same,
    so both are dropped. Two objects are semantically equal when their normalized forms are equal
    (immutable-field checks on update, pod-template-hash, a Deployment's template matching a ReplicaSet's)."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if v is None or (isinstance(v, (dict, list)) and not v):
                continue
            v = normalized(v)
            if isinstance(v, (dict, list)) and not v:  # emptied by dropping its own empty members
                continue
            out[k] = v
        return out
    if isinstance(value, list):
        return [normalized(v) for v in value]
    return value
