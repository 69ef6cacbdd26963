"""The openai resolver: chat completions through the official `openai` package.

Any OpenAI-compatible endpoint (OPENAI_BASE_URL) with OPENAI_API_KEY and a model
setting. The client's own retries are off (max_retries=0): retries happen here, on
429, 5xx, timeouts and connection failures only, with the one backoff function of
the project, so that they count against the run's deadline and show in the logs. A
call that still fails is a ContractError RESOLVER_ERROR (exit 5); the original
producer exited 1 there, which the contract does not allow.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from common.backoff import compute_backoff_s
from config.chirality import ChiralitySettings
from config.redact import MASK, redact_urls
from domain.chirality.calls import ResolverCall
from domain.chirality.errors import resolver_error
from domain.chirality.problem import Problem
from domain.chirality.resolvers.prompts import messages

logger = logging.getLogger("conveyor.chirality.openai")

BACKOFF_JITTER = 0.1
# Other statuses worth a retry besides 429 and 5xx: request timeout, conflict.
_RETRY_STATUSES = frozenset({408, 409})
_REASON_CHARS = 300


class EmptyAnswer(Exception):
    """The endpoint answered 200 without any text."""


@dataclass(frozen=True)
class Failure:
    retry: bool
    reason: str
    status: int | None = None
    retry_after_s: float | None = None


def classify(exc: Exception) -> Failure | None:
    """What a failed request means; None for an exception that is no API failure (a bug)."""
    import openai

    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        return Failure(retry=status == 429 or status >= 500 or status in _RETRY_STATUSES,
                       reason=f"HTTP {status}: {exc.message}"[:_REASON_CHARS], status=status,
                       retry_after_s=_retry_after(exc.response.headers.get("retry-after")))
    if isinstance(exc, openai.APITimeoutError):
        return Failure(retry=True, reason="the request timed out")
    if isinstance(exc, openai.APIConnectionError):
        return Failure(retry=True, reason=f"connection failed: {exc.__cause__ or exc}"
                       [:_REASON_CHARS])
    if isinstance(exc, openai.APIError):
        return Failure(retry=False, reason=str(exc)[:_REASON_CHARS])
    if isinstance(exc, EmptyAnswer):
        return Failure(retry=True, reason="the answer had no text")
    return None


def _retry_after(value: str | None) -> float | None:
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None  # an HTTP date: the backoff decides


class OpenAIResolver:
    name = "openai"

    def __init__(self, *, settings: ChiralitySettings, problem: Problem,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 rand: Callable[[], float] = random.random) -> None:
        if not settings.openai_api_key:
            raise resolver_error("the openai resolver needs OPENAI_API_KEY in the environment "
                                 "of the worker that runs the job (in the embedded mode: of "
                                 "this command)", resolver=self.name)
        from openai import AsyncOpenAI

        self._client = AsyncOpenAI(api_key=settings.openai_api_key,
                                   base_url=settings.openai_base_url,
                                   timeout=settings.request_timeout_s, max_retries=0)
        self._settings = settings
        self._problem = problem
        self._sleep = sleep
        self._rand = rand

    async def resolve(self, call: ResolverCall) -> str:
        request = messages(call, self._problem)
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._complete(request)
            except Exception as exc:
                failure = classify(exc)
                if failure is None:
                    raise
                failure = replace(failure, reason=self._scrub(failure.reason))
                if not failure.retry or attempt > self._settings.max_retries:
                    raise self._gave_up(call, failure, attempt) from None
                delay_s = self._delay_s(attempt, failure)
                logger.info("resolver call %s %s failed (%s); retry %d in %.2f s", call.kind,
                            call.cell.id, failure.reason, attempt, delay_s)
                await self._sleep(delay_s)

    async def _complete(self, request: list[dict[str, str]]) -> str:
        body: Any = request  # plain dicts are what the API takes; its TypedDicts say the same
        response = await self._client.chat.completions.create(model=self._settings.model,
                                                              messages=body)
        choices = response.choices or []
        content = choices[0].message.content if choices else None
        if not content or not content.strip():
            raise EmptyAnswer()
        return content.strip()

    def _scrub(self, reason: str) -> str:
        """The endpoint's words without our key: a compatible server may quote it back in
        an error ("Incorrect API key provided: sk-..."), and the reason goes to logs, the
        job's row and the CLI's answer."""
        key = self._settings.openai_api_key or ""
        return redact_urls(reason.replace(key, MASK) if key else reason)

    def _delay_s(self, attempt: int, failure: Failure) -> float:
        delay = compute_backoff_s(attempt, base_s=self._settings.retry_base_s,
                                  cap_s=self._settings.retry_cap_s, jitter=BACKOFF_JITTER,
                                  rand=self._rand)
        if failure.retry_after_s is not None:  # the server knows best, within our cap
            delay = max(delay, min(failure.retry_after_s, self._settings.retry_cap_s))
        return delay

    def _gave_up(self, call: ResolverCall, failure: Failure, attempts: int) -> Exception:
        logger.warning("resolver call %s %s failed for good after %d attempt(s): %s",
                       call.kind, call.cell.id, attempts, failure.reason)
        return resolver_error(
            f"the openai resolver failed on {call.cell.id} ({call.kind}) after {attempts} "
            f"attempt(s): {failure.reason}",
            resolver=self.name, model=self._settings.model, cell=call.cell.id,
            call=str(call.kind), attempts=attempts, status=failure.status)

    async def aclose(self) -> None:
        await self._client.close()
