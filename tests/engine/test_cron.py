"""The cron parser: robfig/cron/v3 ParseStandard's grammar and error texts, and Next()."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from clusters.engine.controllers.cron import (
    TZ_IN_SCHEDULE,
    ConstantDelaySchedule,
    CronError,
    format_rfc1123z_utc,
    format_rfc3339,
    load_location,
    parse_duration,
    parse_standard,
)
from tests.engine.conftest import collector_held

UTC = UTC


def at(text: str) -> float:
    """'2027-01-15 08:00:00' (UTC) → epoch seconds."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def iso(t: float | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S")


def nexts(spec: str, start: str, count: int = 3) -> list[str | None]:
    schedule = parse_standard(spec)
    found, t = [], at(start)
    for _ in range(count):
        t = schedule.next(t)
        found.append(iso(t))
        if t is None:
            break
    return found


# 2027-01-15 is a Friday.
@pytest.mark.parametrize("spec, start, expected", [
    ("*/1 * * * *", "2027-01-15 08:00:00", ["2027-01-15 08:01:00", "2027-01-15 08:02:00", "2027-01-15 08:03:00"]),
    ("* * * * *", "2027-01-15 08:00:30", ["2027-01-15 08:01:00", "2027-01-15 08:02:00", "2027-01-15 08:03:00"]),
    ("*/15 * * * *", "2027-01-15 08:07:00", ["2027-01-15 08:15:00", "2027-01-15 08:30:00", "2027-01-15 08:45:00"]),
    ("5/20 * * * *", "2027-01-15 08:00:00", ["2027-01-15 08:05:00", "2027-01-15 08:25:00", "2027-01-15 08:45:00"]),
    ("0 9-17/4 * * *", "2027-01-15 08:00:00", ["2027-01-15 09:00:00", "2027-01-15 13:00:00", "2027-01-15 17:00:00"]),
    ("0,30 8 * * *", "2027-01-15 08:00:00", ["2027-01-15 08:30:00", "2027-01-16 08:00:00", "2027-01-16 08:30:00"]),
    ("0 0 * * mon-fri", "2027-01-15 08:00:00", ["2027-01-18 00:00:00", "2027-01-19 00:00:00", "2027-01-20 00:00:00"]),
    ("0 0 * * SAT,sun", "2027-01-15 08:00:00", ["2027-01-16 00:00:00", "2027-01-17 00:00:00", "2027-01-23 00:00:00"]),
    ("0 0 1 jan-mar *", "2027-01-15 08:00:00", ["2027-02-01 00:00:00", "2027-03-01 00:00:00", "2028-01-01 00:00:00"]),
    ("0 0 31 * *", "2027-01-15 08:00:00", ["2027-01-31 00:00:00", "2027-03-31 00:00:00", "2027-05-31 00:00:00"]),
    # day-of-month and day-of-week both restricted: either matches (Vixie cron)
    ("0 0 13 * fri", "2027-01-15 08:00:00", ["2027-01-22 00:00:00", "2027-01-29 00:00:00", "2027-02-05 00:00:00"]),
    ("0 0 1,15 * mon", "2027-01-15 08:00:00", ["2027-01-18 00:00:00", "2027-01-25 00:00:00", "2027-02-01 00:00:00"]),
    # with a star in one of them, both must match
    ("0 0 ? * 0", "2027-01-15 08:00:00", ["2027-01-17 00:00:00", "2027-01-24 00:00:00", "2027-01-31 00:00:00"]),
    ("0 0 29 2 *", "2027-01-15 08:00:00", ["2028-02-29 00:00:00", "2032-02-29 00:00:00", "2036-02-29 00:00:00"]),
    ("0 0 30 2 *", "2027-01-15 08:00:00", [None]),
    ("@hourly", "2027-01-15 08:00:00", ["2027-01-15 09:00:00", "2027-01-15 10:00:00", "2027-01-15 11:00:00"]),
    ("@daily", "2027-01-15 08:00:00", ["2027-01-16 00:00:00", "2027-01-17 00:00:00", "2027-01-18 00:00:00"]),
    ("@midnight", "2027-01-15 08:00:00", ["2027-01-16 00:00:00", "2027-01-17 00:00:00", "2027-01-18 00:00:00"]),
    ("@weekly", "2027-01-15 08:00:00", ["2027-01-17 00:00:00", "2027-01-24 00:00:00", "2027-01-31 00:00:00"]),
    ("@monthly", "2027-01-15 08:00:00", ["2027-02-01 00:00:00", "2027-03-01 00:00:00", "2027-04-01 00:00:00"]),
    ("@yearly", "2027-01-15 08:00:00", ["2028-01-01 00:00:00", "2029-01-01 00:00:00", "2030-01-01 00:00:00"]),
    ("@annually", "2027-01-15 08:00:00", ["2028-01-01 00:00:00", "2029-01-01 00:00:00", "2030-01-01 00:00:00"]),
    ("@every 90s", "2027-01-15 08:00:00", ["2027-01-15 08:01:30", "2027-01-15 08:03:00", "2027-01-15 08:04:30"]),
    ("@every 1h30m", "2027-01-15 08:00:10", ["2027-01-15 09:30:10", "2027-01-15 11:00:10", "2027-01-15 12:30:10"]),
    ("@every 100ms", "2027-01-15 08:00:00", ["2027-01-15 08:00:01", "2027-01-15 08:00:02", "2027-01-15 08:00:03"]),
])
def test_next(spec: str, start: str, expected: list[str | None]) -> None:
    assert nexts(spec, start, len(expected)) == expected


def test_next_starts_after_the_given_instant() -> None:
    schedule = parse_standard("*/1 * * * *")
    assert schedule.next(at("2027-01-15 08:01:00")) == at("2027-01-15 08:02:00")
    assert schedule.next(at("2027-01-15 08:00:59") + 0.999) == at("2027-01-15 08:01:00")


def test_time_zone_prefix_and_daylight_saving_time() -> None:
    # Europe/Paris: CET (+01:00); summer time from 2027-03-28 02:00 to 2027-10-31 03:00.
    assert nexts("TZ=Europe/Paris 0 9 * * *", "2027-01-15 08:00:00", 1) == ["2027-01-16 08:00:00"]
    assert nexts("CRON_TZ=Europe/Paris 0 9 * * *", "2027-07-01 00:00:00", 1) == ["2027-07-01 07:00:00"]
    # 02:30 does not exist on 2027-03-28: robfig skips that day
    assert nexts("TZ=Europe/Paris 30 2 * * *", "2027-03-27 00:00:00") == [
        "2027-03-27 01:30:00", "2027-03-29 00:30:00", "2027-03-30 00:30:00"]
    # 02:30 happens twice on 2027-10-31: it runs twice
    assert nexts("TZ=Europe/Paris 30 2 * * *", "2027-10-30 12:00:00") == [
        "2027-10-31 00:30:00", "2027-10-31 01:30:00", "2027-11-01 01:30:00"]
    # midnight in a zone whose DST change happens at midnight (America/Santiago, 2027-09-05)
    assert nexts("TZ=America/Santiago 0 0 * * *", "2027-09-03 12:00:00", 3)[0] == "2027-09-04 04:00:00"
    assert nexts("TZ=UTC @daily", "2027-01-15 08:00:00", 1) == ["2027-01-16 00:00:00"]


@pytest.mark.parametrize("spec, message", [
    ("", "empty spec string"),
    ("* * * *", "expected exactly 5 fields, found 4: [* * * *]"),
    ("* * * * * *", "expected exactly 5 fields, found 6: [* * * * * *]"),
    ("   ", "expected exactly 5 fields, found 0: []"),
    ("60 * * * *", "end of range (60) above maximum (59): 60"),
    ("* 24 * * *", "end of range (24) above maximum (23): 24"),
    ("* * 0 * *", "beginning of range (0) below minimum (1): 0"),
    ("* * 32 * *", "end of range (32) above maximum (31): 32"),
    ("* * * 13 *", "end of range (13) above maximum (12): 13"),
    ("* * * * 7", "end of range (7) above maximum (6): 7"),
    ("5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"),
    ("*/0 * * * *", "step of range should be a positive number: */0"),
    ("1-2-3 * * * *", "too many hyphens: 1-2-3"),
    ("1/2/3 * * * *", "too many slashes: 1/2/3"),
    ("a * * * *", 'failed to parse int from a: strconv.Atoi: parsing "a": invalid syntax'),
    ("-1 * * * *", 'failed to parse int from : strconv.Atoi: parsing "": invalid syntax'),
    ("*/x * * * *", 'failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax'),
    ("* * * jan-foo *", 'failed to parse int from foo: strconv.Atoi: parsing "foo": invalid syntax'),
    ("@foo", "unrecognized descriptor: @foo"),
    ("@every", "unrecognized descriptor: @every"),
    ("@every 1d", 'failed to parse duration @every 1d: time: unknown unit "d" in duration "1d"'),
    ("@every 5", 'failed to parse duration @every 5: time: missing unit in duration "5"'),
    ("@every x", 'failed to parse duration @every x: time: invalid duration "x"'),
    ("TZ=Mars/Olympus * * * * *", "provided bad location Mars/Olympus: unknown time zone Mars/Olympus"),
])
def test_errors(spec: str, message: str) -> None:
    with pytest.raises(CronError) as err:
        parse_standard(spec)
    assert str(err.value) == message


def test_tz_in_schedule_can_be_refused_as_the_api_does() -> None:
    with pytest.raises(CronError) as err:
        parse_standard("TZ=Europe/Paris 0 9 * * *", allow_tz=False)
    assert str(err.value) == TZ_IN_SCHEDULE == "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"
    assert parse_standard("0 9 * * *", allow_tz=False).location is None


def test_single_value_with_a_step_runs_to_the_maximum() -> None:
    assert parse_standard("* * * * mon/2").dow == (1 << 1) | (1 << 3) | (1 << 5)  # "N/step" is "N-max/step"


def test_names_are_case_insensitive_and_star_bits() -> None:
    assert parse_standard("0 0 * JAN,Feb MON").month == (1 << 1) | (1 << 2)
    assert parse_standard("* * * * *").dom >> 63 == 1
    assert parse_standard("* * */1 * *").dom >> 63 == 1  # a step of 1 keeps the star
    assert parse_standard("* * */2 * *").dom >> 63 == 0


@pytest.mark.parametrize("text, nanos", [
    ("0", 0), ("1s", 10**9), ("1.5h", 5400 * 10**9), ("1h30m", 5400 * 10**9), ("300ms", 3 * 10**8),
    ("-2m", -120 * 10**9), ("+5s", 5 * 10**9), ("1us", 1000), ("1µs", 1000), (".5s", 5 * 10**8),
    ("2h45m30.5s", 9930500000000),
])
def test_parse_duration(text: str, nanos: int) -> None:
    assert parse_duration(text) == nanos


def test_every_rounds_to_whole_seconds_and_at_least_one() -> None:
    assert parse_standard("@every 1500ms").delay == 1
    assert parse_standard("@every 0s").delay == 1
    assert isinstance(parse_standard("@every 1m"), ConstantDelaySchedule)


def test_locations_and_formats() -> None:
    assert load_location("") is UTC and load_location("UTC") is UTC
    with pytest.raises(CronError) as err:
        load_location("Nowhere/Town")
    assert str(err.value) == "unknown time zone Nowhere/Town"
    t = at("2027-01-15 08:00:00")
    assert format_rfc3339(t, load_location("Europe/Paris")) == "2027-01-15T09:00:00+01:00"
    assert format_rfc3339(t, load_location("America/St_Johns")) == "2027-01-15T04:30:00-03:30"
    assert format_rfc3339(t, load_location("Europe/London")) == "2027-01-15T08:00:00Z"
    assert format_rfc3339(t, UTC) == "2027-01-15T08:00:00Z"
    assert format_rfc1123z_utc(t) == "Fri, 15 Jan 2027 08:00:00 +0000"


def test_next_is_fast() -> None:
    import time

    schedule = parse_standard("TZ=Europe/Paris 30 2 29 2 *")
    with collector_held():
        began = time.perf_counter()
        schedule.next(at("2027-01-15 08:00:00"))
        took = time.perf_counter() - began
    assert took < 0.05
