"""A residential site for the card tests and the card bench: buildings named as offices name
them (1号楼 … 10号楼, A座), units (1单元, 2单元), rooms on floors 1 to 12 (101 … 1202), residents
imported from a register and a pass issued to each through the services."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

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
