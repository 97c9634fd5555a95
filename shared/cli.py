"""The `tandem` command line."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer

from shared.config import Settings, get_settings
from shared.logging import configure_logging

app = typer.Typer(
    help="Tandem: joint activities and mutual support of the secretariats.",
    no_args_is_help=True,
)


@contextmanager
def database_url(settings: Settings) -> Iterator[str]:
    """DATABASE_URL, or the embedded PostgreSQL's URL for as long as the command runs."""
    if settings.database_url:
        yield settings.database_url
        return
    from shared.embedded import EmbeddedPostgres

    postgres = EmbeddedPostgres(settings.data_dir)
    try:
        yield postgres.start()
    finally:
        postgres.stop()


@app.command()
def run() -> None:
    """Migrate, then run the API and the worker in the foreground (embedded servers by default)."""
    from shared.launcher import Launcher

    settings = get_settings()
    configure_logging(settings.log_level, "launcher")
    raise typer.Exit(Launcher(settings).run())


@app.command()
def migrate() -> None:
    """Apply every pending database migration."""
    from shared.migrate import upgrade_head

    settings = get_settings()
    configure_logging(settings.log_level, "migrate")
    with database_url(settings) as url:
        upgrade_head(url)
    typer.echo("migrations applied")


if __name__ == "__main__":
    app()
