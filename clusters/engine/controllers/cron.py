"""Cron schedules as the CronJob controller reads them: a port of robfig/cron/v3's
`ParseStandard` (5 fields, `*`/`?`, ranges, steps, lists, month and weekday
names, the `@yearly`/`@annually`/`@monthly`/`@weekly`/`@daily`/`@midnight`/
`@hourly`/`@every <duration>` descriptors, a `TZ=`/`CRON_TZ=` prefix) with its
exact error texts, and of `SpecSchedule.Next`, including its daylight-saving
behaviour (a time that does not exist on the day the clocks go forward is
skipped; one that happens twice when they go back runs twice).

Times are floats (seconds since the epoch, like `state.now`); a schedule's
`next(t)` returns the first activation strictly after `t`, or None where robfig
returns the zero time (nothing within five years, e.g. `0 0 30 2 *`).

The API server already refuses `TZ=`/`CRON_TZ=` inside spec.schedule ("cannot
use TZ or CRON_TZ in schedule, use timeZone field instead"); `parse_standard`
accepts the prefix as robfig does, because the controller itself writes
`TZ=<spec.timeZone> <schedule>` (upstream formatSchedule). Pass `allow_tz=False`
to refuse it with the API's message.
"""
from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

TZ_IN_SCHEDULE = "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"

_STAR_BIT = 1 << 63
_ALL_ONES = (1 << 64) - 1


class CronError(ValueError):
    """A schedule robfig/cron would refuse; str() is its error text."""


class _Bounds:
    __slots__ = ("low", "high", "names")

    def __init__(self, low: int, high: int, names: dict[str, int] | None = None) -> None:
        self.low, self.high, self.names = low, high, names


_SECONDS = _Bounds(0, 59)
_MINUTES = _Bounds(0, 59)
_HOURS = _Bounds(0, 23)
_DOM = _Bounds(1, 31)
_MONTHS = _Bounds(1, 12, {n: i + 1 for i, n in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split())})
_DOW = _Bounds(0, 6, {n: i for i, n in enumerate("sun mon tue wed thu fri sat".split())})


# ----------------------------------------------------------------------------- time zones

@lru_cache(maxsize=64)
def load_location(name: str) -> tzinfo:
    """Go's time.LoadLocation: "" and "UTC" are UTC; an unknown name raises CronError with Go's text."""
    if name in ("", "UTC", "Local"):
        return UTC  # the simulated kube-controller-manager runs in UTC
    if name.startswith("/") or ".." in name or "\\" in name:
        raise CronError("time: invalid location name")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise CronError(f"unknown time zone {name}") from None


def _offset(tz: tzinfo, unix: int) -> int:
    if tz is UTC:
        return 0
    return int(datetime.fromtimestamp(unix, tz).utcoffset().total_seconds())


def _days_from_civil(y: int, m: int, d: int) -> int:
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _civil_from_days(z: int) -> tuple[int, int, int]:
    z += 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return y + (m <= 2), m, d


def _fields(unix: int, tz: tzinfo) -> tuple[int, int, int, int, int, int, int]:
    """Wall clock in `tz`: year, month, day, hour, minute, second, weekday (Sunday = 0, as Go)."""
    local = unix + _offset(tz, unix)
    days, secs = divmod(local, 86400)
    y, m, d = _civil_from_days(days)
    return y, m, d, secs // 3600, secs // 60 % 60, secs % 60, (days + 4) % 7


def _go_date(tz: tzinfo, y: int, mo: int, d: int, h: int, mi: int, s: int) -> int:
    """Go's time.Date: normalises overflowing fields; a wall time in a DST gap or overlap gets
    the offset Go's algorithm picks (offset at wall-as-UTC, corrected once)."""
    y += (mo - 1) // 12
    mo = (mo - 1) % 12 + 1
    wall = (_days_from_civil(y, mo, 1) + d - 1) * 86400 + h * 3600 + mi * 60 + s
    return wall - _offset(tz, wall - _offset(tz, wall))


# ----------------------------------------------------------------------------- schedules

class SpecSchedule:
    """robfig/cron's SpecSchedule: one bit per allowed value, the star bit marks `*`/`?`."""

    __slots__ = ("second", "minute", "hour", "dom", "month", "dow", "location")

    def __init__(self, second: int, minute: int, hour: int, dom: int, month: int, dow: int,
                 location: tzinfo | None) -> None:
        self.second, self.minute, self.hour = second, minute, hour
        self.dom, self.month, self.dow = dom, month, dow
        self.location = location

    def _day_matches(self, day: int, weekday: int) -> bool:
        dom_match = bool(1 << day & self.dom)
        dow_match = bool(1 << weekday & self.dow)
        if self.dom & _STAR_BIT or self.dow & _STAR_BIT:
            return dom_match and dow_match
        return dom_match or dow_match

    def next(self, t: float) -> float | None:
        tz = self.location or UTC
        u = math.floor(t) + 1  # the upcoming whole second
        added = False
        y, mo, d, h, mi, s, wd = _fields(u, tz)
        year_limit = y + 5
        while True:  # robfig's WRAP label
            if y > year_limit:
                return None
            wrapped = False
            while not (1 << mo & self.month):
                if not added:
                    added = True
                    u = _go_date(tz, y, mo, 1, 0, 0, 0)
                    y, mo, d, h, mi, s, wd = _fields(u, tz)
                u = _go_date(tz, y, mo + 1, d, h, mi, s)
                y, mo, d, h, mi, s, wd = _fields(u, tz)
                if mo == 1:
                    wrapped = True
                    break
            if wrapped:
                continue
            while not self._day_matches(d, wd):
                if not added:
                    added = True
                    u = _go_date(tz, y, mo, d, 0, 0, 0)
                    y, mo, d, h, mi, s, wd = _fields(u, tz)
                u = _go_date(tz, y, mo, d + 1, h, mi, s)
                y, mo, d, h, mi, s, wd = _fields(u, tz)
                if h != 0:  # midnight moved by a DST change
                    u += (24 - h) * 3600 if h > 12 else -h * 3600
                    y, mo, d, h, mi, s, wd = _fields(u, tz)
                if d == 1:
                    wrapped = True
                    break
            if wrapped:
                continue
            while not (1 << h & self.hour):
                if not added:
                    added = True
                    u = _go_date(tz, y, mo, d, h, 0, 0)
                u += 3600
                y, mo, d, h, mi, s, wd = _fields(u, tz)
                if h == 0:
                    wrapped = True
                    break
            if wrapped:
                continue
            while not (1 << mi & self.minute):
                if not added:
                    added = True
                    u -= u % 60
                u += 60
                y, mo, d, h, mi, s, wd = _fields(u, tz)
                if mi == 0:
                    wrapped = True
                    break
            if wrapped:
                continue
            while not (1 << s & self.second):
                added = True
                u += 1
                y, mo, d, h, mi, s, wd = _fields(u, tz)
                if s == 0:
                    wrapped = True
                    break
            if wrapped:
                continue
            return float(u)


class ConstantDelaySchedule:
    """`@every <duration>`: every `delay` seconds (at least 1, whole seconds) from the previous run."""

    __slots__ = ("delay",)

    def __init__(self, delay: int) -> None:
        self.delay = delay

    def next(self, t: float) -> float | None:
        return float(math.floor(t) + self.delay)


Schedule = SpecSchedule | ConstantDelaySchedule


# ----------------------------------------------------------------------------- parsing

def _go_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _must_parse_int(expr: str) -> int:
    if not re.fullmatch(r"[+-]?[0-9]+", expr):
        raise CronError(f"failed to parse int from {expr}: strconv.Atoi: parsing {_go_quote(expr)}: invalid syntax")
    num = int(expr)
    if num < -(1 << 63) or num >= 1 << 63:
        raise CronError(f"failed to parse int from {expr}: strconv.Atoi: parsing {_go_quote(expr)}: "
                        "value out of range")
    if num < 0:
        raise CronError(f"negative number ({num}) not allowed: {expr}")
    return num


def _parse_int_or_name(expr: str, names: dict[str, int] | None) -> int:
    if names and expr.lower() in names:
        return names[expr.lower()]
    return _must_parse_int(expr)


def _get_bits(low: int, high: int, step: int) -> int:
    if step == 1:
        return ~(_ALL_ONES << (high + 1)) & (_ALL_ONES << low) & _ALL_ONES
    bits = 0
    for i in range(low, high + 1, step):
        bits |= 1 << i
    return bits


def _all(r: _Bounds) -> int:
    return _get_bits(r.low, r.high, 1) | _STAR_BIT


def _get_range(expr: str, r: _Bounds) -> int:
    range_and_step = expr.split("/")
    low_and_high = range_and_step[0].split("-")
    single_digit = len(low_and_high) == 1
    extra = 0
    if low_and_high[0] in ("*", "?"):
        start, end = r.low, r.high
        extra = _STAR_BIT
    else:
        start = _parse_int_or_name(low_and_high[0], r.names)
        if len(low_and_high) == 1:
            end = start
        elif len(low_and_high) == 2:
            end = _parse_int_or_name(low_and_high[1], r.names)
        else:
            raise CronError(f"too many hyphens: {expr}")
    if len(range_and_step) == 1:
        step = 1
    elif len(range_and_step) == 2:
        step = _must_parse_int(range_and_step[1])
        if single_digit:  # "N/step" means "N-max/step"
            end = r.high
        if step > 1:
            extra = 0
    else:
        raise CronError(f"too many slashes: {expr}")
    if start < r.low:
        raise CronError(f"beginning of range ({start}) below minimum ({r.low}): {expr}")
    if end > r.high:
        raise CronError(f"end of range ({end}) above maximum ({r.high}): {expr}")
    if start > end:
        raise CronError(f"beginning of range ({start}) beyond end of range ({end}): {expr}")
    if step == 0:
        raise CronError(f"step of range should be a positive number: {expr}")
    return _get_bits(start, end, step) | extra


def _get_field(field: str, r: _Bounds) -> int:
    bits = 0
    for expr in (part for part in field.split(",") if part):
        bits |= _get_range(expr, r)
    return bits


_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 10**9,
          "m": 60 * 10**9, "h": 3600 * 10**9}
_MAX_DURATION = (1 << 63) - 1


def parse_duration(text: str) -> int:
    """Go's time.ParseDuration, in nanoseconds, with its error texts."""
    orig, s, neg = text, text, False
    invalid = CronError(f"time: invalid duration {_go_quote(orig)}")
    if s and s[0] in "+-":
        neg, s = s[0] == "-", s[1:]
    if s == "0":
        return 0
    if not s:
        raise invalid
    total = 0
    while s:
        if not (s[0] == "." or s[0].isdigit()):
            raise invalid
        m = re.match(r"([0-9]*)(?:\.([0-9]*))?", s)
        whole, frac = m.group(1), m.group(2)
        if not whole and not frac:
            raise invalid
        s = s[m.end():]
        i = 0
        while i < len(s) and not (s[i] == "." or s[i].isdigit()):
            i += 1
        if i == 0:
            raise CronError(f"time: missing unit in duration {_go_quote(orig)}")
        unit_text, s = s[:i], s[i:]
        unit = _UNITS.get(unit_text)
        if unit is None:
            raise CronError(f"time: unknown unit {_go_quote(unit_text)} in duration {_go_quote(orig)}")
        value = int(whole or "0") * unit
        if frac:
            value += int(int(frac) * (unit / 10 ** len(frac)))  # Go truncates the fraction's float product
        total += value
        if total > _MAX_DURATION + (1 if neg else 0):
            raise invalid
    return -total if neg else total


def _parse_descriptor(descriptor: str, loc: tzinfo | None) -> Schedule:
    one = {name: 1 << r.low for name, r in (("second", _SECONDS), ("minute", _MINUTES), ("hour", _HOURS),
                                            ("dom", _DOM), ("month", _MONTHS), ("dow", _DOW))}
    if descriptor in ("@yearly", "@annually"):
        return SpecSchedule(one["second"], one["minute"], one["hour"], one["dom"], one["month"], _all(_DOW), loc)
    if descriptor == "@monthly":
        return SpecSchedule(one["second"], one["minute"], one["hour"], one["dom"], _all(_MONTHS), _all(_DOW), loc)
    if descriptor == "@weekly":
        return SpecSchedule(one["second"], one["minute"], one["hour"], _all(_DOM), _all(_MONTHS), one["dow"], loc)
    if descriptor in ("@daily", "@midnight"):
        return SpecSchedule(one["second"], one["minute"], one["hour"], _all(_DOM), _all(_MONTHS), _all(_DOW), loc)
    if descriptor == "@hourly":
        return SpecSchedule(one["second"], one["minute"], _all(_HOURS), _all(_DOM), _all(_MONTHS), _all(_DOW), loc)
    every = "@every "
    if descriptor.startswith(every):
        try:
            nanos = parse_duration(descriptor[len(every):])
        except CronError as err:
            raise CronError(f"failed to parse duration {descriptor}: {err}") from None
        nanos = max(nanos, 10**9)
        return ConstantDelaySchedule((nanos - nanos % 10**9) // 10**9)
    raise CronError(f"unrecognized descriptor: {descriptor}")


@lru_cache(maxsize=256)
def parse_standard(spec: str, *, allow_tz: bool = True) -> Schedule:
    """robfig/cron/v3 ParseStandard (Minute | Hour | Dom | Month | Dow | Descriptor). Raises CronError."""
    if not spec:
        raise CronError("empty spec string")
    loc: tzinfo | None = None
    if spec.startswith("TZ=") or spec.startswith("CRON_TZ="):
        if not allow_tz:
            raise CronError(TZ_IN_SCHEDULE)
        space, eq = spec.find(" "), spec.find("=")
        name = spec[eq + 1:space] if space >= 0 else spec[eq + 1:]
        try:
            loc = load_location(name)
        except CronError as err:
            raise CronError(f"provided bad location {name}: {err}") from None
        spec = spec[space:].strip() if space >= 0 else ""
    if spec.startswith("@"):
        return _parse_descriptor(spec, loc)
    fields = spec.split()
    if len(fields) != 5:
        raise CronError(f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]")
    return SpecSchedule(
        1 << _SECONDS.low,
        _get_field(fields[0], _MINUTES),
        _get_field(fields[1], _HOURS),
        _get_field(fields[2], _DOM),
        _get_field(fields[3], _MONTHS),
        _get_field(fields[4], _DOW),
        loc,
    )


# ----------------------------------------------------------------------------- formatting

def format_rfc3339(t: float, tz: tzinfo) -> str:
    """Go's time.Format(time.RFC3339) of `t` in `tz` ("Z" when the offset is zero)."""
    local = datetime.fromtimestamp(int(t), tz)
    offset = local.utcoffset() or timedelta(0)
    text = local.strftime("%Y-%m-%dT%H:%M:%S")
    if not offset:
        return text + "Z"
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"{text}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def format_rfc1123z_utc(t: float) -> str:
    """Go's t.UTC().Format(time.RFC1123Z): 'Mon, 02 Jan 2006 15:04:05 +0000'."""
    d = datetime.fromtimestamp(int(t), UTC)
    day = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[d.weekday()]
    month = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")[d.month - 1]
    return f"{day}, {d.day:02d} {month} {d.year:04d} {d:%H:%M:%S} +0000"


__all__ = ["CronError", "ConstantDelaySchedule", "Schedule", "SpecSchedule", "TZ_IN_SCHEDULE", "format_rfc1123z_utc",
           "format_rfc3339", "load_location", "parse_duration", "parse_standard"]
