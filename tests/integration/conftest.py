"""The local stack on free loopback ports, started once per test session (local/stack.py): moto
server, vendor sandbox, and the API served by uvicorn through the same HttpResolver `make run` uses.
Real HTTP everywhere."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local import config
from local.stack import RunningStack, running_stack

Stack = RunningStack

# Fast, bounded retries so fault tests finish quickly.
TEST_ENV = {
    "HTTP_BACKOFF_BASE_S": "0.01",
    "HTTP_READ_TIMEOUT_S": "2",
    "HTTP_BUDGET_S": "6",
    "RETRY_AFTER_CAP_S": "0.2",
    "REPLAY_BACKOFF_S": "0,0,0,0,0",
}


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    with running_stack(TEST_ENV) as running:
        yield running


@pytest.fixture
def clean(stack: Stack) -> Stack:
    """Each test starts with no faults, no records and empty queues."""
    stack.reset()
    return stack


API_KEY_HEADERS = {"x-api-key": config.API_KEY, "Content-Type": "application/json"}
