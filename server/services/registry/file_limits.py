"""What a register file may ask for, why one is refused, and the XLSX package checked before
openpyxl reads it.

A small XLSX can ask for a lot: 5 million empty shared strings compress to a few hundred KB and
cost a parser half a minute and most of a gigabyte; a DTD can define entities that expand
(billion laughs) or fetch files. So before openpyxl sees the file, ``check_package`` reads the
zip's directory (how many parts, how many bytes they unpack to: zipfile then stops each part at
its declared size) and streams every XML part through expat once, refusing any DTD (OOXML has
no use for one) and counting the elements that cost work later: shared strings (``si``) and
cells (``c``). It stops at the first cap passed, so refusing a bomb costs no more than reading
the allowed amount. defusedxml inside openpyxl is the second layer (it forbids entities), and
the worker process that runs all of this (server.services.registry.sandbox) the third.

Every refusal is a service error with a ``Problem`` code (server.services.errors): TooLarge
(413) for size and work, Invalid (422) for form; the catalogs say each one (``code.<code>``).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from enum import StrEnum
from pyexpat import ExpatError, ParserCreate
from typing import IO

from server.services.errors import Invalid, TooLarge

MB = 1024 * 1024
MAX_FILE_BYTES = 20 * MB
MAX_UNPACKED_BYTES = 200 * MB
MAX_PARTS = 1000
MAX_ROWS = 100_000  # data rows
MAX_SHEET_ROWS = 2 * MAX_ROWS  # rows read, empty ones included
MAX_COLUMNS = 50
MAX_SHARED_STRINGS = 5 * MAX_ROWS
MAX_CELLS = 20 * MAX_ROWS
MAX_TABLE_BYTES = 64 * MB  # the recognised columns of every row, as the worker hands them over
CHUNK = 64 * 1024
_WHITESPACE = b" \t\r\n"
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


class Problem(StrEnum):
    """Why a register file is refused: the code the API answers and the catalogs translate."""

    WRONG_SUFFIX = "wrong_suffix"
    EMPTY = "empty_file"
    WRONG_TYPE = "wrong_type"
    FILE_TOO_LARGE = "file_too_large"
    CSV_ENCODING = "csv_encoding"
    NOT_ZIP = "not_zip"
    TOO_MANY_PARTS = "too_many_parts"
    UNPACKED_TOO_LARGE = "unpacked_too_large"
    XML_DTD = "xml_dtd"
    XML_BROKEN = "xml_broken"
    TOO_MANY_STRINGS = "too_many_strings"
    TOO_MANY_CELLS = "too_many_cells"
    TOO_MANY_ROWS = "too_many_rows"
    TABLE_TOO_LARGE = "table_too_large"
    UNREADABLE = "unreadable"
    NO_HEADER = "no_header"
    NO_ROWS = "no_rows"
    WORKER_MEMORY = "worker_memory"
    WORKER_TIME = "worker_time"
    BUSY = "import_busy"


def refused(problem: Problem, message: str, **values: int) -> Invalid:
    """The error for a file refused for its form (422)."""
    return Invalid(message, code=problem.value, **values)


def too_large(problem: Problem, message: str, **values: int) -> TooLarge:
    """The error for a file refused for its size or the work it would cost (413)."""
    return TooLarge(message, code=problem.value, **values)


@dataclass(frozen=True, slots=True)
class Caps:
    """How much an XLSX package may ask for."""

    unpacked_bytes: int = MAX_UNPACKED_BYTES
    shared_strings: int = MAX_SHARED_STRINGS
    cells: int = MAX_CELLS


class _Counter:
    """Counts the costly elements as expat meets them; refuses at the first cap passed."""

    def __init__(self, caps: Caps) -> None:
        self.caps = caps
        self.strings = 0
        self.cells = 0

    def start(self, name: str, _attributes: object) -> None:
        local = name.rpartition(" ")[2]  # expat says "namespace local"
        if local == "c":
            self.cells += 1
            if self.cells > self.caps.cells:
                n = self.caps.cells
                raise too_large(Problem.TOO_MANY_CELLS, f"more than {n} cells", n=n)
        elif local == "si":
            self.strings += 1
            if self.strings > self.caps.shared_strings:
                n = self.caps.shared_strings
                raise too_large(Problem.TOO_MANY_STRINGS, f"more than {n} shared strings", n=n)


def _refuse_dtd(*_args: object) -> None:
    raise refused(Problem.XML_DTD, "the XLSX file holds a DTD (entity declarations)")


def check_package(archive: zipfile.ZipFile, caps: Caps) -> None:
    """Refuse the package if its directory or any XML part asks for more than ``caps``."""
    parts = archive.infolist()
    if len(parts) > MAX_PARTS:
        raise too_large(Problem.TOO_MANY_PARTS, f"more than {MAX_PARTS} parts", n=MAX_PARTS)
    if sum(p.file_size for p in parts) > caps.unpacked_bytes:
        mb = caps.unpacked_bytes // MB
        raise too_large(Problem.UNPACKED_TOO_LARGE, f"unpacks to more than {mb} MB", mb=mb)
    counter = _Counter(caps)
    for part in parts:
        if not part.is_dir():
            with archive.open(part) as stream:
                _scan(stream, counter)


def _looks_like_xml(head: bytes) -> bool:
    """Whether a part starts as an XML document does (images and other binaries do not)."""
    if head.startswith(_BOMS) or b"\x00" in head[:2]:
        return True
    return head.lstrip(_WHITESPACE).startswith(b"<")


def _scan(stream: IO[bytes], counter: _Counter) -> None:
    """Stream one part through expat: no DTD, and count what it asks for."""
    head = stream.read(CHUNK)
    if not _looks_like_xml(head):
        return
    parser = ParserCreate(namespace_separator=" ")
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd
    parser.StartElementHandler = counter.start
    try:
        chunk = head
        while chunk:
            parser.Parse(chunk, False)
            chunk = stream.read(CHUNK)
        parser.Parse(b"", True)
    except ExpatError:
        raise refused(Problem.XML_BROKEN, "an XML part of the XLSX file is broken") from None
