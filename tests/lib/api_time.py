"""The times of orchd's API and of `orch --json` for the tests: RFC 3339
UTC with nine digits of fraction (docs/design.md, "Times in the API").

    ns("2026-12-03T14:00:00.000000042Z") == 1796306400000000042

exactly (Python's datetime stops at microseconds). Anything else is an
error, so a test that reads a time fails on a field that is not one."""
import calendar
import re

_FORM = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{9})Z")


def ns(text):
    m = _FORM.fullmatch(text) if isinstance(text, str) else None
    if not m:
        raise ValueError(f"not a time of the API (RFC 3339 UTC, nine digits of fraction): {text!r}")
    y, mo, d, h, mi, s, frac = (int(g) for g in m.groups())
    return calendar.timegm((y, mo, d, h, mi, s)) * 1_000_000_000 + frac
