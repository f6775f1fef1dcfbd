"""Each vendor's documented request and success answer (pure: no I/O, the time is given).

* WeCom (企业微信) group robot: POST the robot's URL (its ``key`` is in the query) with
  ``{"msgtype": "text", "text": {"content": ...}}``; success is ``{"errcode": 0}``.
* DingTalk (钉钉) custom robot: the same body shape; with the signing secret (``SEC...``) the URL
  gets ``timestamp`` (ms, within an hour of DingTalk's clock) and ``sign`` = urlencode(base64(
  HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}"))); success is ``{"errcode": 0}``.
* Feishu (飞书) custom bot: ``{"msg_type": "text", "content": {"text": ...}}``, with the optional
  signing secret ``"timestamp"`` (seconds, as text) and ``"sign"`` = base64(HMAC-SHA256(
  key=f"{timestamp}\\n{secret}", msg=b"")) in the body; success is ``{"code": 0}`` (older
  deployments answer ``{"StatusCode": 0}``).
* A generic webhook: the JSON body of :func:`webhook_body` (docs/operations.md), and with a
  secret ``X-Gatepass-Signature: sha256=<hex HMAC-SHA256(key=secret, msg=body)>``; any 2xx.

An HTTP 200 that carries a non-zero code is a failure (the robot refused: wrong signature,
keyword, rate limit) and is retried like a 500.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

VENDORS = ("wecom", "dingtalk", "feishu", "webhook")
SIGNED_REQUIRED = frozenset({"dingtalk"})  # a DingTalk robot set to 加签 refuses unsigned posts
TEXT_LIMIT = 2000  # WeCom's text is at most 2048 bytes; the others allow more


@dataclass(frozen=True, slots=True)
class Request:
    """One POST to send."""

    url: str
    body: bytes
    headers: dict[str, str]


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's ``sign`` query value (already URL-encoded)."""
    message = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode())


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu's ``sign`` body value: the key is the timestamp and secret, the message empty."""
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def webhook_signature(secret: str, body: bytes) -> str:
    """The generic webhook's ``X-Gatepass-Signature`` header."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _clip(text: str) -> str:
    """Text within WeCom's byte limit (cut at a character, never inside one)."""
    data = text.encode()
    if len(data) <= TEXT_LIMIT:
        return text
    return data[: TEXT_LIMIT - 3].decode(errors="ignore") + "…"


def request_for(
    vendor: str, url: str, secret: str | None, text: str, *, facts: dict[str, Any], now_ms: int
) -> Request:
    """The request that posts ``text`` (and, to a webhook, ``facts``) to a channel."""
    headers = {"Content-Type": "application/json; charset=utf-8"}
    text = _clip(text)
    if vendor in ("wecom", "dingtalk"):
        body = _json({"msgtype": "text", "text": {"content": text}})
        if vendor == "dingtalk" and secret:
            joiner = "&" if "?" in url else "?"
            url = f"{url}{joiner}timestamp={now_ms}&sign={dingtalk_sign(secret, now_ms)}"
        return Request(url, body, headers)
    if vendor == "feishu":
        message: dict[str, Any] = {"msg_type": "text", "content": {"text": text}}
        if secret:
            seconds = now_ms // 1000
            message = {"timestamp": str(seconds), "sign": feishu_sign(secret, seconds)} | message
        return Request(url, _json(message), headers)
    body = _json(webhook_body(text, facts))
    if secret:
        headers["X-Gatepass-Signature"] = webhook_signature(secret, body)
    return Request(url, body, headers)


def webhook_body(text: str, facts: dict[str, Any]) -> dict[str, Any]:
    """The generic webhook's body: the message and its facts (no names, no phone numbers)."""
    return {"source": "gatepass", "version": 1, "text": text} | facts


def refusal(vendor: str, status: int, body: bytes) -> str | None:
    """Why the answer is a failure (None: delivered), as ``"<reason> <detail>"`` with a reason
    the catalogs name (``chat.why.<reason>``). Non-2xx always fails; the robots also answer 200
    with a non-zero code when they refuse."""
    if not 200 <= status < 300:
        return f"http {status}"
    if vendor == "webhook":
        return None
    try:
        answer = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return "not_json"
    if not isinstance(answer, dict):
        return "not_json"
    keys = ("errcode",) if vendor in ("wecom", "dingtalk") else ("code", "StatusCode")
    code = next((answer[k] for k in keys if k in answer), None)
    if code == 0:
        return None
    message = answer.get("errmsg") or answer.get("msg") or answer.get("StatusMessage") or ""
    return f"errcode {code} {str(message)[:120]}".strip()
