"""The demo community's register: households and residents, as the office's spreadsheet has them.

Deterministic for a seed, so every demo run shows the same people. Two zones: the main
resettlement estate (buildings 1-8) and a separate block of turnover housing (buildings 11-12),
where most households rent. Written as the CSV that ``gatepass-server import residents`` reads
(docs/server.md, "Import format").
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path

MAIN_ZONE = "安置小区"  # the main resettlement estate
BLOCK_ZONE = "周转房"  # the turnover housing block, a few streets away
MAIN_HOUSEHOLDS = 160
BLOCK_HOUSEHOLDS = 40

# Common surnames, most frequent first (weights fall off roughly as in the census).
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程"
    "魏苏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国玉兰文辉鹏飞志红梅宇浩然子涵欣怡雨晨"
    "佳琪思远婷婷俊杰晓东海燕德福秀珍淑芬丽华春生金凤永刚瑞雪嘉怡博文梓萱一诺亮宏凯丹琳"
)
CSV_HEADER = ("楼栋", "单元", "房号", "姓名", "手机号码", "身份", "片区", "备注")


@dataclass(frozen=True, slots=True)
class Person:
    """One resident as registered (the phone is what the gate's keypad check uses)."""

    building: str
    unit: str
    room: str
    name: str
    phone: str | None
    role: str  # 业主 owner, 租户 tenant, 家属 family
    zone: str

    @property
    def label(self) -> str:
        """The household label the server prints on cards: building-unit-room."""
        return f"{self.building}-{self.unit}-{self.room}"

    @property
    def last4(self) -> str | None:
        """What the person types on the keypad when the gate asks."""
        return None if self.phone is None else self.phone[-4:]


def _name(rng: random.Random) -> str:
    surname = SURNAMES[min(int(rng.expovariate(1 / 18)), len(SURNAMES) - 1)]
    given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2, 2))))
    return surname + given


def _phone(rng: random.Random) -> str:
    prefix = rng.choice(("138", "139", "137", "150", "151", "158", "186", "187", "135", "177"))
    return prefix + "".join(rng.choice("0123456789") for _ in range(8))


def _rooms(buildings: range, units: int, floors: int) -> list[tuple[str, str, str]]:
    return [
        (str(b), str(u), f"{f}0{r}")
        for b in buildings
        for u in range(1, units + 1)
        for f in range(1, floors + 1)
        for r in (1, 2)
    ]


def _household(rng: random.Random, room: tuple[str, str, str], zone: str) -> list[Person]:
    """One flat: an owner (or a tenant) and the people living with them."""
    rents = rng.random() < (0.8 if zone == BLOCK_ZONE else 0.08)
    size = rng.choice((1, 2, 2, 3, 3, 3, 4, 4, 5))
    family = _name(rng)[0]
    people = []
    for i in range(size):
        name = family + _name(rng)[1:] if i < 2 or rng.random() < 0.7 else _name(rng)
        role = ("租户" if rents else "业主") if i == 0 else ("租户" if rents else "家属")
        phone = None if rng.random() < 0.06 else _phone(rng)  # some elderly have no phone
        people.append(Person(*room, name=name, phone=phone, role=role, zone=zone))
    return _unique(people)


def _unique(people: list[Person]) -> list[Person]:
    """The import's key is (building, unit, room, name): one name per flat."""
    seen: set[str] = set()
    out = []
    for p in people:
        if p.name not in seen:
            seen.add(p.name)
            out.append(p)
    return out


def community(seed: int = 8) -> list[Person]:
    """About 200 households and 600 residents in the two zones."""
    rng = random.Random(seed)  # noqa: S311 - made-up people, not security
    main = rng.sample(_rooms(range(1, 9), 2, 6), MAIN_HOUSEHOLDS)
    block = rng.sample(_rooms(range(11, 13), 2, 6), BLOCK_HOUSEHOLDS)
    people: list[Person] = []
    for room in sorted(main, key=_room_order):
        people += _household(rng, room, MAIN_ZONE)
    for room in sorted(block, key=_room_order):
        people += _household(rng, room, BLOCK_ZONE)
    return people


def _room_order(room: tuple[str, str, str]) -> tuple[int, int, int]:
    return int(room[0]), int(room[1]), int(room[2])


def write_csv(people: list[Person], path: Path) -> None:
    """The register as the office keeps it (UTF-8 with BOM, as Excel saves it)."""
    with path.open("w", newline="", encoding="utf-8-sig") as out:
        writer = csv.writer(out)
        writer.writerow(CSV_HEADER)
        for p in people:
            row = (p.building, p.unit, p.room, p.name, p.phone or "", p.role, p.zone, "")
            writer.writerow(row)
