"""The one place that reads the environment."""

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Tracing(StrEnum):
    OFF = "off"
    CONSOLE = "console"
    OTLP = "otlp"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HEALTHGRAPH_", env_file=".env", extra="ignore", frozen=True
    )

    env: Environment = Environment.DEVELOPMENT
    data_dir: Path = Path("./data")

    core_database_url: str | None = None
    immunization_database_url: str | None = None
    testing_database_url: str | None = None

    # Seconds to wait for a store before its field fails with STORE_UNAVAILABLE.
    store_connect_timeout: float = Field(default=3.0, gt=0)
    store_statement_timeout: float = Field(default=5.0, gt=0)
    # The longest one read of a store may take, waiting for a connection included: a
    # store that hangs instead of refusing delays only its own fields by this much.
    store_read_timeout: float = Field(default=3.0, gt=0)
    store_pool_size: int = Field(default=20, ge=1)
    # One log line per HTTP request; metrics count requests either way.
    access_log: bool = True
    log_level: str = "INFO"
    # On SIGTERM, requests in flight get this long to finish before the process stops.
    shutdown_grace_seconds: int = Field(default=30, ge=0)
    # Addresses (or networks) of the proxies whose X-Forwarded-For is believed; from any
    # other peer the header is ignored. Empty: the peer's own address is the client's.
    trusted_proxies: Annotated[list[str], NoDecode] = []
    # OpenTelemetry spans per request and per store read: off, console or otlp (then
    # to this endpoint, else to OTEL_EXPORTER_OTLP_ENDPOINT).
    tracing: Tracing = Tracing.OFF
    otlp_traces_endpoint: str | None = None

    # Seconds between checks that a live (websocket) connection's token is still good.
    live_check_seconds: float = Field(default=30.0, gt=0)

    jwt_issuer: str = "healthgraph"
    jwt_audience: str = "healthgraph-app"
    jwt_keys_dir: Path | None = None
    access_token_minutes: int = Field(default=15, ge=1)
    refresh_token_days: int = Field(default=30, ge=1)
    # How often each process reads the signed-out sessions: an access token of a session
    # signed out stops working everywhere within about this many seconds.
    revocation_refresh_seconds: float = Field(default=2.0, gt=0)
    # A refresh token presented again within this many seconds of its first use (a
    # retry, a second tab) gets the same new tokens instead of signing the session out.
    refresh_reuse_grace_seconds: float = Field(default=10.0, ge=0)

    # Sign-in codes. The secret keys their hashes; in development one is generated
    # under data_dir when unset.
    otp_secret: SecretStr | None = None
    otp_ttl_seconds: int = Field(default=300, ge=30)
    otp_max_attempts: int = Field(default=5, ge=1)
    # Rate limits, shared by every process through the core store. Mobile carriers put
    # many phones behind one address, so the per-address limits are generous.
    otp_requests_per_phone: int = Field(default=5, ge=1)
    otp_requests_per_address: int = Field(default=60, ge=1)
    otp_verifications_per_address: int = Field(default=120, ge=1)
    otp_rate_window_seconds: int = Field(default=3600, ge=1)

    # The HTTP layer. Requests are refused before any expensive work: a body over
    # max_body_bytes is not read further, a document over max_document_tokens is not
    # parsed further, and a request still running after request_timeout_seconds is ended.
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    max_document_tokens: int = Field(default=5000, ge=100)
    request_timeout_seconds: float = Field(default=10.0, gt=0)
    # Browser origins allowed to call the API (CORS), e.g. ["https://app.example.vn"].
    cors_allowed_origins: list[str] = Field(default_factory=list)
    # Requests per rate_limit_window_seconds, shared by every process through the core
    # store: per access or partner token, and per client address. 0 turns a limit off.
    rate_limit_per_token: int = Field(default=600, ge=0)
    rate_limit_per_address: int = Field(default=1200, ge=0)
    rate_limit_window_seconds: int = Field(default=60, ge=1)
    # While a caller is well within its limits, its requests are counted in this process
    # and written to the core store in one statement this often (see RequestCounts).
    rate_limit_flush_seconds: float = Field(default=0.5, gt=0)
    # Citizen tokens may only run operations registered as persisted queries.
    persisted_queries_only: bool = False
    # GraphiQL at GET /graphql: unset, on in development and off in production.
    graphiql: bool | None = None
    # GraphiQL's browser assets (`npm ci` in graphiql/); default: graphiql/node_modules
    # beside the source tree.
    graphiql_assets_dir: Path = Path(__file__).resolve().parent.parent / "graphiql" / "node_modules"

    # SMS gateway for sign-in codes; unset, codes are written to the service log.
    sms_gateway_url: str | None = None
    sms_gateway_username: str | None = None
    sms_gateway_password: SecretStr | None = None
    sms_gateway_token: SecretStr | None = None
    sms_sender_name: str | None = None

    # Check-ins. A second scan of the same person at the same venue within the window is
    # the same check-in; check-ins go with their monthly partition once every one in it is
    # older than the retention period, and scans older than it are refused.
    check_in_dedupe_minutes: int = Field(default=10, ge=1, le=24 * 60)
    check_in_retention_days: int = Field(default=30, ge=1)
    # How often (seconds) each running process keeps the partitions current (creates the
    # months ahead, drops the expired ones).
    check_in_maintenance_seconds: float = Field(default=3600, gt=0)
    # Key of the signatures on venue and personal QR codes: at least 16 characters, the same
    # in every process. Changing it voids every printed code. Required in production.
    qr_secret: SecretStr | None = None
    # The health pass. Day counts are calendar days in pass_time_zone; hour counts are exact
    # hours from a sample's collection (see models/health_status.py).
    pass_time_zone: str = "Asia/Ho_Chi_Minh"
    pass_fully_vaccinated_after_days: int = Field(default=14, ge=0)
    pass_recovered_from_days: int = Field(default=11, ge=0)
    pass_recovered_until_days: int = Field(default=180, ge=0)
    pass_positive_days: int = Field(default=14, ge=1)
    pass_negative_pcr_hours: int = Field(default=72, ge=1)
    pass_negative_rapid_hours: int = Field(default=24, ge=1)
    # The longest a pass is valid, even when its colour would last longer.
    pass_max_days: int = Field(default=30, ge=1)
    pass_audience: str = "healthgraph-pass"
    # P-256 keys that sign passes and the revoked-pass list; default $DATA_DIR/pass-keys.
    pass_keys_dir: Path | None = None
    # A key made by `healthgraph keys rotate` is published this long before it signs.
    key_activation_hours: float = Field(default=24, ge=0)
    # How long scanners and caches may keep /.well-known/revoked-passes.
    revoked_passes_max_age_seconds: int = Field(default=300, ge=1)

    @field_validator("pass_time_zone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}") from error
        return value

    @field_validator("core_database_url", "immunization_database_url", "testing_database_url")
    @classmethod
    def _plain_postgres_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql:// URL")
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _all_urls_or_none(self) -> "Settings":
        urls = (self.core_database_url, self.immunization_database_url, self.testing_database_url)
        if any(urls) and not all(urls):
            raise ValueError(
                "set all three of HEALTHGRAPH_CORE_DATABASE_URL, "
                "HEALTHGRAPH_IMMUNIZATION_DATABASE_URL and HEALTHGRAPH_TESTING_DATABASE_URL, "
                "or none of them to use the embedded PostgreSQL"
            )
        return self

    @property
    def uses_embedded_postgres(self) -> bool:
        return not any(
            (self.core_database_url, self.immunization_database_url, self.testing_database_url)
        )

    @property
    def serves_graphiql(self) -> bool:
        if self.graphiql is None:
            return self.env is Environment.DEVELOPMENT
        return self.graphiql

    @property
    def keys_dir(self) -> Path:
        return self.jwt_keys_dir or self.data_dir / "keys"

    @property
    def pass_keys_path(self) -> Path:
        return self.pass_keys_dir or self.data_dir / "pass-keys"


@lru_cache
def get_settings() -> Settings:
    return Settings()
