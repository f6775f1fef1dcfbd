"""``gatepass-server cards --out FILE.pdf [--zone Z] [--building B] [--unit U] [--json]``: the
cards an office hands out, as one PDF (per unit a delivery checklist, then its cards).

Exit status 0 when the file was written; 1 when nothing was (an unknown zone, building or unit,
no live pass to print, an output path that cannot be written), with the reason in the
operator's language (``LANG``/``GATEPASS_LANG``). ``--json`` prints one JSON object as the last
line: out, units, rooms, cards, pages.
"""

from __future__ import annotations

import argparse
import json

from server.cli.messages import language, say
from server.services.context import CLI_ACTOR, Env
from server.services.passes import printing
from server.web.cardwords import checklist_words, face_words


async def cards_command(env: Env, args: argparse.Namespace) -> int:
    """Write the delivery PDF of the site, a zone, a building or a unit."""
    out = args.out.expanduser().absolute()
    selection = printing.Selection(zone=args.zone, building=args.building, unit=args.unit)
    printed = await printing.delivery_cards(
        env,
        CLI_ACTOR,
        selection,
        out,
        face=face_words(),
        checklist=checklist_words(language()),
    )
    counts = {
        "units": printed.units,
        "rooms": printed.rooms,
        "cards": printed.cards,
        "pages": printed.pages,
    }
    print(
        say(
            "cards.written",
            path=str(out),
            units=printed.units,
            rooms=printed.rooms,
            cards=printed.cards,
            pages=printed.pages,
        )
    )
    if args.json:
        print(json.dumps({"out": str(out), **counts}, ensure_ascii=False))
    return 0
