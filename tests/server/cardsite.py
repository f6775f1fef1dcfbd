"""A residential site for the card tests and the card bench: buildings named as offices name
them (1号楼 … 10号楼, A座), units (1单元, 2单元), rooms on floors 1 to 12 (101 … 1202), residents
imported from a register and a pass issued to each through the services."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from reportlab.lib.pagesizes import A4

from server.services.context import CLI_ACTOR, Env
from server.services.passes import issuing
from server.services.registry.imports import import_residents
from server.store.schema import households
from tests.server.registers import HEADERS_ZH, write_csv

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"


@dataclass(frozen=True)
class Layout:
    """How many of each: buildings x units x floors x rooms a floor x residents a room."""

    buildings: tuple[str, ...] = ("2号楼", "10号楼", "1号楼")
    units: tuple[str, ...] = ("1单元", "2单元")
    floors: tuple[int, ...] = (1, 10, 2)
    rooms_per_floor: int = 2
    residents: int = 2
    zone: str = "east"

    def rows(self) -> list[list[object]]:
        """The register's rows, deliberately out of delivery order."""
        rows: list[list[object]] = []
        n = 0
        for building in self.buildings:
            for unit in self.units:
                for floor in self.floors:
                    for number in reversed(range(1, self.rooms_per_floor + 1)):
                        room = f"{floor}{number:02d}"
                        for member in range(self.residents):
                            name = f"{SURNAMES[n % 20]}{SURNAMES[(n // 20) % 20]}{member}号"
                            rows.append(
                                [building, unit, room, name, 13800000000 + n, "家属", self.zone, ""]
                            )
                            n += 1
        return rows


async def build(env: Env, folder: Path, layout: Layout) -> int:
    """Import the layout's register and issue everyone a pass; the number of passes."""
    register = write_csv(folder / "register.csv", HEADERS_ZH, layout.rows())
    report = await import_residents(env, CLI_ACTOR, register)
    assert report.written, report
    async with env.db.read() as conn:
        ids = [row.id for row in await conn.execute(sa.select(households.c.id))]
    issued = await issuing.issue_households(env, CLI_ACTOR, ids)
    assert not issued.skipped
    return len(issued.issued)


def decode_sheets(pdf: Path, tmp: Path) -> list[list[str]]:
    """Per page of ``pdf`` rendered at 200 dpi (pdftoppm): the QR texts zbarimg reads from
    each card cut out of the render, in the sheet's order (left to right, top to bottom).

    Each card is read on its own, as a lane's scanner reads it: zbarimg given a whole sheet of
    ten symbols misses one now and then (18 of 5,100 on a whole site's sheets) although each
    of those cards, cut from the same render, reads."""
    from PIL import Image

    from server.services.passes.cards import CARD_H, CARD_W, COLUMNS, ROWS

    scale = 200 / 72
    page_w, page_h = A4
    left, top = (page_w - COLUMNS * CARD_W) / 2 * scale, (page_h - ROWS * CARD_H) / 2 * scale
    subprocess.run(["pdftoppm", "-r", "200", "-png", str(pdf), str(tmp / "sheet")], check=True)
    pages = []
    for image in sorted(tmp.glob("sheet-*.png")):
        texts: list[str] = []
        with Image.open(image) as sheet:
            for slot in range(COLUMNS * ROWS):
                col, row = slot % COLUMNS, slot // COLUMNS
                x, y = left + col * CARD_W * scale, top + row * CARD_H * scale
                box = (int(x), int(y), int(x + CARD_W * scale), int(y + CARD_H * scale))
                sheet.crop(box).save(tmp / "card.png")
                read = subprocess.run(
                    [
                        "zbarimg",
                        "-q",
                        "--raw",
                        "-Sdisable",
                        "-Sqrcode.enable",
                        str(tmp / "card.png"),
                    ],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                texts += [line for line in read.stdout.splitlines() if line]
        image.unlink()
        pages.append(texts)
    return pages
