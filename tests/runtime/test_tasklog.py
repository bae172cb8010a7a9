"""The runtime's own log lines: written directly in a task process, identical to logging's."""

from __future__ import annotations

import io
import logging
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tradewind.runtime.logs import task_log_handler
from tradewind.tasklog import info, is_plain, stamp, write_lines_directly

STAMP = re.compile(r"^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000\] ")


@pytest.fixture
def logger() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    logger = logging.getLogger("tradewind.test.tasklog")
    handler = task_log_handler(stream)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield logger, stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
        logger.propagate = True
        write_lines_directly(-1)


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    """A task's log file, which ``_write_directly`` makes the direct lines' target; the root
    logger at INFO, as in a task process."""
    path = tmp_path / "1.log"
    path.touch()
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.INFO)
    try:
        yield path
    finally:
        root.setLevel(level)
        write_lines_directly(-1)
        while _open_fds:
            os.close(_open_fds.pop())


_open_fds: list[int] = []


def _write_directly(path: Path) -> None:
    _open_fds.append(os.open(path, os.O_WRONLY | os.O_APPEND))
    write_lines_directly(_open_fds[-1])


def _say(logger: logging.Logger, value: object) -> None:
    info(logger, "Done. Returned value was: %s", value)  # both ways name this line


def test_direct_lines_look_like_the_handlers(
    logger: tuple[logging.Logger, io.StringIO], log_file: Path
) -> None:
    log, stream = logger
    _say(log, (1, "two"))  # through logging: not a task process
    handlers, log.handlers = log.handlers, []  # as in a task process: the root's handler writes the file
    log.propagate = True
    _write_directly(log_file)
    _say(log, (1, "two"))
    log.handlers = handlers
    through_logging = stream.getvalue()
    direct = log_file.read_text()
    assert STAMP.match(through_logging) and STAMP.match(direct)
    assert STAMP.sub("", direct) == STAMP.sub("", through_logging)
    assert "{test_tasklog.py:" in direct and "INFO - Done. Returned value was: (1, 'two')\n" in direct


def test_a_logger_is_plain_unless_configured(log_file: Path) -> None:
    """What a DAG file does to the runtime's loggers turns the direct lines off (see child.py)."""
    names = ("plain", "quiet", "own", "closed", "filtered", "quiet.child")
    loggers = {name: logging.getLogger(f"tradewind.test.{name}") for name in names}
    loggers["quiet"].setLevel(logging.WARNING)
    loggers["own"].addHandler(logging.NullHandler())
    loggers["closed"].propagate = False
    loggers["filtered"].addFilter(lambda record: True)
    try:
        assert {name: is_plain(log) for name, log in loggers.items()} == {
            "plain": True, "quiet": False, "own": False, "closed": False, "filtered": False,
            "quiet.child": False,
        }  # fmt: skip
        logging.disable(logging.INFO)
        assert not is_plain(loggers["plain"])
    finally:
        logging.disable(logging.NOTSET)
        for log in loggers.values():
            log.setLevel(logging.NOTSET)
            log.handlers, log.filters, log.propagate = [], [], True


class _Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_a_value_that_cannot_be_formatted_goes_to_logging_instead(log_file: Path) -> None:
    class Broken:
        def __str__(self) -> str:
            raise RuntimeError("no text")

    log, recorder = logging.getLogger("tradewind.test.tasklog.broken"), _Recorder()
    root = logging.getLogger()
    handlers, root.handlers = root.handlers, [recorder]  # as the root's one handler in a task process
    _write_directly(log_file)
    try:
        value = Broken()
        _say(log, value)  # must not raise into the task: logging deals with it, as it always did
    finally:
        root.handlers = handlers
    assert log_file.read_text() == ""
    assert [(r.msg, r.args) for r in recorder.records] == [("Done. Returned value was: %s", (value,))]


@pytest.mark.parametrize("created", [0.0, 951_782_400.5, 1_709_251_199.999, 4_102_444_800.25])
def test_stamp_is_the_handlers_utc_format(created: float) -> None:
    msecs = int(created % 1 * 1000)
    expected = f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(created))}.{msecs:03d}+0000"
    assert stamp(created, msecs) == expected
    assert stamp(1_709_251_199.0, 7) == "2024-02-29T23:59:59.007+0000"
