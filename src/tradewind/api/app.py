"""The app factory: everything the webserver needs is built here, nothing at import."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI

from tradewind import __version__
from tradewind.api.auth.backend import load_auth_backend
from tradewind.api.endpoints import AppContext
from tradewind.api.handlers import install_error_handlers
from tradewind.api.middleware import GuardMiddleware
from tradewind.api.routes import install_routes
from tradewind.clock import Clock, SystemClock
from tradewind.config import Config, load_config
from tradewind.store import Database

logger = logging.getLogger("tradewind.api")


def create_app(config: Config, *, db: Database | None = None, clock: Clock | None = None) -> FastAPI:
    """The ASGI app: database, auth backend (loaded once), routes, error handlers, middleware.

    A database passed in stays the caller's; one built here is disposed at shutdown.
    """
    database = db or Database(config.core.sql_alchemy_conn)
    backend = load_auth_backend(config.api.auth_backend)
    backend.init(config, database)
    if getattr(backend, "open_access", False):
        logger.warning(
            "The API is open to anybody who can reach it ([api] auth_backend = %s)", config.api.auth_backend
        )
    app = FastAPI(
        title="Tradewind",
        version=__version__,
        description="Apache Airflow 1.10's experimental REST API, served by Tradewind.",
        redirect_slashes=False,
        redoc_url=None,
        lifespan=_lifespan(database if db is None else None),
    )
    app.state.context = AppContext(
        config=config, db=database, clock=clock or SystemClock(), tz=config.timezone
    )
    app.state.auth_backend = backend
    install_routes(app)
    install_error_handlers(app)
    app.add_middleware(
        GuardMiddleware, max_body_size=config.api.max_body_size, access_log=config.webserver.access_log
    )
    return app


def _lifespan(owned: Database | None) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if owned is not None:
            owned.dispose()

    return lifespan


def create_app_from_environment() -> FastAPI:
    """Factory for ``uvicorn --factory`` worker processes: the config of ``$TRADEWIND_HOME``."""
    return create_app(load_config())
