"""Spreadsheet files in and out: what a union worker uploads (xlsx or csv) read as rows of text, and the xlsx
files we hand back (exports and import templates).

This module knows nothing of units or people. A caller describes its columns (``Column``) and gets each row's
cells as the text the user sees, keyed by column, plus what is wrong with any cell whose text cannot be trusted
(a formula, part of a merged range, a long number Excel has already rounded). Whether that text is a valid ID
number is the domain's business (``core/id_numbers.py`` normalises full-width digits and a lowercase x).

Uploaded files are hostile as often as not: every way a file cannot be read is a ``SpreadsheetError`` (an
``InvalidInput``) whose message tells the user what to do, never an exception from a library. The zip checks
run before openpyxl opens anything. ``docs/imports.md`` ("Files we accept") lists every case and its message.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import enum
import math
import os
import re
import tempfile
import unicodedata
import warnings
import zipfile
import zlib
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import BinaryIO
from xml.etree.ElementTree import ParseError
from xml.parsers import expat
from zoneinfo import ZoneInfo

import openpyxl
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.reader.excel import ExcelReader
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.xml.constants import SHARED_STRINGS

from core.errors import InvalidInput

MB = 1024 * 1024
SAVE_AS = "请用 Excel 或 WPS 打开后另存为 .xlsx 或 .csv 再上传"
#: Headers people put in every roster that hold nothing to import.
IGNORED_HEADERS = ("序号",)

# A zip bomb is refused from its central directory, before anything is inflated. Measured on real files: a
# 1,000,000-row member sheet written by openpyxl inflates 8-10x; Excel's own sheets, with their shared strings,
# less. A deflate stream cannot exceed ~1,030x, so a member above 100x that is also big is built to hurt.
ZIP_MAX_RATIO = 100
ZIP_RATIO_FLOOR = 10 * MB
ZIP_MAX_TOTAL = 2048 * MB
ZIP_MAX_MEMBERS = 10_000

_SAMPLE = 64 * 1024
_CHUNK = 1024 * 1024
_CHINA = ZoneInfo("Asia/Shanghai")
_STRAY = " \t\r\n\f\v\u00a0\u3000\u2002\u2003\u2009\u200b\u200c\u200d\u2060\ufeff"
# Excel shows a number of more than 11 digits typed into a General cell as 4.20502199001011E+17 and keeps only
# 15 digits; a csv saved from that sheet holds the rounded text.
_SCIENTIFIC = re.compile(r"[0-9](?:\.[0-9]+)?[Ee]\+[0-9]{1,3}")
_NOT_SPREADSHEETS = (
    (b"\x89PNG", "一张 PNG 图片"), (b"\xff\xd8\xff", "一张 JPEG 图片"), (b"GIF8", "一张 GIF 图片"),
    (b"%PDF", "一个 PDF 文件"), (b"Rar!", "一个 RAR 压缩包"), (b"7z\xbc\xaf\x27\x1c", "一个 7z 压缩包"),
    (b"\x1f\x8b", "一个 gzip 压缩包"),
)
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
# What openpyxl raises on a damaged package; turned into one message, the cause kept as __cause__.
_BROKEN = (zipfile.BadZipFile, zlib.error, ParseError, expat.ExpatError, KeyError, ValueError, TypeError,
           IndexError, AttributeError, EOFError, OSError)


@dataclass(frozen=True)
class Column:
    """One column of a file as the caller's code knows it (``key``) and as the user sees it (``header``)."""

    key: str
    header: str
    required: bool = False
    #: A coded field: its allowed texts, a dropdown in the template.
    choices: tuple[str, ...] = ()
    #: Other headers accepted on import (e.g. "公民身份号码" for "身份证号码").
    aliases: tuple[str, ...] = ()
    width: int = 16
    #: Help text, the comment on the template's header cell.
    note: str = ""
    #: How the template formats the column: "text" (the default: Excel keeps what is typed, so an ID number
    #: is never turned into 4.2E+17 and a code keeps its leading zeros), "number" or "date".
    kind: str = "text"


class SpreadsheetError(InvalidInput):
    """The file as a whole cannot be read. The message tells the user what to do; ``errors`` is keyed by
    "file", "header", "sheet" or "row N"."""

    def __init__(self, problem: str, *, where: str = "file", errors: dict[str, list[str]] | None = None):
        super().__init__(problem, errors=errors or {where: [problem]})


@dataclass(frozen=True)
class Row:
    #: The row number the user sees in Excel (the header is row 1).
    number: int
    #: Every column's key -> the cell's text, stray spaces stripped; "" for a blank cell or a column the file
    #: does not have, so a caller never has to tell the two apart (neither may overwrite a stored value).
    values: dict[str, str]
    #: Column key -> what is wrong with that cell; its value is then "".
    problems: dict[str, str] = field(default_factory=dict)


@dataclass
class _Table:
    """One sheet of an opened file: its header row, its rows after that, and how to read a cell."""

    where: str  # "工作表「会员」" or "文件": how messages name it
    header: list[str]
    rows: Iterator[tuple[int, Sequence]]  # (row number, raw cells)
    cell: Callable[[object, str, int], tuple[str, str | None]]  # (raw, column letter, row) -> (text, problem)
    close: Callable[[], None]
    merged: list[tuple[int, int, int, int, str]] = field(default_factory=list)  # rows and columns, ref


def read(source: BinaryIO | Path, filename: str, columns: Sequence[Column], *, max_rows: int = 1_000_000,
         max_bytes: int = 60 * MB, ignored_headers: Sequence[str] = IGNORED_HEADERS) -> Iterator[Row]:
    """The data rows of an uploaded xlsx or csv, streamed; fully blank rows skipped.

    The format is read from the content, not the name. Everything about the file as a whole (size, format,
    encoding, zip bomb, headers, merged header cells) is checked here, before the first row: a problem is a
    ``SpreadsheetError``. A problem found later (a row that cannot be decoded, too many rows) is raised by the
    iterator, naming the row; a problem with one cell is in ``Row.problems``.
    """
    stream, owned = _open(source, max_bytes)
    table = None
    try:
        table = _xlsx_table(stream) if _format(stream, filename) == "xlsx" else _csv_table(stream)
        _refuse_merged_header(table)
        mapping = _map_header(table, columns, ignored_headers)
    except BaseException:
        if table is not None:
            table.close()
        if owned:
            stream.close()
        raise
    return _rows(table, mapping, [column.key for column in columns], max_rows, stream if owned else None)


def _rows(table: _Table, mapping: list[tuple[int, Column]], keys: list[str], max_rows: int,
          owned: BinaryIO | None) -> Iterator[Row]:
    letters = [(index, column.key, get_column_letter(index + 1)) for index, column in mapping]
    key_of = {index + 1: column.key for index, column in mapping}
    merged = _MergeSweep(table.merged, set(key_of)) if table.merged else None
    read_cell, count = table.cell, 0
    try:
        for number, cells in table.rows:
            values, problems = dict.fromkeys(keys, ""), {}
            width = len(cells)
            for index, key, letter in letters:
                if index < width:
                    text, problem = read_cell(cells[index], letter, number)
                    values[key] = text
                    if problem:
                        problems[key] = problem
            for column, ref in merged.cells(number) if merged else ():
                values[key_of[column]] = ""
                problems[key_of[column]] = (f"合并单元格 {ref} 中的 {get_column_letter(column)}{number}：请取消合并，"
                                            "在每一行填上内容")
            if not problems and not any(values.values()):
                continue
            count += 1
            if count > max_rows:
                raise SpreadsheetError(f"数据超过 {max_rows:,} 行的上限：请分成几个文件上传", where=f"row {number}")
            yield Row(number, values, problems)
    finally:
        table.close()
        if owned is not None:
            owned.close()


class _MergeSweep:
    """The merged ranges that cover a row, for rows asked in increasing order (as a sheet streams)."""

    def __init__(self, ranges: list[tuple[int, int, int, int, str]], columns: set[int]):
        # Only ranges that touch a column we read matter; sorted by first row for the sweep.
        self._pending = sorted((r for r in ranges if any(c in columns for c in range(r[2], r[3] + 1))),
                               reverse=True)
        self._active: list[tuple[int, int, int, int, str]] = []
        self._columns = columns

    def cells(self, row: int) -> Iterator[tuple[int, str]]:
        while self._pending and self._pending[-1][0] <= row:
            self._active.append(self._pending.pop())
        self._active = [r for r in self._active if r[1] >= row]
        for _, _, first, last, ref in self._active:
            for column in range(first, last + 1):
                if column in self._columns:
                    yield column, ref


# --- opening: size and format -------------------------------------------------------------------------------

def _open(source: BinaryIO | Path, max_bytes: int) -> tuple[BinaryIO, bool]:
    """A seekable binary stream at its start, refused when larger than ``max_bytes``; and whether we opened it."""
    if isinstance(source, (str, Path)):
        _check_size(Path(source).stat().st_size, max_bytes)
        return open(source, "rb"), True
    if source.seekable():
        size = source.seek(0, 2)
        source.seek(0)
        _check_size(size, max_bytes)
        return source, False
    # A stream that cannot seek (a socket, a pipe): copy it aside, counting, since a zip is read from its end.
    spool = tempfile.SpooledTemporaryFile(max_size=8 * MB)
    size = 0
    while chunk := source.read(_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            spool.close()
            _check_size(size, max_bytes)
        spool.write(chunk)
    spool.seek(0)
    return spool, True


def _check_size(size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise SpreadsheetError(f"文件超过 {max_bytes / MB:.0f} MB 的上限：请分成几个文件上传")


def _format(stream: BinaryIO, filename: str) -> str:
    """"xlsx" or "csv", from the first bytes; anything else is refused, saying what it looks like."""
    head = stream.read(_SAMPLE)
    stream.seek(0)
    if not head:
        raise SpreadsheetError("文件是空的")
    for magic, what in _NOT_SPREADSHEETS:
        if head.startswith(magic):
            raise SpreadsheetError(f"「{filename}」是{what}，不是表格：{SAVE_AS}")
    if head.startswith(_OLE):
        raise SpreadsheetError(f"「{filename}」是旧版 Excel 的 .xls 文件（或加了打开密码的文件）：请去掉密码，{SAVE_AS}")
    if head.startswith(_ZIP):
        return "xlsx"
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith((b"<!doctype html", b"<html", b"<table", b"<?xml", b"<meta")):
        # Many systems export an HTML table or an XML Spreadsheet 2003 named .xls.
        raise SpreadsheetError(f"「{filename}」是网页或 XML 格式的表格，不是真正的 Excel 文件：{SAVE_AS}")
    return "csv"


# --- xlsx ---------------------------------------------------------------------------------------------------

def _xlsx_table(stream: BinaryIO) -> _Table:
    archive = _checked_zip(stream)
    reader = None
    try:
        reader = _WorkbookReader(stream, read_only=True, data_only=False, keep_links=False)
        with warnings.catch_warnings():
            # openpyxl warns about parts it drops (extensions, default styles); none matter for reading values.
            warnings.simplefilter("ignore")
            reader.read()
    except _BROKEN as exc:
        if reader is not None:
            reader.shared_strings.close()
        archive.close()
        raise SpreadsheetError(f"文件已损坏，或不是 .xlsx 文件：{SAVE_AS}") from exc
    workbook, strings = reader.wb, reader.shared_strings

    def close() -> None:
        workbook.close()
        strings.close()
        archive.close()

    try:
        return _first_sheet(workbook, archive, close)
    except BaseException:
        close()
        raise


class _WorkbookReader(ExcelReader):
    """openpyxl's reader (what ``load_workbook`` runs) with the shared strings kept on disk."""

    def __init__(self, *args, **options):
        super().__init__(*args, **options)
        self.shared_strings = _SharedStrings()

    def read_strings(self) -> None:
        part = self.package.find(SHARED_STRINGS)
        if part is not None:
            with self.archive.open(part.PartName[1:]) as source:
                self.shared_strings.load(source)

    def read_worksheets(self) -> None:
        # openpyxl's own sizes every sheet as it opens it, parsing until <dimension>: a sheet without one (files
        # from other programs) is parsed whole into a tree of every row, 100 MB for a million rows, before the
        # first row is read. The size is not needed: every row is read until the last.
        for sheet, rel in self.parser.find_sheets():
            if rel.target in self.valid_files and "chartsheet" not in rel.Type:
                worksheet = _UnsizedSheet(self.wb, sheet.name, rel.target, self.shared_strings)
                worksheet.sheet_state = sheet.state
                self.wb._sheets.append(worksheet)


class _UnsizedSheet(ReadOnlyWorksheet):
    def _get_size(self) -> None:
        """Rows and columns unbounded: a wrong <dimension> (common too) would cut columns off."""


class _SharedStrings(Sequence):
    """An xlsx's shared strings table (every distinct text of the workbook, as Excel writes it), in a temporary
    file with an index of offsets.

    openpyxl holds the table as a list of str built through ElementTree: for an Excel-saved 1,000,000-row
    member sheet (2,000,000 distinct texts) that is 347 MB and 29 s of CPU before the first row. Here expat
    streams it to disk: 8 bytes a string in memory, a small cache for the texts a column repeats (an ethnicity,
    an education); the whole file opens in 46 MB and 6.6 s."""

    def __init__(self):
        self._file = tempfile.TemporaryFile()
        self._offsets = array("q", [0])
        self._get = lru_cache(maxsize=4096)(self._read)

    def load(self, source: BinaryIO) -> None:
        parser = expat.ParserCreate(namespace_separator="}")
        parser.buffer_text = True
        texts: list[str] = []
        state = {"t": False, "phonetic": 0}  # inside a <t>; inside a phonetic run (<rPh>), which is not the text

        def start(name: str, _attributes) -> None:
            tag = name.rpartition("}")[2]
            if tag == "si":
                texts.clear()
            elif tag == "t":
                state["t"] = True
            elif tag == "rPh":
                state["phonetic"] += 1

        def end(name: str) -> None:
            tag = name.rpartition("}")[2]
            if tag == "t":
                state["t"] = False
            elif tag == "rPh":
                state["phonetic"] -= 1
            elif tag == "si":
                # As openpyxl does: Excel writes a literal "_x000D_" as "_x005F_x000D_".
                data = "".join(texts).replace("x005F_", "").encode()
                self._file.write(data)
                self._offsets.append(self._offsets[-1] + len(data))

        def text(data: str) -> None:
            if state["t"] and not state["phonetic"]:
                texts.append(data)

        parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, text
        parser.StartDoctypeDeclHandler = _refuse_doctype
        while chunk := source.read(_CHUNK):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
        self._file.flush()

    def _read(self, index: int) -> str:
        start, end = self._offsets[index], self._offsets[index + 1]
        return os.pread(self._file.fileno(), end - start, start).decode()

    def __getitem__(self, index: int) -> str:
        if not 0 <= index < len(self):
            raise IndexError(index)  # a cell pointing past the table: the sheet is damaged
        return self._get(index)

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def close(self) -> None:
        self._file.close()


def _refuse_doctype(*_) -> None:
    # Excel never writes a DTD; one in a part is there to expand entities ("billion laughs").
    raise expat.ExpatError("a DTD in an xlsx part")


def _checked_zip(stream: BinaryIO) -> zipfile.ZipFile:
    """The package, after its central directory shows it is an xlsx and not a zip bomb."""
    try:
        archive = zipfile.ZipFile(stream)
        members = archive.infolist()
    except (zipfile.BadZipFile, zlib.error, ValueError, OSError, EOFError) as exc:
        raise SpreadsheetError(f"文件已损坏（不完整的 .xlsx 压缩包）：{SAVE_AS}") from exc
    total = sum(member.file_size for member in members)
    bomb = len(members) > ZIP_MAX_MEMBERS or total > ZIP_MAX_TOTAL or any(
        m.file_size > ZIP_RATIO_FLOOR and m.file_size > ZIP_MAX_RATIO * max(m.compress_size, 1) for m in members)
    names = {member.filename for member in members}
    problem = None
    if bomb:
        problem = "这个 .xlsx 解压后大得异常（疑似“压缩炸弹”），不予读取：请检查文件来源，或另存为 .csv 再上传"
    elif "xl/workbook.xml" not in names:
        what = ("WPS 或 LibreOffice 的 .ods 文件" if "content.xml" in names else
                "Word 文档" if "word/document.xml" in names else "压缩包")
        problem = f"这是{what}，不是 .xlsx 表格：{SAVE_AS}"
    if problem:
        archive.close()
        raise SpreadsheetError(problem)
    return archive


def _first_sheet(workbook, archive: zipfile.ZipFile, close: Callable[[], None]) -> _Table:
    """The first visible worksheet (a template's choice lists live on a hidden one)."""
    sheets = [ws for ws in workbook.worksheets if ws.sheet_state == "visible"]
    if not sheets:
        raise SpreadsheetError("文件里没有可见的工作表", where="sheet")
    sheet = sheets[0]
    where = f"工作表「{sheet.title}」"
    merged = _merged_ranges(archive, sheet._worksheet_path, where)
    rows = enumerate(_guarded(sheet.iter_rows(), where), start=1)
    header = next(rows, (1, ()))[1]
    header_texts = [_xlsx_cell(cell, get_column_letter(i + 1), 1)[0] for i, cell in enumerate(header)]
    return _Table(where, header_texts, rows, _xlsx_cell, close, merged)


def _guarded(rows: Iterator, where: str) -> Iterator:
    """The sheet's rows; a damaged sheet part found midway is a SpreadsheetError, not a library exception."""
    try:
        yield from rows
    except _BROKEN as exc:
        raise SpreadsheetError(f"{where}已损坏，读不下去：{SAVE_AS}", where="sheet") from exc


def _merged_ranges(archive: zipfile.ZipFile, path: str, where: str) -> list[tuple[int, int, int, int, str]]:
    """The sheet's merged ranges as (first row, last row, first column, last column, ref).

    openpyxl's read-only mode does not report merges, and <mergeCells> comes after all the rows, so the sheet
    part is streamed once before the rows are read. expat parses everything but the body of <sheetData>, which
    is skipped by a byte search. On a 1,000,000-row sheet (490 MB of XML, on the shared 2-core machine) expat
    over every cell took 174 s; with the skip, 5.5 s, the time it takes to inflate the part. No tree is built."""
    refs: list[str] = []

    def start(name: str, attributes: dict[str, str]) -> None:
        if name.endswith("mergeCell") and "ref" in attributes:
            refs.append(attributes["ref"])

    def doctype(*_) -> None:
        raise SpreadsheetError(f"{where}含有 DTD，不是 Excel 写出的文件：{SAVE_AS}", where="sheet")

    parser = expat.ParserCreate(namespace_separator="}")
    parser.StartElementHandler = start
    parser.StartDoctypeDeclHandler = doctype
    try:
        with archive.open(path.lstrip("/")) as part:
            for piece in _without_sheet_data(part):
                parser.Parse(piece, False)
        parser.Parse(b"", True)
    except _BROKEN as exc:
        raise SpreadsheetError(f"{where}已损坏：{SAVE_AS}", where="sheet") from exc
    ranges = []
    for ref in refs:
        try:
            first_column, first_row, last_column, last_row = range_boundaries(ref)
        except (ValueError, TypeError):
            continue  # a ref no cell can match covers no cell
        if (first_row, first_column) != (last_row, last_column):
            ranges.append((first_row, last_row, first_column, last_column, ref))
    return ranges


_SHEET_DATA_START = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?sheetData\s*>")
_SHEET_DATA_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?sheetData\s*>")
_TAG_TAIL = 64  # longer than either tag: a tag split across two chunks is found in the next one


def _without_sheet_data(part: BinaryIO) -> Iterator[bytes]:
    """The sheet part's bytes with the body of <sheetData> left out. Cell text cannot hold a literal "<", so the
    first </sheetData> after its start tag is the end of the rows."""
    pending, pattern, inside = b"", _SHEET_DATA_START, False
    while chunk := part.read(_CHUNK):
        pending += chunk
        while pattern is not None and (found := _find_tag(pattern, pending)):
            if inside:
                pending, pattern, inside = pending[found.start():], None, False
            else:
                yield pending[:found.end()]
                pending, pattern, inside = pending[found.end():], _SHEET_DATA_END, True
        if pattern is None:
            yield pending
            pending = b""
        elif inside:
            pending = pending[-_TAG_TAIL:]
        else:
            yield pending[:-_TAG_TAIL]
            pending = pending[-_TAG_TAIL:]
    yield pending


def _find_tag(pattern: re.Pattern, data: bytes) -> re.Match | None:
    # bytes.find first: the regex alone tries every "<" of 490 MB of cells and costs more than the inflating.
    position = data.find(b"sheetData")
    while position != -1:
        if found := pattern.search(data, max(0, position - _TAG_TAIL), position + _TAG_TAIL):
            return found
        position = data.find(b"sheetData", position + 1)
    return None


def _xlsx_cell(cell, letter: str, row: int) -> tuple[str, str | None]:
    value = getattr(cell, "value", None)
    if value is None:
        return "", None
    if isinstance(value, str) and cell.data_type == "s":
        return _text(value, letter, row)
    kind = cell.data_type
    if kind == "f":
        return "", f"公式单元格 {letter}{row}：请复制该列后“选择性粘贴为数值”"
    if kind == "e":
        return "", f"单元格 {letter}{row} 是错误值 {value}：请改成实际内容"
    if isinstance(value, bool):
        return ("TRUE" if value else "FALSE"), None
    if isinstance(value, int):
        return str(value), None
    if isinstance(value, float):
        return _float_text(value, f"{letter}{row}")
    if isinstance(value, dt.datetime):
        return (value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")), None
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat(), None
    return _text(str(value), letter, row)


def _float_text(value: float, coordinate: str) -> tuple[str, str | None]:
    if not math.isfinite(value):
        return "", f"单元格 {coordinate} 不是有效的数字"
    if value.is_integer():
        # Excel keeps 15 significant digits: an 18-digit ID number typed as a number has lost its last three.
        if abs(value) >= 1e15:
            return "", (f"单元格 {coordinate} 的数字 {value:.15G} 超过 15 位，Excel 已丢掉末尾几位：请把该列设为"
                        "“文本”格式后重新输入")
        return str(int(value)), None
    return format(value, ".15g"), None


def _text(value: str, letter: str, row: int) -> tuple[str, str | None]:
    text = value.strip(_STRAY)
    if "+" in text and _SCIENTIFIC.fullmatch(text):
        return "", (f"单元格 {letter}{row} 是科学计数法 {text}，Excel 已丢掉位数：请把该列设为“文本”格式后"
                    "重新输入")
    return text, None


# --- csv ----------------------------------------------------------------------------------------------------

def _csv_table(stream: BinaryIO) -> _Table:
    encoding = _csv_encoding(stream)
    lines = _decoded_lines(stream, encoding)
    try:
        first = next(lines, "")
    except UnicodeDecodeError as exc:  # a header line longer than the sample
        raise SpreadsheetError("第 1 行有无法识别的字符（文件编码应为 UTF-8 或 GBK）", where="row 1") from exc
    delimiter = max(",\t;", key=first.count)  # Excel saves commas; "Unicode text" exports tabs
    records = csv.reader(_prepend(first, lines), delimiter=delimiter)
    rows = _csv_rows(records)
    header = next(rows, (1, []))[1]
    return _Table("文件", header, rows, _text, lambda: None)


def _csv_encoding(stream: BinaryIO) -> str:
    """UTF-8 (with or without the BOM Excel writes) or GB18030 (a superset of GBK, what Chinese Excel saves as
    "CSV"), from the first 64 KiB. Strict UTF-8 first: GBK text is almost never valid UTF-8."""
    head = stream.read(_SAMPLE)
    whole = len(head) < _SAMPLE
    stream.seek(0)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise SpreadsheetError("这是 UTF-16（Unicode 文本）编码的文件：请另存为“CSV UTF-8（逗号分隔）”或 .xlsx")
    for encoding in ("utf-8", "gb18030"):
        try:
            text = codecs.getincrementaldecoder(encoding)().decode(head, final=whole)
        except UnicodeDecodeError:
            continue
        if not any(unicodedata.category(c) == "Cc" and c not in "\t\r\n" for c in text):
            return encoding
        break  # control characters: binary data that happens to decode
    raise SpreadsheetError(f"无法识别的文件：既不是 .xlsx，也不是 UTF-8 或 GBK 编码的 .csv。{SAVE_AS}")


def _decoded_lines(stream: BinaryIO, encoding: str) -> Iterator[str]:
    # Split on b"\n" before decoding, so a bad byte is pinned to its line: 0x0A is never part of a UTF-8 or
    # GB18030 multi-byte character.
    for line in stream:
        yield line.decode(encoding)


def _prepend(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def _csv_rows(records: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
    number = 0
    while True:
        number += 1
        try:
            record = next(records)
        except StopIteration:
            return
        except UnicodeDecodeError as exc:
            raise SpreadsheetError(f"第 {number} 行有无法识别的字符（文件编码应为 UTF-8 或 GBK）：请另存为"
                                   "“CSV UTF-8（逗号分隔）”", where=f"row {number}") from exc
        except csv.Error as exc:
            raise SpreadsheetError(f"第 {number} 行的格式不对（引号不成对或单元格过长）：{SAVE_AS}",
                                   where=f"row {number}") from exc
        yield number, record


# --- headers ------------------------------------------------------------------------------------------------

def _header_name(text: str) -> str:
    """A header as compared: full-width forms folded (NFKC), every space dropped, a * (required) dropped."""
    return "".join(unicodedata.normalize("NFKC", text).split()).strip("*" + _STRAY)


def _map_header(table: _Table, columns: Sequence[Column], ignored: Sequence[str]) -> list[tuple[int, Column]]:
    """(index in the row, column) for every header, or a SpreadsheetError naming every header problem."""
    known = {_header_name(name): column for column in columns for name in (column.header, *column.aliases)}
    skip = {_header_name(name) for name in ignored}
    mapping, unknown, seen = [], [], {}
    for index, text in enumerate(table.header):
        name = _header_name(text)
        if not name or name in skip:
            continue
        column = known.get(name)
        if column is None:
            unknown.append(text.strip(_STRAY))
            continue
        seen.setdefault(column.key, []).append(text.strip(_STRAY))
        mapping.append((index, column))
    problems = []
    missing = [column.header for column in columns if column.required and column.key not in seen]
    if missing:
        problems.append(f"缺少必填的列：{'、'.join(missing)}")
    if unknown:
        shown = "、".join(unknown[:10]) + ("等" if len(unknown) > 10 else "")
        problems.append(f"不认识的列：{shown}（可用的列：{'、'.join(c.header for c in columns)}）")
    for names in seen.values():
        if len(names) > 1:
            problems.append(f"重复的列：{'、'.join(names)} 是同一列")
    if problems:
        raise SpreadsheetError(f"{table.where}第 1 行的表头不对：{'；'.join(problems)}", errors={"header": problems})
    return mapping


def _refuse_merged_header(table: _Table) -> None:
    for first_row, _, _, _, ref in table.merged:
        if first_row == 1:
            raise SpreadsheetError(f"{table.where}的表头有合并单元格 {ref}：第 1 行应是表头，每列一格，请取消合并",
                                   where="header")


# --- writing ------------------------------------------------------------------------------------------------

_BOLD = Font(bold=True)
_REQUIRED = Font(bold=True, color="C00000")
_FORMATS = {"text": "@", "date": "yyyy-mm-dd", "number": "General"}
_INLINE_LIST_LIMIT = 255  # Excel's limit for a list typed into a data validation


def write_xlsx(columns: Sequence[Column], rows: Iterable[Mapping[str, object]], *, sheet_title: str,
               chunk_size: int = _CHUNK) -> Iterator[bytes]:
    """An xlsx of ``rows`` (each a mapping of column key to value), in chunks, memory flat however many rows.

    openpyxl's write-only mode writes each row to a temporary file as it comes; the finished package is spooled
    to another and handed out in chunks (1 MiB by default). Strings stay strings (an ID number never becomes 4.2E+17, a text
    starting with "=" never becomes a formula); integers of 15 digits or more are written as text; dates as
    dates."""
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(_sheet_title(sheet_title))
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.freeze_panes = "A2"
    sheet.append([_styled(sheet, column.header, _BOLD) for column in columns])
    for row in rows:
        sheet.append([_export_value(sheet, row.get(column.key)) for column in columns])
    with tempfile.TemporaryFile() as spool:
        workbook.save(spool)
        spool.seek(0)
        while chunk := spool.read(chunk_size):
            yield chunk


def _styled(sheet, value: str, font: Font) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value)
    cell.font = font
    return cell


def _export_value(sheet, value: object) -> object:
    if value is None or isinstance(value, (bool, float)):
        return value
    if isinstance(value, int):
        return str(value) if abs(value) >= 10**15 else value
    if isinstance(value, dt.datetime):
        return value.astimezone(_CHINA).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, dt.date):
        return value
    if isinstance(value, enum.Enum):
        value = value.value
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))  # control characters make an xlsx Excel refuses to open
    if text.startswith("=") and sheet is not None:
        cell = WriteOnlyCell(sheet, text)
        cell.data_type = "s"  # openpyxl would write a formula
        return cell
    return text


def _sheet_title(title: str) -> str:
    return re.sub(r"[\[\]:*?/\\]", "", title)[:31] or "Sheet1"


def template(columns: Sequence[Column], *, sheet_title: str, examples: Sequence[Mapping[str, object]] = ()) -> bytes:
    """An xlsx to download and fill in: headers (required ones with * and in red), each with its note as a
    comment, a dropdown on every coded column, text format on text columns (so Excel keeps ID numbers and
    leading zeros as typed), the header row frozen, and ``examples`` as the first rows."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = _sheet_title(sheet_title)
    for index, column in enumerate(columns, start=1):
        letter = get_column_letter(index)
        cell = sheet.cell(1, index, column.header + ("*" if column.required else ""))
        cell.font = _REQUIRED if column.required else _BOLD
        cell.comment = Comment(_header_note(column), "工会", width=240, height=120)
        dimension = sheet.column_dimensions[letter]
        dimension.width = column.width
        dimension.number_format = _FORMATS.get(column.kind, "@")
        if column.choices:
            validation = DataValidation(type="list", formula1=_choice_list(workbook, column), allow_blank=True,
                                        showErrorMessage=True, errorTitle=column.header, error="请从下拉列表中选择")
            validation.add(f"{letter}2:{letter}1048576")
            sheet.add_data_validation(validation)
    for number, example in enumerate(examples, start=2):
        for index, column in enumerate(columns, start=1):
            cell = sheet.cell(number, index, _export_value(None, example.get(column.key)))
            if cell.data_type == "f":
                cell.data_type = "s"
            cell.number_format = _FORMATS.get(column.kind, "@")
    sheet.freeze_panes = "A2"
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _header_note(column: Column) -> str:
    parts = [column.note] if column.note else []
    if column.required:
        parts.append("必填。")
    if column.choices:
        parts.append("从下拉列表中选择。")
    return "\n".join(parts) or column.header


def _choice_list(workbook, column: Column) -> str:
    """The dropdown's list: typed into the validation when short, else a range on the hidden sheet "选项"."""
    inline = ",".join(column.choices)
    if len(inline) + 2 <= _INLINE_LIST_LIMIT and not any("," in c or '"' in c for c in column.choices):
        return f'"{inline}"'
    if "选项" in workbook.sheetnames:
        lists = workbook["选项"]
        letter = get_column_letter(lists.max_column + 1)
    else:
        lists = workbook.create_sheet("选项")
        lists.sheet_state = "hidden"
        letter = "A"
    for row, choice in enumerate(column.choices, start=1):
        lists[f"{letter}{row}"] = choice
    return f"'选项'!${letter}$1:${letter}${len(column.choices)}"
