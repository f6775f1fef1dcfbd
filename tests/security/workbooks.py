"""Hostile XLSX files, built here from zip and XML text (no spreadsheet program involved)."""

from __future__ import annotations

import io
import zipfile

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_CT}.worksheet+xml"/>'
    f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_CT}.sharedStrings+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG_REL}">'
    f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
WORKBOOK = (
    f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{_REL}">'
    '<sheets><sheet name="居民" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG_REL}">'
    f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>'
    "</Relationships>"
)
HEADER = ("楼栋", "房号", "姓名")


def _row(number: int, values: tuple[str, ...]) -> str:
    cells = "".join(
        f'<c r="{"ABC"[i]}{number}" t="inlineStr"><is><t>{v}</t></is></c>'
        for i, v in enumerate(values)
    )
    return f'<row r="{number}">{cells}</row>'


def sheet(*rows: str, prolog: str = "") -> str:
    """A worksheet with the register's header in row 1 and then ``rows`` (XML text)."""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<worksheet xmlns="{MAIN}"><sheetData>'
        + _row(1, HEADER)
        + "".join(rows)
        + "</sheetData></worksheet>"
    )


def shared_strings(body: str, prolog: str = "") -> str:
    """A shared-string table around ``body``."""
    return f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<sst xmlns="{MAIN}">{body}</sst>'


def xlsx(*, strings: str | None = None, worksheet: str | None = None, extra: int = 0) -> bytes:
    """An XLSX package (deflated as Excel does) with ``extra`` more empty parts."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as package:
        package.writestr("[Content_Types].xml", CONTENT_TYPES)
        package.writestr("_rels/.rels", ROOT_RELS)
        package.writestr("xl/workbook.xml", WORKBOOK)
        package.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        package.writestr("xl/worksheets/sheet1.xml", worksheet or sheet())
        package.writestr("xl/sharedStrings.xml", strings or shared_strings(""))
        for i in range(extra):
            package.writestr(f"xl/media/blank{i}.bin", b"")
    return buffer.getvalue()


def shared_strings_bomb(count: int = 5_000_000) -> bytes:
    """The attack of issue 14 item 7: millions of empty shared strings, a few hundred KB."""
    return xlsx(strings=shared_strings("<si><t/></si>" * count))


def billion_laughs() -> bytes:
    """Ten levels of entities, each ten of the one below: 10^9 "lol"s from one reference."""
    entities = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    )
    prolog = f"<!DOCTYPE sst [{entities}]>"
    return xlsx(strings=shared_strings("<si><t>&lol9;</t></si>", prolog))


def external_entity() -> bytes:
    """An entity that asks the parser to read a file of the server's."""
    prolog = '<!DOCTYPE sst [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    return xlsx(strings=shared_strings("<si><t>&xxe;</t></si>", prolog))


def cells_bomb(count: int) -> bytes:
    """One row of ``count`` empty cells: tiny packed, ``count`` cells for the parser."""
    return xlsx(worksheet=sheet(f'<row r="2">{"<c/>" * count}</row>'))


def far_row() -> bytes:
    """A header and one row at the sheet's last line: a million empty rows in between."""
    return xlsx(worksheet=sheet(_row(1_048_576, ("1", "101", "张三"))))


def unpacked_bomb(size: int) -> bytes:
    """A worksheet padded with ``size`` bytes of spaces: a zip bomb."""
    return xlsx(worksheet=sheet() + " " * size)
