"""Posting one request with the standard library (urllib in a worker thread, short timeout).

No redirect is followed (a robot's URL answers itself; a redirect would send the message, and
a signed URL, somewhere the admin did not set up). Every failure comes back as a short reason,
never raised: the worker records it and retries. A reason is ``"<reason> <detail>"``: ``http
503``, ``errcode 310000 sign not match``, ``not_json``, ``network timed out``; the pages say the
reason from the catalogs (``chat.why.*``) and show the detail as the robot gave it.
"""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request

from server.services.alerts.channels.vendors import Request, refusal

ANSWER_LIMIT = 64 * 1024  # a robot's answer is a few dozen bytes


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: a 3xx is answered as a failure."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        """Follow nothing."""


_OPENER = urllib.request.build_opener(_NoRedirect())


def _post(vendor: str, request: Request, timeout_s: float) -> str | None:
    outgoing = urllib.request.Request(  # noqa: S310 - the URL was checked to be http(s)
        request.url, data=request.body, headers=request.headers, method="POST"
    )
    try:
        with _OPENER.open(outgoing, timeout=timeout_s) as response:
            return refusal(vendor, response.status, response.read(ANSWER_LIMIT))
    except urllib.error.HTTPError as exc:
        return f"http {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"network {str(reason)[:150]}".strip()


async def post(vendor: str, request: Request, *, timeout_s: float) -> str | None:
    """Send ``request``; None when the vendor says it was delivered, else why not."""
    return await asyncio.to_thread(_post, vendor, request, timeout_s)
