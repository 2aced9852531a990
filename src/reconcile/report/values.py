"""Plan values as the workbook shows them: dates and numbers typed, secrets hidden, reasons in words.

A plan holds every value as canonical text; a value becomes a date, a number or text only here, and a
property counts as numeric only when all its values in the plan are plain numbers and its name does not say
it is an identifier (a code, a phone number, an account). Whatever looks like a secret is hidden.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal

import polars as pl

from reconcile.model.plan import Reason
from reconcile.report.cells import Value

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?")
_NUMBER = r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?$"
_MAX_DIGITS = 15  # Excel keeps 15 significant digits; longer numbers stay text
# Fields that hold identifiers, not quantities: digits, but never numbers (leading zeros, phone numbers).
_ID_LIKE = re.compile(
    r"(?i)(^id$|_id$|^id_|code|number|^nr|nr$|^no$|^num|phone|tel|mobile|fax|zip|post|iban|bic|swift|"
    r"account|bank|vat|org|kid|ssn|ean|gtin|gln|sku|ref|year)"
)
_ID_SUFFIX = re.compile(r"(Id|ID|Ids|IDs)$")
_SECRET_FIELD = re.compile(
    r"(?i)(password|passwd|secret|token|api_?key|private_?key|subscription_?key|credential|authorization)"
)
_SECRET_TEXT = (
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 (hidden)"),
    (
        re.compile(
            r"(?i)\b(password|passwd|client_secret|secret|access_token|refresh_token|token|api[_-]?key|"
            r"subscription[_-]?key)(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s&,;]+)"
        ),
        r"\1\2(hidden)",
    ),
)
HIDDEN = "(hidden)"


def scrub(text: str) -> str:
    """Hide what looks like a credential in free text (a detail from a system's error, say)."""
    for pattern, replacement in _SECRET_TEXT:
        text = pattern.sub(replacement, text)
    return text


def reason_words(code: str | None, detail: str | None) -> str:
    """Say why a row is in the plan: the reason in words, then the detail when there is one."""
    try:
        words = Reason(code).words if code else ""
    except ValueError:
        words = (code or "").replace("_", " ")
    if detail:
        return f"{words}: {scrub(detail)}" if words else scrub(detail)
    return words


def value_cell(field: str, text: str | None, numeric: bool) -> Value:
    """Turn a canonical plan value into what a cell should hold: a date, a number, or text."""
    return value_maker(field, numeric)(text)


def is_secret(field: str) -> bool:
    """Whether a field's name says it holds a secret: its values are never shown."""
    return _SECRET_FIELD.search(field) is not None


def value_maker(field: str, numeric: bool) -> Callable[[str | None], Value]:
    """The :func:`value_cell` of one field, made once for a column of many values."""
    if is_secret(field):
        return lambda text: None if text is None else HIDDEN

    def make(text: str | None) -> Value:
        if text is None:
            return None
        if len(text) >= 10 and text[4] == "-" and text[7] == "-":  # a cheap look before the patterns
            if _DATE.fullmatch(text):
                return _date(text)
            if _DATETIME.fullmatch(text):
                return _datetime(text)
        if numeric:
            return Decimal(text) if "." in text else int(text)
        return text

    return make


def _date(text: str) -> Value:
    try:
        value = date.fromisoformat(text)
    except ValueError:
        return text
    return value if value >= date(1900, 3, 1) else text  # Excel cannot show earlier dates


def _datetime(text: str) -> Value:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return text
    return value if value >= datetime(1900, 3, 1) else text


def shown(field: str, text: str | None) -> str:
    """A plan value as text, secrets hidden: for a cell that lists several values."""
    if text is None:
        return ""
    return HIDDEN if _SECRET_FIELD.search(field) else text


def numeric_properties(plan: pl.DataFrame) -> set[tuple[str, str]]:
    """The (mapping, property) pairs whose every value in the plan is a plain number, ids and codes aside."""
    values = (
        plan.select(pl.col("mapping").fill_null(""), "changes")
        .explode("changes")
        .drop_nulls("changes")
        .unnest("changes")
        .select(
            "mapping",
            pl.coalesce(pl.col("property"), pl.col("field"), pl.lit("")).alias("property"),
            "old",
            "new",
            "base",
        )
        .unpivot(on=["old", "new", "base"], index=["mapping", "property"])
        .drop_nulls("value")
        .group_by("mapping", "property")
        .agg(
            (
                pl.col("value").str.contains(_NUMBER)
                & (pl.col("value").str.replace_all("[^0-9]", "").str.len_chars() <= _MAX_DIGITS)
            )
            .all()
            .alias("numeric")
        )
        .filter(pl.col("numeric"))
    )
    return {
        (mapping, prop)
        for mapping, prop, _ in values.iter_rows()
        if not (_ID_LIKE.search(prop) or _ID_SUFFIX.search(prop) or _SECRET_FIELD.search(prop))
    }
