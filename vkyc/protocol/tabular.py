"""A table as CSV, for the REST answers that offer one (``Accept: text/csv``): what a use case returns,
read row by row as the answer is written, so memory does not grow with the rows."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

BOM = "\ufeff"
CSV_CHUNK_CHARS = 64 * 1024
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""A text cell starting so is a formula to a spreadsheet (CSV injection): it is written with a leading
apostrophe, which spreadsheets show as text. Numbers are written as they are."""


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


@dataclass(frozen=True)
class CsvStream:
    """A CSV answer: ``header`` then each row of ``rows`` (an iterator: read as the answer is sent).
    None is an empty cell; a text that a spreadsheet would run as a formula is defused (``_cell``)."""

    filename: str
    header: Sequence[str]
    rows: Iterable[Sequence[Any]]

    def chunks(self, chunk_chars: int = CSV_CHUNK_CHARS) -> Iterator[str]:
        """The document in pieces of about ``chunk_chars`` characters, the byte-order mark first."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        buffer.write(BOM)
        writer.writerow([_cell(cell) for cell in self.header])
        for row in self.rows:
            writer.writerow([_cell(cell) for cell in row])
            if buffer.tell() >= chunk_chars:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()
