"""Run the graph under a deadline: on expiry every call in flight is cancelled."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from common.errors import ContractError
from domain.chirality.attempts import ResolverAttempts
from domain.chirality.calls import Resolver
from domain.chirality.errors import timed_out
from domain.chirality.graph import Graph, ProgressCallback
from domain.chirality.matrix import Matrix

logger = logging.getLogger("conveyor.chirality")

# Closing the resolver (its HTTP connections) must not eat into the caller's deadline.
CLOSE_TIMEOUT_S = 1.0


@dataclass(frozen=True)
class Computation:
    matrices: dict[str, Matrix]
    calls: int
    elapsed_s: float
    attempts: ResolverAttempts


def compute(make_resolver: Callable[[], Resolver], *, concurrency: int, deadline: float,
            on_progress: ProgressCallback | None = None) -> Computation:
    """Every matrix of a run, by ``deadline`` (time.monotonic()).

    ContractError TIMEOUT (exit 3) past the deadline, every call in flight cancelled; a
    resolver's own ContractError (RESOLVER_ERROR, exit 5) as it failed. Either carries
    the resolver's attempts (requests, retries, last error) in its details.
    """
    return asyncio.run(_compute(make_resolver, concurrency=concurrency, deadline=deadline,
                                on_progress=on_progress))


async def _compute(make_resolver: Callable[[], Resolver], *, concurrency: int,
                   deadline: float, on_progress: ProgressCallback | None) -> Computation:
    started = time.monotonic()
    resolver = make_resolver()
    graph = Graph(resolver, concurrency=concurrency, on_progress=on_progress)
    try:
        # The loop's clock is time.monotonic(), so the deadline applies as it is, and
        # time spent creating the resolver (importing openai: ~1 s) counts against it.
        async with asyncio.timeout_at(_loop_time(deadline)):
            matrices = await graph.run()
    except TimeoutError:
        raise timed_out(f"the run did not finish within its time limit; "
                        f"{graph.calls} resolver calls had finished, the ones in flight "
                        f"were cancelled", resolver_calls=graph.calls,
                        **resolver.attempts.as_json()) from None
    except BaseExceptionGroup as group:
        # The TaskGroup wraps whatever a cell raised: answer with that, never the group.
        error = _first_contract_error(group)
        if isinstance(error, ContractError):
            raise _with_attempts(error, graph.calls, resolver.attempts) from error.__cause__
        raise error from None
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(resolver.aclose(), CLOSE_TIMEOUT_S)
    return Computation(matrices, graph.calls, time.monotonic() - started, resolver.attempts)


def _loop_time(deadline: float) -> float:
    """``deadline`` (time.monotonic()) on the running loop's clock."""
    return asyncio.get_running_loop().time() + (deadline - time.monotonic())


def _first_contract_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The answer to give for a failed graph: the first contract error, else the first
    exception raised (a bug of ours: it surfaces by its own name and traceback, where the
    group would only say "unhandled errors in a TaskGroup")."""
    leaves = _leaves(group)
    for leaf in leaves:
        if isinstance(leaf, ContractError):
            return leaf
    return leaves[0] if leaves else group


def _with_attempts(error: ContractError, calls: int,
                   attempts: ResolverAttempts) -> ContractError:
    """The same error, its details completed with what the run's calls cost."""
    details = {**error.details, "resolver_calls": calls, **attempts.as_json()}
    return ContractError(error.code, error.message, details, error.exit_code)


def _leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _leaves(inner)]
    return [error]
