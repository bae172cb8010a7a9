"""Hypothesis fuzzing of every route: whatever the path, query or body, never a 5xx."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.actions.factory import add_dag, add_run
from tests.api.conftest import AppClient, make_client

from tradewind.api.routes import API_PREFIX, API_ROUTES
from tradewind.config import Config
from tradewind.store import Database

DATES = [
    "2024-01-01",
    "2024-01-01T00:00:00+00:00",
    "2024-01-01 00:00:00",
    "9999-12-31T23:59:59-05:00",
    "0001-01-01T00:00:00",
    "2024-02-30",
    "1e9",
]
SEGMENTS = st.one_of(
    st.sampled_from(["example", "extract", "default_pool", "true", "false", *DATES]),
    st.text(min_size=1, max_size=40),
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
KEYS = st.sampled_from(
    [
        "run_id",
        "conf",
        "execution_date",
        "replace_microseconds",
        "name",
        "slots",
        "description",
        "include_deferred",
        "is_paused",
    ]
) | st.text(max_size=8)
BODIES = st.one_of(
    st.dictionaries(KEYS, JSON_VALUES | st.sampled_from(DATES), max_size=5).map(
        lambda d: json.dumps(d).encode()
    ),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=60),
)
QUERIES = st.dictionaries(
    st.sampled_from(["state", "limit", "offset", "execution_date_gte", "execution_date_lte", "x"]),
    st.text(max_size=20) | st.sampled_from(DATES),
    max_size=3,
)
METHODS = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"])


def fill(path: str, segments: list[str]) -> str:
    parts = iter(segments)
    out = []
    for piece in path.split("/"):
        out.append(quote(next(parts, "x"), safe="") if piece.startswith("{") else piece)
    return "/".join(out)


@pytest.fixture
def fuzz_client(app_config: Config, db: Database) -> Any:
    add_dag(db)
    add_run(db, "example", datetime(2024, 1, 1, tzinfo=UTC))
    with make_client(app_config, db) as client:
        yield client


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    route=st.sampled_from(API_ROUTES),
    segments=st.lists(SEGMENTS, min_size=4, max_size=4),
    method=METHODS,
    query=QUERIES,
    body=BODIES,
)
def test_no_route_answers_5xx(
    fuzz_client: AppClient, route: Any, segments: list[str], method: str, query: dict[str, str], body: bytes
) -> None:
    url = API_PREFIX + fill(route.path, segments)
    response = fuzz_client.request(method, url, params=query, content=body)
    assert response.status_code < 500, (method, url, query, body, response.text)
    if response.headers["content-type"].startswith("application/json"):
        payload = response.json()
        if response.status_code >= 400:
            assert set(payload) == {"error", "type"}
