"""CSV and JSON entity files as text: their encoding, byte-order mark, line endings and separator, found and kept.

A byte-order mark at the start of a file says its encoding (UTF-8, UTF-16 or UTF-32, either byte order),
whatever the settings say (:class:`~reconcile.model.systemfile.TextSettings`); a file without one is in the
encoding the settings name. One exception: a UTF-8 mark before text that is not UTF-8, in a file the
settings say is in another encoding, is a mark some program put before text in that encoding (the file
keeps it when written back). A UTF-8 CSV file goes to Polars as it is, and one in another encoding is decoded
once, in memory, and handed to Polars as UTF-8 bytes: no value is handled in Python. How a file was read
(:class:`Style`: its encoding, its mark or none, CRLF or LF, its separator) is how it is written back; a new
file takes the settings, with LF line endings.

A file that does not decode in its encoding is a one-line :class:`~reconcile.errors.ConfigError` naming the
file, the byte and (for an encoding where a byte 10 is a line break) the line, and what to set where.
"""

from __future__ import annotations

import codecs
import json
from dataclasses import dataclass
from pathlib import Path

from reconcile.errors import ConfigError
from reconcile.model.systemfile import TextSettings

MARKS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16's: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
"""The byte-order marks, and the encoding each says a file is in."""

HEAD = 1 << 16
"""Bytes of a UTF-8 CSV file read to find its mark and its line endings (Polars reads the file itself)."""

SEPARATORS = (";", "\t", "|", ",")
"""The separators a header that lacks the key is searched for."""

_MARKED = ("utf-8-sig", "utf-16", "utf-32")
"""The encodings whose codec writes a byte-order mark: a new file in one has a mark unless ``bom`` says not."""


@dataclass(frozen=True)
class Style:
    """How a file is written as text: its encoding (a codec's name), its mark (or none), line ending and separator.

    The mark is the bytes the file started with: a UTF-8 mark may stand before text in another encoding.
    """

    encoding: str = "utf-8"
    mark: bytes = b""
    newline: str = "\n"
    separator: str = ","

    @property
    def utf8(self) -> bool:
        return self.encoding == "utf-8"

    @property
    def bom(self) -> bool:
        return bool(self.mark)

    def encode(self, text: str, *, newlines: bool = True) -> bytes:
        """``text`` as the bytes of a file in this style, its LF line endings made the style's (``newlines``)."""
        if newlines and self.newline != "\n":
            text = text.replace("\n", self.newline)
        return self.mark + text.encode(self.encoding)


def codec(name: str) -> str:
    """The codec an encoding is read and written with, byte order fixed (little-endian, as Windows writes it)."""
    found = codecs.lookup(name).name
    return {"utf-8-sig": "utf-8", "utf-16": "utf-16-le", "utf-32": "utf-32-le"}.get(found, found)


def new_style(settings: TextSettings) -> Style:
    """The style of a new file: the settings', with LF line endings."""
    bom = settings.bom if settings.bom is not None else codecs.lookup(settings.encoding).name in _MARKED
    encoding = codec(settings.encoding)
    mark = {name: mark for mark, name in MARKS}.get(encoding, codecs.BOM_UTF8) if bom else b""
    return Style(encoding, mark, "\n", settings.separator)


def _sniffed(head: bytes, settings: TextSettings) -> tuple[str, int]:
    """The encoding of a file that starts with ``head``, and the length of its mark (0 for none)."""
    for mark, name in MARKS:
        if head.startswith(mark):
            return name, len(mark)
    return codec(settings.encoding), 0


def _newline(text: str) -> str:
    end = text.find("\n")
    return "\r\n" if end > 0 and text[end - 1] == "\r" else "\n"


def read_text(path: Path, settings: TextSettings, source: str) -> tuple[str, Style]:
    """The text of the file at ``path`` (its mark left out) and its style; a ConfigError when it does not decode."""
    data = path.read_bytes()
    encoding, mark = _sniffed(data[:4], settings)
    declared = codec(settings.encoding)
    if encoding == "utf-8" and mark and declared != "utf-8":
        try:
            text = data[mark:].decode("utf-8")
        except UnicodeDecodeError:
            encoding = declared  # a mark put before text in the encoding the settings name
        else:
            return text, Style(encoding, data[:mark], _newline(text), settings.separator)
    text = _decoded(path, data, encoding, mark, source)
    return text, Style(encoding, data[:mark], _newline(text), settings.separator)


def csv_source(path: Path, settings: TextSettings, source: str) -> tuple[Path | bytes, Style]:
    """What Polars reads a CSV file from: the file itself when it is UTF-8, else its text as UTF-8 bytes."""
    with path.open("rb") as handle:
        head = handle.read(HEAD)
    encoding, mark = _sniffed(head[:4], settings)
    if encoding == codec(settings.encoding) == "utf-8":
        start = head[mark:].decode("utf-8", errors="replace")
        return path, Style(encoding, head[:mark], _newline(start), settings.separator)
    text, style = read_text(path, settings, source)
    return text.encode("utf-8"), style


def check_utf8(path: Path, settings: TextSettings, source: str) -> None:
    """A ConfigError naming the byte where the file at ``path`` is not the UTF-8 it is read as, if it is not."""
    data = path.read_bytes()
    encoding, mark = _sniffed(data[:4], settings)
    if encoding == "utf-8":
        _decoded(path, data, encoding, mark, source)


def _decoded(path: Path, data: bytes, encoding: str, mark: int, source: str) -> str:
    try:
        return data[mark:].decode(encoding)
    except UnicodeDecodeError as exc:
        at = mark + exc.start
        lines = data.count(b"\n", 0, at) + 1  # a line count only where a byte 10 is a line break
        line = f" (line {lines})" if not encoding.startswith(("utf-16", "utf-32")) else ""
        guess = "utf-16" if b"\x00" in data[:HEAD] and line else "latin-1" if encoding != "iso8859-1" else "utf-8"
        raise ConfigError(
            f"{path}: byte {at}{line} is not valid {encoding} (the file's encoding); if the file is in another "
            f'encoding, set encoding = "{guess}" (or the file\'s own) in {source or "the system file"}'
        ) from None


def first_line(path: Path, style: Style) -> str:
    """The first line of a file in ``style``, read for a message (what does not decode shown as a mark)."""
    with path.open("rb") as handle:
        head = handle.read(4096)
    text = head[len(style.mark) :].decode(style.encoding, errors="replace")
    return text.split("\n", 1)[0].rstrip("\r")


def header_problem(path: Path, style: Style, key: str, source: str) -> str:
    """The words for a CSV file whose header has no column ``key``: the header found, and a separator it may use."""
    header = first_line(path, style)
    shown = json.dumps(header if len(header) <= 200 else header[:200] + "…", ensure_ascii=False)
    message = f'{path}: the header has no column "{key}"; found {shown}'
    where = source or "the system file"
    if "\x00" in header:
        return f'{message} — it looks like UTF-16 without a byte-order mark: set encoding = "utf-16" in {where}'
    others = [s for s in SEPARATORS if s != style.separator and s in header]
    fits = [s for s in others if key in (part.strip().strip('"') for part in header.split(s))]
    if fits or others:
        best = fits[0] if fits else max(others, key=header.count)
        sep = json.dumps(best)
        message += f" — is the separator {sep}? Set separator = {sep} in {where}"
    return message
