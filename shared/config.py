"""One set of settings for the API, the worker and the command line."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Settings read from environment variables (names are part of the operators' contract)."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    database_url: str | None = Field(
        default=None, description="postgresql+asyncpg://... ; unset: the embedded PostgreSQL"
    )
    redis_url: str | None = Field(default=None, description="redis://... ; unset: embedded Redis")
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    log_level: str = "INFO"
    queue_name: str = Field(default="tandem:queue", description="arq queue (one per deployment)")
    data_dir: Path = Path(".tandem")
    worker_metrics_port: int = Field(
        default=9101, ge=0, le=65535, description="the worker's Prometheus port (0: none)"
    )
    worker_metrics_host: str = "127.0.0.1"
    db_pool_size: int = Field(default=10, ge=1, le=200)
    webhook_allowed_hosts: str = ""
    working_days: str = "1,2,3,4,5"
    changes_retention_days: int = Field(default=30, ge=1)
    idempotency_ttl_hours: int = Field(default=24, ge=1)
    api_key_cache_seconds: float = Field(default=5.0, ge=0)
    rate_limit_per_key: int = Field(
        default=1200, ge=0, description="requests per API key per window; 0: no limit"
    )
    rate_limit_per_address: int = Field(
        default=3000, ge=0, description="requests per client address per window; 0: no limit"
    )
    rate_limit_window_seconds: int = Field(default=60, ge=1, le=3600)
    max_concurrent_requests: int = Field(
        default=256, ge=1, description="requests one API process serves at once; more get 503"
    )
    db_wait_seconds: float = Field(
        default=10.0, gt=0, description="longest wait for a database connection before a 503"
    )
    max_connections: int = Field(
        default=2048, ge=1, description="open connections one API process accepts (uvicorn)"
    )
    taxa_conventions: str = Field(
        default="CITES,CMS",
        description="conventions whose taxon registers are kept and compared (comma-separated)",
    )
    matching_test_delay_seconds: float = Field(
        default=0.0, ge=0, description="tests only: a pause inside each matching run's transaction"
    )

    @field_validator("log_level")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @field_validator("working_days")
    @classmethod
    def _iso_weekdays(cls, value: str) -> str:
        days = [part.strip() for part in value.split(",") if part.strip()]
        if not days or any(d not in {"1", "2", "3", "4", "5", "6", "7"} for d in days):
            raise ValueError("WORKING_DAYS is a comma-separated list of ISO weekdays 1..7")
        return ",".join(sorted(set(days)))

    @property
    def allowed_webhook_hosts(self) -> frozenset[str]:
        """Host names or IP addresses that webhooks may reach over http or at private addresses."""
        return frozenset(
            h.strip().lower() for h in self.webhook_allowed_hosts.split(",") if h.strip()
        )

    @field_validator("taxa_conventions")
    @classmethod
    def _conventions(cls, value: str) -> str:
        codes = [part.strip().upper() for part in value.split(",") if part.strip()]
        if not codes or any(not c.isalnum() or len(c) > 16 for c in codes):
            raise ValueError("TAXA_CONVENTIONS is a comma-separated list of short codes")
        return ",".join(dict.fromkeys(codes))

    @property
    def taxa_convention_codes(self) -> tuple[str, ...]:
        """The conventions with a taxon register, in the order given."""
        return tuple(self.taxa_conventions.split(","))

    @property
    def working_weekdays(self) -> frozenset[int]:
        """Working days as `date.weekday()` values (Monday is 0)."""
        return frozenset(int(d) - 1 for d in self.working_days.split(","))

    def require_database_url(self) -> str:
        """The database URL, or an error that says how to get one."""
        if not self.database_url:
            raise RuntimeError("DATABASE_URL is not set (use `tandem run` for the embedded one)")
        return self.database_url

    def require_redis_url(self) -> str:
        """The Redis URL, or an error that says how to get one."""
        if not self.redis_url:
            raise RuntimeError("REDIS_URL is not set (use `tandem run` for the embedded one)")
        return self.redis_url


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once."""
    return Settings()
