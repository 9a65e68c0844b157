"""Records from CSV and JSON files (the csv_* and json_* sections)."""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Iterator

from airflow_provider_oomnitza.hooks.base import SourceHook
from airflow_provider_oomnitza.sources.files import CsvSource, JsonAssetSettings


class FileSourceHook(SourceHook):
    """Reads ``filename`` or every ``*.<ext>`` in ``directory`` (sorted, not recursive)."""

    ext = ""
    connection_fields: dict[str, str] = {}
    extra_fields = ("filename", "directory")

    def files(self) -> list[Path]:
        ext = self.ext
        filename = getattr(self.settings, "filename", "")
        if filename:
            path = Path(filename)
            if not path.is_file():
                raise FileNotFoundError(f"{self.where} filename: {path} is not a file")
            return [path]
        directory = Path(self.settings.directory)
        if not directory.is_dir():
            raise FileNotFoundError(f"{self.where} directory: {directory} is not a directory")
        return sorted(directory.glob(f"*.{ext}"))

    def records(self) -> Iterator[dict]:
        for path in self.files():
            yield from self.file_records(path)

    def file_records(self, path: Path) -> Iterator[dict]:
        raise NotImplementedError


class CsvSourceHook(FileSourceHook):
    """CSV rows as records, streamed: UTF-8 with or without BOM, the first row is the header.

    A row whose number of cells differs from the header's, that the csv module cannot
    read, or that is not valid UTF-8 is reported with its file and line and skipped; the
    other rows go on.
    """

    ext = "csv"
    hook_name = "Oomnitza CSV source"
    settings_model = CsvSource

    def file_records(self, path: Path) -> Iterator[dict]:
        header: list[str] | None = None
        for line, row in self._rows(path):
            if header is None:
                header = row
            elif len(row) != len(header):
                self.report(f"{path}:{line}: expected {len(header)} cells as in the header, got {len(row)}; "
                            "row skipped")
            else:
                yield dict(zip(header, row))

    def _rows(self, path: Path) -> Iterator[tuple[int, list[str]]]:
        """(line, cells) of each readable, non-blank row; the others are reported."""
        with path.open("rb") as raw:
            bad_lines: set[int] = set()
            reader = csv.reader(_decoded_lines(raw, bad_lines))
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    self.report(f"{path}:{reader.line_num}: malformed row ({exc}); skipped")
                    continue
                line = reader.line_num
                if bad_lines.intersection(range(line - row_lines(row) + 1, line + 1)):
                    self.report(f"{path}:{line}: not valid UTF-8; row skipped")
                elif row and row != [""]:
                    yield line, row


class JsonSourceHook(FileSourceHook):
    """JSON files holding a list of objects, or one object."""

    ext = "json"
    hook_name = "Oomnitza JSON source"
    settings_model = JsonAssetSettings

    def file_records(self, path: Path) -> Iterator[dict]:
        index = -1
        try:
            for index, item in enumerate(json_items(path)):
                if isinstance(item, dict):
                    yield item
                else:
                    self.report(f"{path}: item #{index} is not an object; skipped")
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: nested too deeply
            if index < 0:
                self.report(f"{path}: not a JSON file ({exc}); file skipped")
            else:
                self.report(f"{path}: not a JSON file after item #{index} ({exc}); the rest of the file skipped")


JSON_BLOCK = 1 << 16
_SPACE = " \t\n\r"


def json_items(path: Path) -> Iterator[Any]:
    """The items of a JSON file holding a list, decoded one at a time while the file is read in blocks
    (memory stays flat however large the file); a file holding anything else is one item."""
    decoder = json.JSONDecoder()
    with path.open("r", encoding="utf-8-sig") as fh:
        buffer = fh.read(JSON_BLOCK)
        start = len(buffer) - len(buffer.lstrip(_SPACE))
        if buffer[start:start + 1] != "[":
            yield json.loads(buffer + fh.read())
            return
        pos, eof, want, after_item, items = start + 1, False, JSON_BLOCK, False, 0
        while True:
            while pos < len(buffer) and buffer[pos] in _SPACE:
                pos += 1
            if pos >= len(buffer):
                if eof:
                    raise json.JSONDecodeError("the list is not closed", buffer, pos)
                more = fh.read(want)
                buffer, pos, eof = buffer[pos:] + more, 0, not more
                continue
            char = buffer[pos]
            if char == "]" and (after_item or not items):
                rest = buffer[pos + 1:] + fh.read()
                if rest.strip(_SPACE):
                    raise json.JSONDecodeError("extra data after the list", rest, 0)
                return
            if after_item:
                if char != ",":
                    raise json.JSONDecodeError("expected ',' or ']' after an item of the list", buffer, pos)
                pos, after_item = pos + 1, False
                continue
            try:
                item, end = decoder.raw_decode(buffer, pos)
                complete = end < len(buffer) or eof  # a number or literal may go on in the next block
            except json.JSONDecodeError:
                if eof:
                    raise
                complete = False
            if not complete:  # the item goes on in the next block; an item larger than a block reads
                more = fh.read(want)  # ever larger blocks, not one retry per block
                buffer, pos, eof, want = buffer[pos:] + more, 0, not more, want * 2
                continue
            yield item
            items, want, pos, after_item = items + 1, JSON_BLOCK, end, True
            if pos > JSON_BLOCK:
                buffer, pos = buffer[pos:], 0


def row_lines(row: list[str]) -> int:
    """How many physical lines a parsed row spanned (quoted newlines)."""
    return 1 + sum(cell.count("\n") for cell in row)


def _decoded_lines(raw, bad_lines: set[int]) -> Iterator[str]:
    """Lines of a binary file as text; lines that are not UTF-8 are noted and decoded leniently."""
    for number, line in enumerate(raw, start=1):
        if number == 1 and line.startswith(b"\xef\xbb\xbf"):
            line = line[3:]
        try:
            yield line.decode("utf-8")
        except UnicodeDecodeError:
            bad_lines.add(number)
            yield line.decode("utf-8", "replace")
