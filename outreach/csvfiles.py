"""CSV files that people open in a spreadsheet program.

Excel, LibreOffice and Google Sheets run a cell that starts with ``=``, ``+``, ``-`` or ``@``
(or a tab or carriage return before one) as a formula: a contacts file can carry
``=HYPERLINK(...)`` into the rejects file a coordinator opens. Every CSV Outreach writes goes
through ``writer``, which puts an apostrophe in front of such a cell (the spreadsheet shows
the text as it was, and runs nothing). ``restore`` takes exactly that apostrophe off again, so
a file Outreach wrote imports as it was written.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, TextIO

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: object) -> str:
    """A cell as text no spreadsheet runs.

    >>> neutralise("=1+1"), neutralise("+44 7400 123456"), neutralise("Amina"), neutralise(3)
    ("'=1+1", "'+44 7400 123456", 'Amina', '3')
    """
    text = "" if cell is None else str(cell)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def restore(cell: str) -> str:
    """The cell ``neutralise`` was given (other cells are left alone).

    >>> restore("'=1+1"), restore("'tis"), restore("=1+1")
    ('=1+1', "'tis", '=1+1')
    """
    if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS):
        return cell[1:]
    return cell


class SafeWriter:
    """``csv.writer`` whose cells are neutralised."""

    def __init__(self, fh: TextIO) -> None:
        self._writer: Any = csv.writer(fh)

    def writerow(self, row: Iterable[object]) -> None:
        self._writer.writerow([neutralise(cell) for cell in row])


def writer(fh: TextIO) -> SafeWriter:
    return SafeWriter(fh)
