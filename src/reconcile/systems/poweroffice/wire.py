"""PowerOffice Go's wire format: records to frames and values to request bodies, timestamps, error texts.

Pure functions; :mod:`reconcile.systems.poweroffice` does the calls. Keys are read without regard to case
(v2 is PascalCase, v1 camelCase, and clients in the wild meet both); dates may carry a time part; timestamps
carry up to seven decimals and an offset that may be missing (UTC then) or set off by a space (v1).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import httpx
import polars as pl

from reconcile.model.casting import cast_series, fold_structs
from reconcile.model.catalogue import Entity, Field
from reconcile.model.records import records_frame
from reconcile.model.values import cast_value

_STAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$"
)


# ------------------------------------------------------------------------------------------------ values in


def parse_timestamp(text: str) -> datetime:
    """A Go date-time as an aware UTC datetime (the seventh decimal is below Python's resolution)."""
    match = _STAMP.match(text.strip())
    if not match:
        raise ValueError(f"not a date-time: {text!r}")
    year, month, day, hour, minute, second, frac, offset = match.groups()
    micro = int((frac or "0")[:6].ljust(6, "0"))
    tz = UTC
    if offset and offset != "Z":
        digits = offset[1:].replace(":", "")
        delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        tz = timezone(-delta if offset[0] == "-" else delta)
    moment = datetime(
        int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), micro, tzinfo=tz
    )
    return moment.astimezone(UTC)


def parse_date(text: str) -> date:
    """A Go date, with or without the time part the API sometimes adds (``1980-05-17T00:00:00``)."""
    return date.fromisoformat(text.strip()[:10])


def convert(value: Any, field: Field) -> Any:
    """A wire value as the catalogue's type says; ``ValueError`` when it cannot be.

    The one caster, :func:`~reconcile.model.values.cast_value`, after Go's own shapes: a whole number in a
    text field comes as ``3.0``, a blank stands for no value, a guid comes in any case, and dates and
    date-times come as :func:`parse_date` and :func:`parse_timestamp` read them (seven decimals, an offset
    after a space).
    """
    if isinstance(value, str) and not value.strip() and field.type != "string":
        return None
    if field.type == "string" and isinstance(value, float) and value.is_integer():
        value = int(value)
    if field.type == "date" and isinstance(value, str):
        return parse_date(value)
    if field.type == "datetime" and isinstance(value, str):
        return parse_timestamp(value)
    cast = cast_value(value, field.type)
    return cast.lower() if field.type == "guid" and isinstance(cast, str) else cast


def fold(record: Mapping[str, Any]) -> dict[str, Any]:
    """Keys case-folded, nested objects too: the lookup table for reading keys without regard to case."""
    return {k.casefold(): fold(v) if isinstance(v, Mapping) else v for k, v in record.items()}


def to_frame(
    entity: Entity, records: Sequence[Mapping[str, Any]], keep: Mapping[str, Any] | None = None
) -> pl.DataFrame:
    """One row per record, one column per catalogue field; dotted fields become struct columns.

    The records become a raw frame in bulk (:func:`~reconcile.model.records.records_frame`), its columns
    found by name without regard to case and typed by expressions as :func:`convert` types a value; what
    the expressions are not sure of goes through :func:`convert` itself, value by value. The key is always
    text; a value that does not fit its field's type is null (and the rest of the record is kept), since one
    odd value in a snapshot must not stop a run. ``keep``: only the records with these values (folded
    names), as :func:`selects` says.
    """
    raw = records_frame(records)
    folded = [name.casefold() for name in raw.columns]
    if len(set(folded)) < len(folded):  # one name in two casings: each record as :func:`fold` reads it
        raw = records_frame([fold(r) for r in records])
    columns = dict(zip((name.casefold() for name in raw.columns), raw.columns, strict=True))
    if keep:
        raw = raw.filter(_selected(raw, columns, keep))
    typed: list[pl.Series] = []
    for field in entity.fields.values():
        name = columns.get(field.name.casefold())
        source = raw[name] if name is not None else pl.repeat(None, raw.height, dtype=pl.Null, eager=True)
        series = _typed(source.alias(field.name), field)
        typed.append(series.cast(pl.String) if field.name == entity.key else series)
    return fold_structs(pl.DataFrame(typed, height=raw.height))


_FINER = r"^(\s*[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6})[0-9]+"
"""A time with more than six decimals (Go writes seven): the first six are all a datetime holds."""
_BLANK = r"^[\s\x1c-\x1f]*$"
"""Text that is nothing but spaces, as Python's ``str.strip`` sees spaces."""
_SPACED = r"\s+(Z|[+-][0-9]{2}:?[0-9]{2})(\s*)$"
"""An offset set off by a space (v1)."""


def _typed(raw: pl.Series, field: Field) -> pl.Series:
    """A raw column typed as :func:`convert` types each value (null where it cannot)."""
    if raw.dtype == pl.String and field.type in ("date", "datetime"):
        raw = raw.str.replace(_FINER, "${1}").str.replace(_SPACED, "${1}${2}")

    def slow(value: Any) -> Any:
        try:
            converted = convert(value, field)
        except (ValueError, TypeError):
            return None
        if field.type == "int" and isinstance(converted, int) and not -(2**63) <= converted < 2**63:
            return None
        return converted

    typed = cast_series(raw, field.type, slow=slow)
    if field.type != "guid":
        return typed
    if raw.dtype == pl.String:  # a blank stands for no value
        blank = pl.DataFrame({"v": typed, "raw": raw}).select(pl.when(~pl.col("raw").str.contains(_BLANK)).then("v"))
        typed = blank.to_series().alias(raw.name)
    return typed.str.to_lowercase()


def _selected(raw: pl.DataFrame, columns: Mapping[str, str], keep: Mapping[str, Any]) -> pl.Series:
    """Which rows of ``raw`` have the values ``keep`` asks for (:func:`selects`: a missing bool is false)."""
    chosen = pl.repeat(True, raw.height, eager=True)
    for name, value in keep.items():
        column = raw[columns[name]] if name in columns else pl.repeat(None, raw.height, dtype=pl.Null, eager=True)
        if isinstance(value, bool) and column.dtype in (pl.Boolean, pl.Null):
            have = column.cast(pl.Boolean).fill_null(False) == value
        else:  # other kinds of values: as Python compares them
            found = column.to_list()
            have = pl.Series([(bool(v) if isinstance(value, bool) else v) == value for v in found], dtype=pl.Boolean)
        chosen = chosen & have
    return chosen


# ----------------------------------------------------------------------------------------------- values out


def wire_value(value: Any, field: Field, int_refs: frozenset[str]) -> Any:
    """A catalogue-typed value as the API wants it: dates as ISO text, int64 ids as numbers."""
    if value is None:
        return None
    if field.name in int_refs and isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def nest(values: Mapping[str, Any]) -> dict[str, Any]:
    """Dotted names as nested objects: ``{"MailAddress.City": "Oslo"}`` -> ``{"MailAddress": {"City": ...}}``."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        parts = name.split(".")
        target = out
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return out


def patch_document(values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """RFC 6902 operations that set exactly ``values`` (dotted names become nested paths).

    Top-level fields are replaced; nested ones are added, as PowerOffice's own examples do, which sets
    them whether or not the object held a value before.
    """
    ops: list[dict[str, Any]] = []
    for name, value in values.items():
        parts = name.split(".")
        path = "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)
        ops.append({"op": "add" if len(parts) > 1 else "replace", "path": path, "value": value})
    return ops


# ------------------------------------------------------------------------------------------------- errors


def json_of(response: httpx.Response) -> Any:
    """The JSON of an answer; None when its body is not JSON (empty, or a page that broke off)."""
    try:
        return response.json()
    except ValueError:
        return None


def problem_text(response: httpx.Response) -> str:
    """What a v2 error says: ProblemDetails ``title: detail`` (either casing), else the status alone."""
    body = json_of(response)
    if isinstance(body, Mapping):
        folded = fold(body)
        parts = [str(folded[k]) for k in ("title", "detail", "message", "error_description") if folded.get(k)]
        if parts:
            return f"{response.status_code} " + ": ".join(parts)
    return f"{response.status_code} {response.reason_phrase}".strip()


def v1_error(body: Any) -> str | None:
    """The error a v1 envelope reports (``success: false``), or ``None`` when it succeeded."""
    if not isinstance(body, Mapping):
        return "the answer was not a v1 envelope"
    folded = fold(body)
    if folded.get("success") is True:
        return None
    validation = folded.get("validation") or {}
    summary = validation.get("summary") if isinstance(validation, Mapping) else None
    kind = validation.get("exception") if isinstance(validation, Mapping) else None
    reference = validation.get("errorlogreference") if isinstance(validation, Mapping) else None
    text = str(summary or "the request failed without a reason")
    if kind:
        text += f" ({kind})"
    if reference:
        text += f"; error log reference {reference}"
    return text


def token_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, unverified (to explain a 403); ``{}`` when the token is not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = json.loads(payload)
    except ValueError:
        return {}
    return claims if isinstance(claims, dict) else {}


def selects(folded: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    """Whether a record has the values an entity's ``filter`` asks for (a missing bool is false)."""
    for name, value in wanted.items():
        have = folded.get(name)
        if isinstance(value, bool):
            have = bool(have)
        if have != value:
            return False
    return True
