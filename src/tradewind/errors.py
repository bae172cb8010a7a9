"""The one exception hierarchy of Tradewind.

Every error raised on purpose carries the HTTP status the API answers with, and a
message that is safe to show to a user. One handler in the API renders them, the
JSON client maps them back by ``type``, and the CLI prints ``Error: <message>``::

    TradewindError                  500  base: something we raise on purpose
    ├── BadRequest                  400  bad input at a boundary
    │   ├── InvalidDate
    │   ├── InvalidConf
    │   └── DagRunAlreadyExists          400, as Airflow's AirflowBadRequest
    ├── Unauthorized                401  may carry WWW-Authenticate
    ├── Forbidden                   403
    ├── NotFound                    404
    │   ├── DagNotFound, DagRunNotFound, TaskNotFound, TaskInstanceNotFound,
    │   └── PoolNotFound, UserNotFound
    ├── Conflict                    409
    ├── PayloadTooLarge             413
    ├── TooManyRequests             429  failed logins throttled; carries Retry-After
    ├── DagDefinitionError          400  an invalid DAG (cycle, bad id, ...) at load time
    ├── ConfigError                 500  at startup; the CLI exits 78 (EX_CONFIG)
    │   └── PluginError                  a dotted path that cannot be loaded
    └── ServerError                 502  client side: the server answered 5xx or non-JSON
        └── ConnectionFailed        503  client side: could not reach the endpoint

    TaskSignal(Exception)           not a TradewindError: raised by task code to steer its run
    ├── SkipTask, FailTask (no retry)
    ShutdownRequested(BaseException) must escape ``except Exception``
"""

from __future__ import annotations

from collections.abc import Mapping


class TradewindError(Exception):
    """Base class for errors Tradewind raises on purpose.

    ``status_code`` is what the API answers; ``message`` is safe to show to a user.
    """

    status_code = 500
    exit_code = 1

    def __init__(self, message: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers: dict[str, str] = dict(headers or {})


class BadRequest(TradewindError):
    status_code = 400


class InvalidDate(BadRequest):
    """A date that cannot be parsed; the message is Airflow's."""

    def __init__(self, value: str) -> None:
        super().__init__(
            f"Given execution date, {value}, could not be identified as a date. "
            "Example date format: 2015-11-16T14:34:15+00:00"
        )


class DateOutOfRange(BadRequest):
    """A date whose run the DAG's schedule cannot place (its interval or neighbours overflow)."""

    def __init__(self, when: str) -> None:
        super().__init__(
            f"Execution date {when} is out of range for the DAG's schedule (too close to year 1 or 9999)"
        )


class InvalidConf(BadRequest):
    def __init__(
        self, message: str = "Dag Run conf must be a dictionary object, other types are not supported"
    ):
        super().__init__(message)


class DagRunAlreadyExists(BadRequest):
    pass


class DagDefinitionError(BadRequest):
    """A DAG file defines something invalid: a cycle, a duplicate or bad id, a bad schedule."""


class Unauthorized(TradewindError):
    status_code = 401
    exit_code = 4


class Forbidden(TradewindError):
    status_code = 403
    exit_code = 4


class NotFound(TradewindError):
    status_code = 404
    exit_code = 3


class DagNotFound(NotFound):
    pass


class DagRunNotFound(NotFound):
    pass


class TaskNotFound(NotFound):
    pass


class TaskInstanceNotFound(NotFound):
    pass


class PoolNotFound(NotFound):
    pass


class UserNotFound(NotFound):
    pass


class Conflict(TradewindError):
    status_code = 409


class PayloadTooLarge(TradewindError):
    status_code = 413


class TooManyRequests(TradewindError):
    """Too many failed logins from this client or for this user; ``Retry-After`` says when to retry."""

    status_code = 429
    exit_code = 4


class ConfigError(TradewindError):
    exit_code = 78


class PluginError(ConfigError):
    pass


class ServerError(TradewindError):
    status_code = 502
    exit_code = 5


class ConnectionFailed(ServerError):
    status_code = 503
    exit_code = 5


class TaskSignal(Exception):
    """Raised by task code to steer its own run; never an error of Tradewind's."""


class SkipTask(TaskSignal):
    """Mark the task instance skipped."""


class FailTask(TaskSignal):
    """Mark the task instance failed without retrying."""


class ShutdownRequested(BaseException):
    """Must escape ``except Exception`` so a worker stops promptly."""


def error_class(name: str) -> type[TradewindError] | None:
    """The TradewindError subclass called ``name``, for clients re-raising a server's error."""
    found = _ERRORS_BY_NAME.get(name)
    return found


def _all_subclasses(cls: type[TradewindError]) -> list[type[TradewindError]]:
    out = [cls]
    for sub in cls.__subclasses__():
        out.extend(_all_subclasses(sub))
    return out


_ERRORS_BY_NAME: dict[str, type[TradewindError]] = {c.__name__: c for c in _all_subclasses(TradewindError)}
