"""The server's time for the gates (issue 15): signed answers to their time requests.

A gate asks with a nonce on its ``time-requests`` topic; the answer (``protocol.messages.
TimeAnswer``) names the gate, carries the nonce and the server's clock in milliseconds, and is
signed with the site's current ``control`` key, the key the gate already trusts for its config
and commands. The key is looked up once and kept for ``KEY_CACHE_S`` (a rotation reaches the
answers within that time). A gate may ask at most every ``MIN_INTERVAL_S``; requests faster
than that are not answered (the gate asks again in a few seconds).

The clock is the server host's own (``wall_ms``): the server must run NTP (docs/operations.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from protocol import messages
from protocol.cose import PrivateKey
from protocol.errors import WrongSiteMessage
from protocol.manifest import KeyUse
from protocol.messages import TimeAnswer, TimeRequest
from protocol.topics import TopicKind, gate_topic, parse_topic
from server.services.context import Env
from server.services.passes.keys import signing_key

KEY_CACHE_S = 60.0
MIN_INTERVAL_S = 0.5


def system_ms() -> int:
    """The host's wall clock in unix milliseconds."""
    return time.time_ns() // 1_000_000


class TimeAnswers:
    """Answers time requests for one site; ``answer`` returns (topic, payload) or None."""

    def __init__(
        self,
        env: Env,
        site: str,
        *,
        wall_ms: Callable[[], int] = system_ms,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.env, self.site, self.wall_ms, self.monotonic = env, site, wall_ms, monotonic
        self._key: tuple[float, PrivateKey] | None = None
        self._last: dict[str, float] = {}  # gate -> monotonic time of its last answer
        self.answered = 0
        self.refused = 0

    async def answer(self, topic: str, payload: bytes) -> tuple[str, bytes] | None:
        """The signed answer to one request, or None for one too soon after the last.
        Raises MessageError for a request that is malformed or not from its topic's gate."""
        where = parse_topic(topic)
        if where.kind != TopicKind.TIME_REQUESTS or where.site != self.site:
            raise WrongSiteMessage(f"not a time request of site {self.site}")
        request = messages.decode(TopicKind.TIME_REQUESTS, payload, TimeRequest)
        if (request.site, request.gate) != (self.site, where.gate):
            raise WrongSiteMessage(f"request names {request.site}/{request.gate}")
        now = self.monotonic()
        gate = request.gate
        if now - self._last.get(gate, -1e18) < MIN_INTERVAL_S:
            self.refused += 1
            return None
        self._last[gate] = now
        key = await self._control_key()
        answer = TimeAnswer(site=self.site, gate=gate, nonce=request.nonce, at_ms=self.wall_ms())
        self.answered += 1
        return str(gate_topic(self.site, gate, TopicKind.TIME)), messages.seal_time(answer, key)

    async def _control_key(self) -> PrivateKey:
        now = self.monotonic()
        if self._key is None or now - self._key[0] > KEY_CACHE_S:
            async with self.env.db.read() as conn:
                _row, key = await signing_key(
                    conn, self.env.keys_dir, use=KeyUse.CONTROL, now=self.env.clock.now()
                )
            self._key = (now, key)
        return self._key[1]
