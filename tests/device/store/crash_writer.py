"""Child process for the kill -9 test: commit events forever, print each seq after COMMIT."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from device.store.outbox import GateStore
from protocol.messages import LaneDirection
from tests.device.store.helpers import events


async def main(path: Path) -> None:
    store = await GateStore.open(path, max_events=10**7, reseed=10**12)
    state = await store.load_state()
    while True:
        seq = store.next_seq
        ref = f"{seq % 50:016x}"
        state = state.with_grant(ref, LaneDirection.IN, "east-in", seq)
        await store.record(events(seq, 2), state, [ref])
        print(seq + 1, flush=True)  # both rows are durable now


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
