"""Pictures of a review workbook as a spreadsheet program shows it: one PNG per sheet, rendered headless.

    .venv/bin/python docs/pictures.py reports/<run>/plan.xlsx docs/pictures Summary customers-accounts

Needs LibreOffice (``soffice``) and poppler (``pdftoppm``, ``pdfinfo``) on the PATH; on Debian::

    apt-get install --no-install-recommends libreoffice-calc-nogui poppler-utils \\
        fonts-crosextra-carlito fonts-liberation2

(Carlito is metrically Calibri, the workbook's font.) The tests do not need any of it.

For each sheet, a copy of the workbook is made in which that sheet alone is visible and active, straight in
the file's XML so that nothing the writer put in (charts, validations, styles) is lost on the way. LibreOffice
prints the copy to a PDF with every sheet on one page of its own size (``SinglePageSheets``), and pdftoppm
renders the sheet's page at ``--dpi``, cut to its top ``--height`` and left ``--width`` pixels when a sheet is
large.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

_SHEET = re.compile(r"<(?:\w+:)?sheet\b[^>]*?/>")
_NAME = re.compile(r'\bname="([^"]*)"')
_STATE = re.compile(r'\s+state="[^"]*"')
TOOLS = ("soffice", "pdftoppm", "pdfinfo")
EXPORT = 'pdf:calc_pdf_Export:{"SinglePageSheets":{"type":"boolean","value":"true"}}'


def sheet_names(workbook_xml: str) -> list[str]:
    """The workbook's sheets in their order, hidden ones too (names as the XML escapes them)."""
    return [found.group(1) if (found := _NAME.search(tag)) else "" for tag in _SHEET.findall(workbook_xml)]


def only(workbook_xml: str, index: int) -> str:
    """``workbook_xml`` with the sheet at ``index`` alone visible, and active."""
    for i, tag in enumerate(_SHEET.findall(workbook_xml)):
        bare = _STATE.sub("", tag)
        shown = bare if i == index else re.sub(r"\s*/>$", ' state="hidden"/>', bare)
        workbook_xml = workbook_xml.replace(tag, shown, 1)
    for attribute in ("activeTab", "firstSheet"):
        workbook_xml = re.sub(rf'\b{attribute}="\d+"', f'{attribute}="{index}"', workbook_xml)
    if "activeTab=" not in workbook_xml:
        workbook_xml = re.sub(r"<((?:\w+:)?workbookView)\b", rf'<\1 activeTab="{index}"', workbook_xml, count=1)
    return workbook_xml


def copy_with(source: Path, target: Path, workbook_xml: str) -> None:
    """``source`` copied to ``target`` with its ``xl/workbook.xml`` replaced."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for item in old.infolist():
            data = workbook_xml.encode("utf-8") if item.filename == "xl/workbook.xml" else old.read(item)
            new.writestr(item, data)


def _run(*command: str) -> str:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{command[0]} failed ({done.returncode}): {(done.stderr or done.stdout).strip()}")
    return done.stdout


def render(
    workbook: Path, sheet: str, out: Path, *, dpi: int = 110, height: int | None = None, width: int | None = None
) -> Path:
    """``sheet`` of ``workbook`` as ``out/<sheet>.png`` (its name in lower case, spaces as dashes)."""
    with zipfile.ZipFile(workbook) as z:
        workbook_xml = z.read("xl/workbook.xml").decode("utf-8")
    names = sheet_names(workbook_xml)
    if sheet not in names:
        raise SystemExit(f"{workbook}: no sheet {sheet!r}; its sheets are {', '.join(names)}")
    index = names.index(sheet)
    png = out / f"{re.sub(r'[^A-Za-z0-9_.]+', '-', sheet).strip('-').lower() or 'sheet'}.png"
    with tempfile.TemporaryDirectory(prefix="pictures-") as tmp:
        folder = Path(tmp)
        copy = folder / "sheet.xlsx"
        copy_with(workbook, copy, only(workbook_xml, index))
        # A profile of its own, so that it runs beside a LibreOffice the user has open.
        profile = f"-env:UserInstallation={(folder / 'profile').as_uri()}"
        _run("soffice", profile, "--headless", "--convert-to", EXPORT, "--outdir", tmp, str(copy))
        pdf = folder / "sheet.pdf"
        pages = re.search(r"^Pages:\s+(\d+)", _run("pdfinfo", str(pdf)), re.MULTILINE)
        # LibreOffice 7 prints hidden sheets too (each on its page, in the workbook's order); a version that
        # leaves them out prints the one visible sheet alone.
        page = index + 1 if pages is not None and int(pages.group(1)) == len(names) else 1
        crop = ["-x", "0", "-y", "0"] if height or width else []
        crop += ["-H", str(height)] if height else []
        crop += ["-W", str(width)] if width else []
        stem = folder / "page"
        _run(
            "pdftoppm",
            "-png",
            "-r",
            str(dpi),
            "-f",
            str(page),
            "-l",
            str(page),
            *crop,
            "-singlefile",
            str(pdf),
            str(stem),
        )
        out.mkdir(parents=True, exist_ok=True)
        shutil.move(stem.with_suffix(".png"), png)
    return png


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("workbook", type=Path, help="a review workbook (reports/<run>/plan.xlsx)")
    parser.add_argument("out", type=Path, help="the folder to write <sheet>.png in")
    parser.add_argument("sheets", nargs="*", help="the sheets to render (default: the first two)")
    parser.add_argument("--dpi", type=int, default=110, help="pixels per inch (default 110)")
    parser.add_argument("--height", type=int, default=None, help="keep only the top HEIGHT pixels of each sheet")
    parser.add_argument("--width", type=int, default=None, help="keep only the left WIDTH pixels of each sheet")
    args = parser.parse_args(argv)
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        print(f"{', '.join(missing)} not on the PATH: see the top of {Path(__file__).name}", file=sys.stderr)
        return 2
    with zipfile.ZipFile(args.workbook) as z:
        names = sheet_names(z.read("xl/workbook.xml").decode("utf-8"))
    for sheet in args.sheets or names[:2]:
        print(render(args.workbook, sheet, args.out, dpi=args.dpi, height=args.height, width=args.width))
    return 0


if __name__ == "__main__":
    sys.exit(main())
