from __future__ import annotations

import pytest

from tradewind.dag import get_current_context
from tradewind.dag.context import set_current_context


def test_current_context_only_while_set() -> None:
    with pytest.raises(RuntimeError, match="only be called while a task is running"):
        get_current_context()
    outer, inner = {"ds": "2024-01-01"}, {"ds": "2024-01-02"}
    with set_current_context(outer):
        assert get_current_context() is outer
        with set_current_context(inner):
            assert get_current_context() is inner
        assert get_current_context() is outer
    with pytest.raises(RuntimeError):
        get_current_context()
