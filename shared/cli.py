"""The `tandem` command line."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Annotated

import typer

from shared.config import Settings, get_settings
from shared.logging import configure_logging

app = typer.Typer(
    help="Tandem: joint activities and mutual support of the secretariats.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
_options = {"debug": False}


class InfrastructureError(Exception):
    """A server the command needs is missing or unreachable; the message says what to do."""


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tandem {package_version('tandem')}")
        raise typer.Exit


@app.callback()
def main_options(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    debug: bool = typer.Option(
        False, "--debug", help="Show the traceback of a failure (also with LOG_LEVEL=DEBUG)."
    ),
) -> None:
    """Tandem: joint activities and mutual support of the secretariats."""
    _options["debug"] = debug


def describe_failure(exc: BaseException) -> str:
    """One line saying which server failed and why, without a traceback."""
    from pydantic import ValidationError
    from redis.exceptions import RedisError
    from sqlalchemy.exc import DBAPIError

    if isinstance(exc, InfrastructureError):
        return str(exc)
    if isinstance(exc, ValidationError):
        fields = ", ".join(str(err["loc"][0]).upper() for err in exc.errors() if err["loc"])
        return f"invalid configuration ({fields}): {exc.errors()[0]['msg']}"
    reason = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""])[0]
    reason = reason or type(exc).__name__
    if isinstance(exc, RedisError):
        return f"Redis is unreachable: {reason}"
    module = type(exc).__module__
    if isinstance(exc, DBAPIError) or module.startswith("asyncpg"):
        return f"the database refused or failed: {reason}"
    if isinstance(exc, OSError | TimeoutError):
        return f"cannot connect: {reason}"
    return f"{type(exc).__name__}: {reason}"


def main() -> None:
    """The `tandem` entry point: failures are one line on stderr, tracebacks only when asked."""
    try:
        app()
    except Exception as exc:
        debug = _options["debug"] or os.environ.get("LOG_LEVEL", "").upper() == "DEBUG"
        if debug:
            raise
        typer.echo(f"error: {describe_failure(exc)}", err=True)
        sys.exit(1)


def _require_embedded(settings: Settings) -> None:
    from shared.embedded import missing_servers

    missing = missing_servers(settings)
    if missing:
        raise InfrastructureError(missing)


@contextmanager
def database_url(settings: Settings) -> Iterator[str]:
    """DATABASE_URL, or the embedded PostgreSQL's URL for as long as the command runs."""
    if settings.database_url:
        yield settings.database_url
        return
    _require_embedded(Settings(database_url=None, redis_url="unused"))
    from shared.embedded import EmbeddedPostgres

    postgres = EmbeddedPostgres(settings.data_dir)
    try:
        yield postgres.start()
    finally:
        postgres.stop()


@app.command()
def run(
    demo: bool | None = typer.Option(
        None,
        "--demo/--no-demo",
        help="Load the demo data set into an empty database (default: only on the embedded "
        "PostgreSQL, never into the database of DATABASE_URL).",
    ),
) -> None:
    """Migrate, then run the API and the worker in the foreground (embedded servers by default)."""
    from shared.launcher import Launcher

    settings = get_settings()
    _require_embedded(settings)
    configure_logging(settings.log_level, "launcher")
    seed_wanted = demo if demo is not None else not settings.database_url
    raise typer.Exit(Launcher(settings, seed=_seed_if_empty if seed_wanted else None).run())


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
        applied = upgrade_head(url)
    typer.echo(f"migrations applied: {applied}" if applied else "migrations: already at head")


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
def keys_list(
    as_json: bool = typer.Option(
        False, "--json", help="One JSON array, each key as the API shows it (/v1/api-keys)."
    ),
) -> None:
    """List API keys (never the keys themselves)."""
    from shared.keys import service

    settings = get_settings()
    with database_url(settings) as url:
        keys = _in_session(url, service.list_keys)
    if as_json:
        import orjson

        typer.echo(orjson.dumps([service.to_api(k) for k in keys], default=str).decode())
        return
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


@app.command()
def check() -> None:
    """Check the configuration, the database, Redis and the migrations; say what is wrong."""
    import asyncio

    from shared.migrate import current_revision, head_revision

    problems: list[str] = []

    def report(name: str, problem: str | None) -> None:
        typer.echo(f"{name:<14} {'ok' if problem is None else problem}")
        if problem is not None:
            problems.append(name)

    try:
        settings = Settings()
    except Exception as exc:
        report("configuration", describe_failure(exc))
        raise typer.Exit(1) from exc
    report("configuration", None)
    if not settings.database_url:
        report("database", "DATABASE_URL is not set")
    else:
        try:
            current, head = current_revision(settings.database_url), head_revision()
        except Exception as exc:
            report("database", describe_failure(exc))
        else:
            report("database", None)
            behind = None if current == head else f"at {current}, head is {head}: tandem migrate"
            report("migrations", behind)
    if not settings.redis_url:
        report("redis", "REDIS_URL is not set")
    else:
        report("redis", asyncio.run(_redis_problem(settings.redis_url)))
    if problems:
        raise typer.Exit(1)


async def _redis_problem(url: str) -> str | None:
    from redis.asyncio import Redis

    client = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        await client.ping()
    except Exception as exc:
        return describe_failure(exc)
    finally:
        await client.aclose()
    return None


if __name__ == "__main__":
    main()
