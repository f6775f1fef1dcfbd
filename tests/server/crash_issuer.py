"""Child process for the server's kill -9 test: issue passes forever, print each ref once the
issuance returned (its transaction committed)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from server.services.context import CLI_ACTOR, Env
from server.services.passes.issuing import issue_resident
from server.store.db import Database
from tests.faults.harness import MovableClock, settings_for


async def main(data: Path, resident_id: int) -> None:
    settings = settings_for(data, 1883)
    env = Env(db=Database(settings.db_url), settings=settings, clock=MovableClock())
    while True:
        issued = await issue_resident(env, CLI_ACTOR, resident_id)
        print(issued.ref, flush=True)  # durable now: the write transaction has committed


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2])))
