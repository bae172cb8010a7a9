"""The runtime's own log lines: written directly in a task process, identical to logging's."""

from __future__ import annotations

import io
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tradewind.runtime.logs import task_log_handler
from tradewind.tasklog import info, write_lines_directly

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
        write_lines_directly(-1)


def _say(logger: logging.Logger, value: object) -> None:
    info(logger, "Done. Returned value was: %s", value)  # both ways name this line


def test_direct_lines_look_like_the_handlers(
    logger: tuple[logging.Logger, io.StringIO], tmp_path: Path
) -> None:
    log, stream = logger
    _say(log, (1, "two"))  # through logging: not a task process
    fd = os.open(tmp_path / "1.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        write_lines_directly(fd)
        _say(log, (1, "two"))
    finally:
        os.close(fd)
    through_logging = stream.getvalue()
    direct = (tmp_path / "1.log").read_text()
    assert STAMP.match(through_logging) and STAMP.match(direct)
    assert STAMP.sub("", direct) == STAMP.sub("", through_logging)
    assert "{test_tasklog.py:" in direct and "INFO - Done. Returned value was: (1, 'two')\n" in direct


def test_a_value_that_cannot_be_formatted_goes_to_logging_instead(tmp_path: Path) -> None:
    class Broken:
        def __str__(self) -> str:
            raise RuntimeError("no text")

    class Recorder(logging.Handler):
        def __init__(self) -> None:
            super().__init__()
            self.records: list[logging.LogRecord] = []

        def emit(self, record: logging.LogRecord) -> None:
            self.records.append(record)

    log, recorder = logging.getLogger("tradewind.test.tasklog.broken"), Recorder()
    log.addHandler(recorder)
    log.propagate = False
    fd = os.open(tmp_path / "1.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        write_lines_directly(fd)
        value = Broken()
        _say(log, value)  # must not raise into the task: logging deals with it, as it always did
    finally:
        write_lines_directly(-1)
        os.close(fd)
        log.removeHandler(recorder)
    assert (tmp_path / "1.log").read_text() == ""
    assert [(r.msg, r.args) for r in recorder.records] == [("Done. Returned value was: %s", (value,))]
