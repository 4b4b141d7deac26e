"""Deployment settings, read once from ``GONGHUI_*`` environment variables.

Every setting has an embedded default so that a fresh machine starts on SQLite with in-process jobs. A value
that is present but malformed stops the start with a message naming the variable: a typo in production must
never silently fall back to the default.
"""
from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass, fields
from pathlib import Path

PREFIX = "GONGHUI_"


class SettingsError(Exception):
    """A ``GONGHUI_*`` variable is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Settings:
    #: Where files live on the embedded default: the SQLite database and the generated secret key.
    data_dir: Path = Path("var")
    #: SQLAlchemy URL. Default: a SQLite file in ``data_dir``.
    database_url: str = ""
    #: PostgreSQL connections each process keeps open. Size it to the requests (threads) a process serves at once:
    #: a request beyond it opens a connection of its own and closes it afterwards, and a new PostgreSQL
    #: connection costs milliseconds of the server's CPU. Up to as many again are opened that way at a peak.
    database_pool_size: int = 10
    #: Redis URL. When set, jobs go through dramatiq's Redis broker; otherwise an in-process broker.
    redis_url: str = ""
    #: Signs sessions and derives keys. Default: generated once and kept in ``data_dir/secret_key``.
    secret_key: str = ""
    #: Keys that encrypt personal data at rest: ``kid:base64(32 bytes)`` comma-separated, the first encrypts.
    #: Default: generated once into ``data_dir/data_keys``. Rotate by putting a new key first.
    data_keys: str = ""
    #: Key of the blind indexes (exact lookup of encrypted ID numbers and phones), base64 of 32+ bytes.
    #: Default: generated once into ``data_dir/blind_index_key``. Changing it means rebuilding every index.
    blind_index_key: str = ""
    #: Deployment allow-list of plugin names (comma-separated). Empty means every installed plugin.
    plugins: tuple[str, ...] = ()
    #: Host names that serve the platform itself (no tenant): tenant management, health.
    platform_hosts: tuple[str, ...] = ("localhost", "127.0.0.1")
    #: Address and port for ``gonghui serve``.
    host: str = "127.0.0.1"
    port: int = 5000
    #: Python logging level name.
    log_level: str = "INFO"
    #: Seconds after which an outbox row claimed by a worker that died is handed out again.
    outbox_claim_timeout: int = 300
    #: Audit records are kept at least this many days (MLPS 2.0 asks for six months).
    audit_retention_days: int = 183
    #: Days an import's uploaded file (and its checked rows) is kept after the batch was applied, rejected or
    #: failed; then ``core.expire_import_files`` removes them (the batch, its counts and errors stay).
    import_files_kept_days: int = 30
    #: Mark session cookies Secure (set to true behind HTTPS).
    secure_cookies: bool = False
    #: How many reverse proxies in front of the application append to ``X-Forwarded-For``/``-Proto``. 0 trusts no
    #: such header: the caller's address is the connection's, so a client cannot name its own address and slip
    #: out of the per-address sign-in limits. Set it to the number of proxies you run, never more.
    proxy_hops: int = 0
    #: argon2id cost of password hashes: ``rfc9106-low-memory`` (64 MiB, 3 passes). ``fast-for-tests`` is for
    #: the test kit only; a deployment that set it would hand out cheap hashes to crack.
    password_hashing: str = "rfc9106-low-memory"

    @property
    def embedded_jobs(self) -> bool:
        return not self.redis_url


def _parse(name: str, raw: str, default):
    kind = type(default)
    if kind is bool:
        lowered = raw.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off"}:
            return False
        raise SettingsError(f"{PREFIX}{name.upper()}: expected true or false, got {raw!r}")
    if kind is int:
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(f"{PREFIX}{name.upper()}: expected a whole number, got {raw!r}") from None
    if kind is tuple:
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    if isinstance(default, Path):
        return Path(raw)
    return raw


def _check(settings: Settings) -> None:
    url = settings.database_url
    if not url.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
        raise SettingsError(
            f"{PREFIX}DATABASE_URL: expected a sqlite:/// or postgresql+psycopg:// URL, got {url.split('@')[-1]!r}"
        )
    if settings.redis_url and not settings.redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise SettingsError(f"{PREFIX}REDIS_URL: expected a redis:// URL, got {settings.redis_url!r}")
    if settings.log_level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise SettingsError(f"{PREFIX}LOG_LEVEL: expected DEBUG, INFO, WARNING or ERROR, got {settings.log_level!r}")
    from core.auth.passwords import HASHING

    if settings.password_hashing not in HASHING:
        raise SettingsError(
            f"{PREFIX}PASSWORD_HASHING: expected one of {', '.join(HASHING)}, got {settings.password_hashing!r}"
        )
    if not 0 <= settings.proxy_hops <= 5:
        raise SettingsError(
            f"{PREFIX}PROXY_HOPS: expected the number of proxies in front (0 to 5), got {settings.proxy_hops}"
        )
    if settings.import_files_kept_days < 1:
        days = settings.import_files_kept_days
        raise SettingsError(f"{PREFIX}IMPORT_FILES_KEPT_DAYS: expected at least 1 day, got {days}")
    if not 1 <= settings.port <= 65535:
        raise SettingsError(f"{PREFIX}PORT: expected a port between 1 and 65535, got {settings.port}")
    if len(settings.secret_key) < 32:
        raise SettingsError(f"{PREFIX}SECRET_KEY: must be at least 32 characters")
    from core.crypto import Keyring, KeySettingError

    try:
        Keyring.parse(settings.data_keys, settings.blind_index_key)
    except KeySettingError as exc:
        raise SettingsError(str(exc)) from None


def _generated(data_dir: Path, name: str, make) -> str:
    """The embedded default keeps generated keys beside the database, readable by the owner only."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / name
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(make())
    return path.read_text().strip()


def _random_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def load(environ: dict[str, str] | None = None, **overrides) -> Settings:
    """Build settings from ``environ`` (default ``os.environ``); keyword overrides win (tests use them)."""
    environ = os.environ if environ is None else environ
    values: dict = {}
    defaults = Settings()
    for item in fields(Settings):
        raw = environ.get(PREFIX + item.name.upper())
        if raw is not None:
            values[item.name] = _parse(item.name, raw, getattr(defaults, item.name))
    values.update(overrides)
    data_dir = Path(values.get("data_dir", defaults.data_dir))
    values["data_dir"] = data_dir
    if not values.get("database_url"):
        values["database_url"] = f"sqlite:///{(data_dir / 'gonghui.sqlite3').resolve()}"
    if values["database_url"].startswith("postgresql://"):
        values["database_url"] = "postgresql+psycopg://" + values["database_url"][len("postgresql://"):]
    if not values.get("secret_key"):
        values["secret_key"] = _generated(data_dir, "secret_key", lambda: secrets.token_urlsafe(48))
    if not values.get("data_keys"):
        values["data_keys"] = _generated(data_dir, "data_keys", lambda: "k1:" + _random_key())
    if not values.get("blind_index_key"):
        values["blind_index_key"] = _generated(data_dir, "blind_index_key", _random_key)
    settings = Settings(**values)
    _check(settings)
    return settings

