"""The command line of every service: `serve` (the long-running process) and `migrate` (a one-shot)."""

from __future__ import annotations

import argparse
import asyncio
import gc
from collections.abc import Callable, Sequence
from typing import TypeVar

import asyncpg
import uvicorn

from . import migrations
from .app import all_migrations, create_app
from .logging import configure_logging, get_logger
from .service import ServiceDefinition
from .settings import KitSettings

S = TypeVar("S", bound=KitSettings)


def run_service(
    define: Callable[[S], ServiceDefinition], settings_type: type[S], argv: Sequence[str] | None = None
) -> None:
    parser = argparse.ArgumentParser(description="Run the service or apply its database migrations.")
    parser.add_argument("command", choices=["serve", "migrate"], nargs="?", default="serve")
    args = parser.parse_args(argv)
    settings = settings_type()  # filled from the environment
    definition = define(settings)
    if args.command == "migrate":
        configure_logging(definition.name, settings.log_level, json=settings.log_json)
        applied = asyncio.run(apply_migrations(definition, settings))
        get_logger(__name__).info("migrations_applied", count=len(applied), migrations=[m.name for m in applied])
        return
    app = create_app(definition, settings)
    # What imports and the app built (modules, routes, models: most of the heap) lives as long as the process;
    # frozen, the cyclic collector stops walking it on every full collection.
    gc.collect()
    gc.freeze()
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,  # our logging already owns the root logger
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
        access_log=False,
        # libuv's loop and a C HTTP parser: a third less CPU per request than asyncio's loop and h11 (bench/PROFILE.md);
        # named, not "auto", so a missing one fails at start instead of silently costing that CPU.
        loop="uvloop",
        http="httptools",
    )


async def apply_migrations(definition: ServiceDefinition, settings: KitSettings) -> list[migrations.Migration]:
    url = settings.migrations_database_url or settings.database_url
    conn = await asyncpg.connect(url.get_secret_value())
    try:
        return await migrations.migrate(conn, all_migrations(definition))
    finally:
        await conn.close()
