"""Built-in value converters, compatible with the original Oomnitza connector (1.81).

A mapping spec such as ``{"source": "name", "converter": "split:on=,|index=1"}`` names one of
the converters below; the mapping layer parses the converter string into ``params`` and calls
``BUILTIN_CONVERTERS[name](field, record, value, params, ctx)``.

Conventions shared by every converter:

* ``field``  -- the mapping's source (or the Oomnitza field name when there is no source);
* ``record`` -- the raw source record (a dict);
* ``value``  -- the value already resolved from source / setting / hardcoded;
* ``params`` -- parsed converter params: strings, or ``True`` for a bare flag;
* ``ctx``    -- the per-run :class:`ConverterContext`.

The return value replaces the field value.  Exceptions that escape a converter are handled by
the caller (the field becomes ``None``), so converters only catch errors where the original
converter itself handled them.  Unless a converter says otherwise, a falsy ``value`` is returned
unchanged.
"""

from __future__ import annotations

import calendar
import logging
import numbers
import re
import threading
from dataclasses import dataclass, field as dc_field
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable

from pendulum.parsing import parse_iso8601

if TYPE_CHECKING:  # pragma: no cover
    import requests

__all__ = [
    "BUILTIN_CONVERTERS",
    "ConverterContext",
    "ConverterFn",
    "LDAP_TIMESTAMP_MAX",
]

# Level for the "on error, returns the value unchanged / None" logs of capitalize, concat,
# first_field and split: 1.81 logs them at DEBUG (2.1.0 moved them to ERROR).
_SOFT_ERROR_LEVEL = logging.DEBUG

MAC_MODEL_TIMEOUT = 10  # seconds, for the default http_get of mac_model_from_sn

# Arrow's maximum datetime (9999-12-31T23:59:59 UTC) as epoch seconds; ldap_timestamp's overflow result.
LDAP_TIMESTAMP_MAX = 253402300799

_UTC = timezone.utc
_LDAP_EPOCH = datetime(1601, 1, 1, tzinfo=_UTC)
_LDAP_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def _default_http_get(url: str, params: dict) -> "requests.Response":
    import requests  # imported lazily: only mac_model_from_sn needs it

    return requests.get(url, params=params, timeout=MAC_MODEL_TIMEOUT)


@dataclass
class ConverterContext:
    """Per-run services and caches the converters need (one per sync run)."""

    log: logging.Logger
    locations: Callable[[], list[dict]] | None = None  # fetches Oomnitza GET /api/v3/locations; None = unavailable
    mac_model_url: str = "https://nam.oomnitza.com/"  # mac_model_from_sn service
    http_get: Callable[[str, dict], "requests.Response"] | None = None  # injectable for tests; default requests.get with a timeout

    # --- state (not constructor arguments) ---
    # location converter: {label: field value}, built on first use; None until then
    location_map: dict | None = dc_field(default=None, init=False, repr=False)
    # the `field` param the location map was built with
    location_field: str | None = dc_field(default=None, init=False, repr=False)
    # failed location lookups: value -> number of failures, in first-seen order
    location_failures: dict = dc_field(default_factory=dict, init=False, repr=False)
    # mac_model_from_sn: serial number -> response body text
    mac_model_cache: dict[str, str] = dc_field(default_factory=dict, init=False, repr=False)
    _lock: threading.RLock = dc_field(default_factory=threading.RLock, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.http_get is None:
            self.http_get = _default_http_get

    def cleanup_report(self) -> list[str]:
        """The location converter's end-of-run lines: an error line then a warning line, or [].

        The lines are only returned, not logged; use :meth:`log_cleanup_report` to log them at
        the original levels (ERROR, then WARNING).
        """
        with self._lock:
            failures = dict(self.location_failures)
        if not failures:
            return []
        values = list(failures)
        counts = ", ".join(f"{v!r}: {n}" for v, n in failures.items())
        return [
            f"Could not lookup Location values for the following values: {values!r}",
            f"{sum(failures.values())} Location lookups failed for {len(failures)} distinct values "
            f"(value: count): {counts}",
        ]

    def log_cleanup_report(self, logger: logging.Logger | None = None) -> list[str]:
        """Log :meth:`cleanup_report` (first line at ERROR, the rest at WARNING) and return it."""
        logger = logger or self.log
        lines = self.cleanup_report()
        for i, line in enumerate(lines):
            logger.log(logging.ERROR if i == 0 else logging.WARNING, line)
        return lines


ConverterFn = Callable[[str | None, dict, Any, dict[str, str | bool], ConverterContext], Any]


# ---------------------------------------------------------------------------------------------
# date helpers
# ---------------------------------------------------------------------------------------------

def _epoch_seconds(dt: date) -> int:
    """Epoch seconds (floored, like arrow's ``timestamp``); a naive datetime counts as UTC."""
    if isinstance(dt, datetime):
        if dt.tzinfo is None or dt.utcoffset() is None:
            dt = dt.replace(tzinfo=_UTC)
        return calendar.timegm(dt.utctimetuple())
    return calendar.timegm(dt.timetuple())  # a plain date: midnight UTC


def _parse_iso(text: str) -> int:
    """Parse an ISO-8601 date or date-time string to epoch seconds; raise ValueError otherwise."""
    parsed = parse_iso8601(text)
    if not isinstance(parsed, date):  # a time of day or a duration is not a point in time
        raise ValueError(f"not an ISO-8601 date or date-time: {text!r}")
    return _epoch_seconds(parsed)


# 'YYYY-MM-DD HH:mm:ss' as arrow 0.8 matched it: searched for anywhere in the string.
_SPACE_FORMAT_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})")


def _parse_space_format(text: str) -> int:
    match = _SPACE_FORMAT_RE.search(text)
    if match is None:
        raise ValueError(f"{text!r} does not match YYYY-MM-DD HH:mm:ss")
    return _epoch_seconds(datetime(*(int(g) for g in match.groups()), tzinfo=_UTC))


def _from_epoch(number: Any) -> int:
    """Epoch seconds in, epoch seconds out (floored); fails outside the datetime range."""
    return _epoch_seconds(datetime.fromtimestamp(number, _UTC))


def _numeric_string(text: str) -> int | float | None:
    """The number a string denotes (as Python's float() reads it), else None."""
    if "_" in text:  # Python 3 only syntax; arrow 0.8 on Python 2 did not read it as a number
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------
# converters
# ---------------------------------------------------------------------------------------------

def capitalize(field, record, value, params, ctx):
    """First character upper case, the rest lower case (``mcDonald`` -> ``Mcdonald``)."""
    if not value:
        return value
    try:
        return value.capitalize()
    except Exception:
        ctx.log.log(_SOFT_ERROR_LEVEL, "capitalize: cannot capitalize %r for %s", value, field, exc_info=True)
        return value


def casper_extension_attribute(field, record, value, params, ctx):
    """The ``value`` of the first ``record['extension_attributes']`` entry named ``attr``, else ``default``."""
    # Ignores the incoming value; a missing `attr` param matches nothing, so `default` is returned.
    attr = params.get("attr")
    default = params.get("default")
    if attr is None:
        return default
    for entry in record.get("extension_attributes", []):
        if entry.get("name") == attr:
            return entry.get("value")
    return default


def concat(field, record, value, params, ctx):
    """Join quoted literals and top-level record values listed in ``values`` (comma-separated)."""
    # Ignores the incoming value (usable with value=None from filters), per the 1.81 table.
    values = params.get("values")
    if not values:
        return None
    try:
        parts = []
        for piece in values.split(","):
            if piece[0] in ("'", '"') and piece[0] == piece[-1]:
                parts.append(piece[1:-1])
            else:
                parts.append(record.get(piece, "").strip())
        return "".join(parts)
    except Exception:
        ctx.log.log(_SOFT_ERROR_LEVEL, "concat: failed for %s with values=%r", field, values, exc_info=True)
        return None


def date_format(field, record, value, params, ctx):
    """Date/time (string or datetime) to epoch seconds; unparseable input is returned unchanged."""
    # 2.1.0 fix: a string with neither 'T' nor a space (e.g. '2016-01-01') is parsed as ISO-8601, not turned into None.
    if isinstance(value, datetime):
        return _epoch_seconds(value)
    if not isinstance(value, str):
        return value
    try:
        if "T" in value:
            return _parse_iso(value)
        if " " in value:
            return _parse_space_format(value)
        return _parse_iso(value)
    except Exception:
        ctx.log.debug("date_format: cannot parse %r for %s", value, field, exc_info=True)
        return value


def first_field(field, record, value, params, ctx):
    """The value if truthy, else the first non-empty (stripped) top-level record key in ``fields``."""
    if value:
        return value
    fields = params.get("fields")
    if not fields:
        return None
    try:
        for key in fields.split(","):
            candidate = record.get(key, "").strip()
            if candidate:
                return candidate
    except Exception:
        ctx.log.log(_SOFT_ERROR_LEVEL, "first_field: failed for %s with fields=%r", field, fields, exc_info=True)
    return None


def first_from_full(field, record, value, params, ctx):
    """Text before the first single space (``' Ann Lee'`` -> ``''``)."""
    if not value:
        return value
    return value.split(" ")[0]


def last_from_full(field, record, value, params, ctx):
    """Text after the last single space."""
    if not value:
        return value
    return value.split(" ")[-1]


def ldap_timestamp(field, record, value, params, ctx):
    """Windows FILETIME (100 ns ticks since 1601-01-01 UTC) to epoch seconds; the LDAP hook's ISO text
    (``2026-04-01T10:11:12Z``, what it makes of a FILETIME) too, so configs written for the original work."""
    # No falsy pass-through: 0 converts (to -11644473600); None and '' fail int() and come back unchanged.
    try:
        ticks = int(value)
    except Exception:
        if isinstance(value, str) and _LDAP_ISO.fullmatch(value):
            return _epoch_seconds(datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ"))
        return value
    try:
        return _epoch_seconds(_LDAP_EPOCH + timedelta(seconds=ticks // 10**7))
    except OverflowError:  # e.g. AD "never expires" 9223372036854775807
        return LDAP_TIMESTAMP_MAX


def ldap_user_field(field, record, value, params, ctx):
    """The value if truthy, else the record's ``sAMAccountName``."""
    if value:
        return value
    return record.get("sAMAccountName")


def _build_location_map(ctx: ConverterContext, loc_field: str, label: Any) -> dict:
    """{location[label]: location[loc_field]} from ctx.locations(); empty (with a warning) on failure."""
    mapping: dict = {}
    if ctx.locations is None:
        ctx.log.warning("location: Oomnitza locations are not available in this run.")
    else:
        try:
            for loc in ctx.locations() or []:
                key, val = loc.get(label), loc.get(loc_field)
                if key and val:
                    mapping[key] = val
        except Exception:
            ctx.log.warning("location: failed to load Oomnitza locations.", exc_info=True)
            mapping = {}
    for key, val in mapping.items():
        ctx.log.info("location: %r -> %r", key, val)
    if not mapping:
        ctx.log.warning("location: the location map is empty; location values cannot be looked up.")
    return mapping


def location(field, record, value, params, ctx):
    """Location label (``label`` param, default ``name``) to its ``field`` (default ``location_id``)."""
    # The map is built once per context; a later call with a different `field` param raises.
    loc_field = params.get("field", "location_id")
    label = params.get("label", "name")
    with ctx._lock:
        if ctx.location_map is None:
            ctx.location_map = _build_location_map(ctx, loc_field, label)
            ctx.location_field = loc_field
        elif loc_field != ctx.location_field:
            raise ValueError(
                f"location converter: field={loc_field!r} differs from field={ctx.location_field!r} "
                f"already used to build the location map in this run"
            )
        loc_map = ctx.location_map
    if not value:
        return None
    if value in loc_map:
        return loc_map[value]
    lowered = value.lower()
    if lowered in loc_map.values():
        return lowered
    with ctx._lock:
        ctx.location_failures[value] = ctx.location_failures.get(value, 0) + 1
    return value


def mac_model_from_sn(field, record, value, params, ctx):
    """Mac model name for ``record['general']['serial_number']`` from the Oomnitza web service."""
    # Cached per serial number in the context (successful and 'Error...' bodies; request exceptions are not cached).
    sn = str(record["general"]["serial_number"]).strip()
    if not sn:
        return value
    with ctx._lock:
        text = ctx.mac_model_cache.get(sn)
    if text is None:
        try:
            response = ctx.http_get(ctx.mac_model_url, {"sn": sn})
            text = response.text
        except Exception:
            ctx.log.warning("mac_model_from_sn: lookup of serial %r failed", sn, exc_info=True)
            return value
        with ctx._lock:
            ctx.mac_model_cache[sn] = text
    if text.startswith("Error"):
        ctx.log.debug("mac_model_from_sn: serial %r: %s", sn, text)
        return value
    return text


def _as_text(item: Any) -> Any:
    return item.decode("utf-8", "replace") if isinstance(item, (bytes, bytearray)) else item


def memberOf(field, record, value, params, ctx):  # noqa: N802 - the original's converter name
    """``result`` of the first ``search=result`` param with ``search in value``, else ``default``."""
    # Params are tried in insertion order (1.81's order was arbitrary). Bytes (raw LDAP values) are read as UTF-8.
    params = dict(params)
    default = params.pop("default", None)
    if isinstance(value, (list, tuple)):
        value = [_as_text(item) for item in value]
    else:
        value = _as_text(value)
    for search, result in params.items():
        if search in value:  # substring test on a string, element equality on a list; TypeError on None
            return result
    return default


def split(field, record, value, params, ctx):
    """``value.split(on)[index]`` (``on`` default whitespace, ``index`` default 0); unchanged on error."""
    if not value:
        return value
    try:
        return value.split(params.get("on"))[int(params.get("index", 0))]
    except Exception:
        ctx.log.log(_SOFT_ERROR_LEVEL, "split: failed for %s on %r with params %r", field, value, params, exc_info=True)
        return value


def split_email(field, record, value, params, ctx):
    """The local part of an e-mail address."""
    if not value:
        return value
    return value.split("@")[0]


def timestamp(field, record, value, params, ctx):
    """Epoch seconds (number or numeric string) or ISO-8601 string to int epoch seconds.

    ``timestamp:unit=ms`` (an addition of this provider) reads numbers as epoch milliseconds,
    as Jamf's ``*_epoch`` fields and MobileIron's ``lastCheckin`` are.
    """
    # Numbers/numeric strings are epoch seconds (a millisecond epoch is out of range and fails); on failure ERROR + unchanged.
    if value is None:
        return None
    divisor = {"s": 1, "ms": 1000}.get(params.get("unit", "s"))  # type: ignore[arg-type]
    try:
        if divisor is None:
            raise ValueError(f"unit must be s or ms, got {params.get('unit')!r}")
        if isinstance(value, bool):
            raise TypeError("a boolean is not a timestamp")
        if isinstance(value, int):
            return _from_epoch(value / divisor if divisor > 1 else value)
        if isinstance(value, numbers.Real):
            return _from_epoch(float(value) / divisor)
        if isinstance(value, (datetime, date)):
            return _epoch_seconds(value)
        if isinstance(value, str):
            number = _numeric_string(value)
            if number is not None:
                return _from_epoch(number / divisor if divisor > 1 else number)
            return _parse_iso(value)
        raise TypeError(f"cannot read a {type(value).__name__} as a timestamp")
    except Exception as exc:
        ctx.log.error("String conversion to UNIX timestamp failed for %r (%s): %s", value, field, exc)
        return value


BUILTIN_CONVERTERS: dict[str, ConverterFn] = {
    "capitalize": capitalize,
    "casper_extension_attribute": casper_extension_attribute,
    "concat": concat,
    "date_format": date_format,
    "first_field": first_field,
    "first_from_full": first_from_full,
    "last_from_full": last_from_full,
    "ldap_timestamp": ldap_timestamp,
    "ldap_user_field": ldap_user_field,
    "location": location,
    "mac_model_from_sn": mac_model_from_sn,
    "memberOf": memberOf,
    "split": split,
    "split_email": split_email,
    "timestamp": timestamp,
}
