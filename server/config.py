"""The server's settings: one strict model, built in ``main()`` from ``--data`` and the environment.

Every field can be set as ``GATEPASS_<FIELD>`` (e.g. ``GATEPASS_SESSION_IDLE_S=600``). Unknown
``GATEPASS_`` variables and out-of-range values are refused loudly (``gatepass-server
check-config``), never ignored. Nothing is read at import time.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

logger = logging.getLogger(__name__)

ENV_PREFIX = "GATEPASS_"
DATA_ENV = "GATEPASS_DATA"
_DAY = 86400
_PUBLIC_URL = r"^(https?://[^\s/?#]+(/[^\s?#]*)?)?$"  # "" or an http(s) address, no query
# Handled by the CLI, not settings: the data directory, the root key's passphrase for the keys
# commands (server.cli.passphrase) and the language of the CLI's refusals (server.cli.messages).
_NOT_SETTINGS = {"DATA", "ROOT_PASSPHRASE", "LANG"}


class ConfigError(Exception):
    """The settings are invalid; the message lists every problem."""


class ServerSettings(BaseModel):
    """Everything the server process needs to know, validated once at start."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data_dir: Path
    database_url: str | None = None  # default: SQLite file registry.db in data_dir
    bind: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8080
    cookie_secure: bool = True  # browsers accept Secure cookies on http://localhost
    # addresses of reverse proxies whose X-Forwarded-For is believed ("10.0.0.2,10.0.0.3");
    # none by default: the client's own address is the one audited and throttled
    trusted_proxies: Annotated[str, Field(max_length=500, pattern=r"^[0-9a-fA-F.:, /]*$")] = ""
    session_idle_s: Annotated[int, Field(ge=60, le=3600)] = 900
    session_absolute_s: Annotated[int, Field(ge=600, le=24 * 3600)] = 12 * 3600
    login_user_failures: Annotated[int, Field(ge=3, le=100)] = 5
    login_address_failures: Annotated[int, Field(ge=5, le=1000)] = 50
    login_name_failures: Annotated[int, Field(ge=10, le=10_000)] = 50  # one account, any address
    phone_search_limit: Annotated[int, Field(ge=1, le=1000)] = 20  # whole-number searches a window
    login_window_s: Annotated[int, Field(ge=60, le=_DAY)] = 900
    max_body_bytes: Annotated[int, Field(ge=1024, le=64 * 1024 * 1024)] = 1024 * 1024
    # the register import's worker process (docs/operations.md): memory, time, how many at once
    import_worker_memory_mb: Annotated[int, Field(ge=128, le=16 * 1024)] = 512
    import_worker_seconds: Annotated[int, Field(ge=5, le=3600)] = 120
    import_workers: Annotated[int, Field(ge=1, le=16)] = 2
    pass_validity_days: Annotated[int, Field(ge=1, le=366)] = 365
    observation_days: Annotated[int, Field(ge=1, le=90)] = 14  # home observation from an import
    staff_pass_validity_days: Annotated[int, Field(ge=1, le=366)] = 90
    visitor_max_hours: Annotated[int, Field(ge=1, le=72)] = 24
    key_lead_days: Annotated[int, Field(ge=0, le=60)] = 7
    key_sign_days: Annotated[int, Field(ge=30, le=3 * 366)] = 366
    revocation_next_update_s: Annotated[int, Field(ge=300, le=7 * _DAY)] = 6 * 3600
    retention_health_days: Annotated[int, Field(ge=1, le=3650)] = 28
    retention_visitor_days: Annotated[int, Field(ge=1, le=3650)] = 30
    retention_event_days: Annotated[int, Field(ge=1, le=3650)] = 180
    retention_interval_s: Annotated[int, Field(ge=0, le=7 * _DAY)] = _DAY  # 0: no background job
    card_utc_offset_min: Annotated[int, Field(ge=-720, le=840)] = 480  # dates on cards (UTC+8)
    log_level: str = "INFO"
    # The MQTT link (issue 6): off while mqtt_host is unset; docs/operations.md explains each.
    mqtt_host: str | None = None
    mqtt_port: Annotated[int, Field(ge=1, le=65535)] = 1883
    mqtt_tls_ca: Path | None = None  # CA file of the broker's TLS listener (then use its port)
    mqtt_keepalive_s: Annotated[int, Field(ge=5, le=600)] = 8  # silence noticed in 2 x this
    mqtt_session_expiry_s: Annotated[int, Field(ge=3600, le=30 * _DAY)] = 2 * _DAY
    gate_offline_after_s: Annotated[int, Field(ge=10, le=_DAY)] = 60
    revocation_stale_after_s: Annotated[int, Field(ge=60, le=7 * _DAY)] = 900
    outbox_backlog_events: Annotated[int, Field(ge=10, le=10_000_000)] = 1000
    command_ttl_s: Annotated[int, Field(ge=5, le=3600)] = 30
    # Alerts to the group chat (issue 17 item 5, docs/operations.md "Alerts in the group chat"):
    # the address staff reach the server at, for the link in each message ("": no link); one
    # message per channel and alert kind per window; attempts, first retry delay (doubling) and
    # the timeout of one post.
    public_url: Annotated[str, Field(max_length=200, pattern=_PUBLIC_URL)] = ""
    chat_window_s: Annotated[int, Field(ge=1, le=3600)] = 60
    chat_attempts: Annotated[int, Field(ge=1, le=20)] = 5
    chat_retry_s: Annotated[int, Field(ge=1, le=3600)] = 10
    chat_timeout_s: Annotated[int, Field(ge=1, le=60)] = 5

    @property
    def db_url(self) -> str:
        """The database URL in force."""
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'registry.db'}"

    @property
    def keys_dir(self) -> Path:
        """Where private key files live (0700 directory, 0600 files)."""
        return self.data_dir / "keys"

    @property
    def broker_dir(self) -> Path:
        """The server's own broker password (0600) lives here, apart from the signing keys."""
        return self.data_dir / "broker"

    def redacted(self) -> dict[str, Any]:
        """The settings for a start-up log line, with the database password hidden."""
        out = self.model_dump(mode="json")
        url = out.get("database_url")
        if url and "@" in url:
            scheme, _, rest = url.partition("://")
            out["database_url"] = f"{scheme}://***@{rest.rpartition('@')[2]}"
        return out


def load_settings(
    data_dir: Path, env: Mapping[str, str] | None = None, **overrides: Any
) -> ServerSettings:
    """Build settings from ``GATEPASS_*`` variables and explicit overrides; ConfigError if bad."""
    env = os.environ if env is None else env
    fields = ServerSettings.model_fields
    values: dict[str, Any] = {}
    problems: list[str] = []
    for name, raw in env.items():
        if not name.startswith(ENV_PREFIX) or name[len(ENV_PREFIX) :] in _NOT_SETTINGS:
            continue
        field = name[len(ENV_PREFIX) :].lower()
        if field not in fields or field == "data_dir":
            problems.append(f"{name}: unknown setting")
            continue
        values[field] = raw
    values |= {k: v for k, v in overrides.items() if v is not None}
    values["data_dir"] = data_dir
    try:
        settings = ServerSettings.model_validate(values, strict=False)
    except ValidationError as exc:
        problems += [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        settings = None
    if problems or settings is None:
        raise ConfigError("invalid settings:\n  " + "\n  ".join(problems))
    return settings
