"""The `tandem` command line."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

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
    raise typer.Exit(Launcher(settings, seed=_seed_if_empty).run())


def _seed_if_empty(url: str) -> None:
    """A newcomer's first `make run` shows data at once."""
    import logging

    from shared import demo

    async def work(session):  # type: ignore[no-untyped-def]
        if await demo.is_empty(session):
            return await demo.seed_demo(session)
        return None

    seeded = _in_session(url, work)
    if seeded:
        logging.getLogger("tandem.launcher").info("demo data loaded", extra=seeded)


@app.command("seed-demo")
def seed_demo() -> None:
    """Load the demo data set (meetings, joint activities, support); safe to run again."""
    from shared import demo

    settings = get_settings()
    configure_logging(settings.log_level, "seed-demo")
    with database_url(settings) as url:
        created = _in_session(url, demo.seed_demo)
    typer.echo(f"demo data loaded: {created}")


@app.command()
def migrate() -> None:
    """Apply every pending database migration."""
    from shared.migrate import upgrade_head

    settings = get_settings()
    configure_logging(settings.log_level, "migrate")
    with database_url(settings) as url:
        upgrade_head(url)
    typer.echo("migrations applied")


taxa_app = typer.Typer(help="The conventions' taxon registers.", no_args_is_help=True)
app.add_typer(taxa_app, name="taxa")


@taxa_app.command("import")
def taxa_import(
    files: Annotated[
        list[Path],
        typer.Argument(
            exists=True, dir_okay=False, readable=True, help="Species+ JSON pages or CSV files"
        ),
    ],
    convention: str = typer.Option(..., "--convention", help="Whose register: CITES, CMS..."),
    partial: bool = typer.Option(
        False, "--partial", help="Only add or change these concepts (remove none)"
    ),
    reference: str | None = typer.Option(
        None, "--reference", help="The nomenclature reference the register follows"
    ),
) -> None:
    """Import a convention's register from Species+ `taxon_concepts` pages or the CSV form;
    running it again with the same files changes nothing."""
    from shared.errors import AppError
    from shared.taxa import service
    from shared.taxa.sources import Register

    settings = get_settings()
    configure_logging(settings.log_level, "taxa-import")
    conventions = settings.taxa_convention_codes
    try:
        code = service.require_convention(convention, conventions, "--convention")
        register = Register(code)
        show = sys.stderr.isatty()
        with typer.progressbar(
            files, label="reading", file=sys.stderr if show else io.StringIO()
        ) as bar:
            for path in bar:
                register.read(path.name, path.read_text(encoding="utf-8-sig"))
        if show:
            typer.echo(f"writing {len(register.concepts)} concepts...", err=True)
        with database_url(settings) as url:
            report = _in_session(
                url,
                lambda s: service.import_register(
                    s, register, conventions, partial=partial, reference=reference
                ),
            )
    except AppError as exc:
        raise _fail(exc.detail) from exc
    typer.echo(
        f"{report['convention']}: {report['read']} read, {report['added']} added, "
        f"{report['changed']} changed, {report['unchanged']} unchanged, "
        f"{report['removed']} removed; {report['concepts']} in the register, "
        f"{report['discrepancies']} discrepancy entries"
    )
    for label in ("added", "changed", "removed"):
        names = report[f"{label}_names"]
        if names:
            more = report[label] - len(names)
            tail = f" (and {more} more)" if more > 0 else ""
            typer.echo(f"  {label}: {', '.join(names)}{tail}")


keys_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


def _in_session(url: str, work):  # type: ignore[no-untyped-def]
    """Run `work(session)` in one committed transaction on `url`."""
    import asyncio

    from shared.db import create_engine, create_session_factory, session_scope

    async def main():  # type: ignore[no-untyped-def]
        engine = create_engine(url, pool_size=1, application_name="tandem-cli")
        try:
            async with session_scope(create_session_factory(engine)) as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


@keys_app.command("create")
def keys_create(
    name: str = typer.Option(..., "--name", help="A unique name, e.g. cites-website-sync"),
    secretariat: str | None = typer.Option(
        None, "--secretariat", help="The key's secretariat (none: an admin key)"
    ),
    scopes: str = typer.Option(..., "--scopes", help="Comma-separated: read,write,approve,admin"),
) -> None:
    """Create an API key and print it (alone, on the last line; it is not shown again)."""
    from shared.errors import AppError
    from shared.keys import service

    settings = get_settings()
    try:
        with database_url(settings) as url:
            key, raw = _in_session(
                url,
                lambda s: service.create_key(s, name.strip(), secretariat, scopes.split(",")),
            )
    except AppError as exc:
        raise _fail(exc.detail) from exc
    owner = key.secretariat_code or "admin, no secretariat"
    typer.echo(f"created API key {key.name} ({owner}; scopes {','.join(key.scopes)})")
    typer.echo("store it now: it is not shown again")
    typer.echo(raw)


@keys_app.command("list")
def keys_list() -> None:
    """List API keys (never the keys themselves)."""
    from shared.keys import service

    settings = get_settings()
    with database_url(settings) as url:
        keys = _in_session(url, service.list_keys)
    typer.echo(
        f"{'NAME':<28} {'PREFIX':<12} {'SECRETARIAT':<12} {'SCOPES':<26} {'LAST USED':<20} STATE"
    )
    for k in keys:
        used = k.last_used_at.strftime("%Y-%m-%d %H:%M") if k.last_used_at else "never"
        state = "revoked" if k.revoked_at else "active"
        typer.echo(
            f"{k.name:<28} {k.prefix:<12} {k.secretariat_code or '-':<12} "
            f"{','.join(k.scopes):<26} {used:<20} {state}"
        )


@keys_app.command("revoke")
def keys_revoke(name: str = typer.Argument(..., help="The key's name")) -> None:
    """Revoke an API key by name."""
    from shared.errors import AppError
    from shared.keys import service

    settings = get_settings()
    try:
        with database_url(settings) as url:
            _in_session(url, lambda s: service.revoke_by_name(s, name))
    except AppError as exc:
        raise _fail(exc.detail) from exc
    typer.echo(f"revoked API key {name}")


if __name__ == "__main__":
    app()
