"""The openai resolver: chat completions over HTTP, from any OpenAI-compatible endpoint.

One POST {OPENAI_BASE_URL}/chat/completions per call (Bearer OPENAI_API_KEY, the model
setting), sent with aiohttp and read by answers.py. Not through the official `openai`
package: it spends about 4 ms of CPU per request (request building, pydantic models)
against 0.6 ms here (docs/benchmarks.md, pipeline), and at concurrency 16 on a busy
machine that CPU, not the endpoint, bounds a run. Reading the answer ourselves also
means every answer is checked: the package hands back a 200 whose body is not JSON as a
plain string, which then failed as an AttributeError far from its cause.

Retries happen here, on 429, 5xx, 408/409, timeouts, connection failures and unusable
answers, with the one backoff function of the project, so that they count against the
run's deadline and show on the job's row. A call that still fails, or fails in a way
a retry cannot mend (another 4xx, a refusal), is a ContractError RESOLVER_ERROR
(exit 5); the original producer exited 1 there, which the contract does not allow.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from common.backoff import compute_backoff_s
from config.chirality import DEFAULT_OPENAI_BASE_URL, ChiralitySettings
from config.redact import MASK, redact_urls
from domain.chirality.attempts import ResolverAttempts
from domain.chirality.calls import ResolverCall
from domain.chirality.errors import resolver_error
from domain.chirality.problem import Problem
from domain.chirality.resolvers.answers import BadAnswer, completion_text, http_error_reason
from domain.chirality.resolvers.prompts import messages

if TYPE_CHECKING:
    import aiohttp
    from yarl import URL

logger = logging.getLogger("conveyor.chirality.openai")

BACKOFF_JITTER = 0.1
# Other statuses worth a retry besides 429 and 5xx: request timeout, conflict.
_RETRY_STATUSES = frozenset({408, 409})
_REASON_CHARS = 300
# Connections kept open to the endpoint: at least the most calls a run has in flight.
_MAX_CONNECTIONS = 256


@dataclass(frozen=True)
class Failure:
    retry: bool
    reason: str
    status: int | None = None
    retry_after_s: float | None = None


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes
    content_type: str
    retry_after: str | None


def classify_status(answer: _Answer) -> Failure:
    status = answer.status
    return Failure(retry=status == 429 or status >= 500 or status in _RETRY_STATUSES,
                   reason=http_error_reason(status, answer.body), status=status,
                   retry_after_s=_retry_after(answer.retry_after))


def classify_exception(exc: Exception, timeout_s: float) -> Failure | None:
    """What a failed request means; None for an exception that is no HTTP failure (a bug)."""
    import aiohttp

    if isinstance(exc, BadAnswer):
        return Failure(retry=exc.retry, reason=exc.reason, status=200)
    if isinstance(exc, aiohttp.InvalidURL):  # the settings check refuses these first
        return Failure(retry=False, reason=f"invalid URL {exc}")
    if isinstance(exc, TimeoutError):  # aiohttp's timeouts included
        return Failure(retry=True, reason=f"the request timed out after {timeout_s:g} s")
    if isinstance(exc, aiohttp.ClientConnectionError):
        return Failure(retry=True, reason=f"connection failed: {_describe(exc)}")
    if isinstance(exc, aiohttp.ClientError):  # a broken HTTP message or payload
        return Failure(retry=True, reason=f"the answer could not be read: {_describe(exc)}")
    return None


def _env_proxy(url: URL) -> str | None:
    """HTTP(S)_PROXY for the endpoint unless NO_PROXY exempts it, as the openai package
    reads them; looked up once per run."""
    from urllib.request import getproxies, proxy_bypass

    if url.host is None or proxy_bypass(url.host):
        return None
    return getproxies().get(url.scheme)


def _describe(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


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
        from yarl import URL

        base = (settings.openai_base_url or DEFAULT_OPENAI_BASE_URL).rstrip("/")
        self._url = URL(f"{base}/chat/completions")
        self._proxy = _env_proxy(self._url)
        self._session: aiohttp.ClientSession | None = None  # made in the loop
        self._settings = settings
        self._problem = problem
        self._sleep = sleep
        self._rand = rand
        self.attempts = ResolverAttempts()

    async def resolve(self, call: ResolverCall) -> str:
        body = json.dumps({"model": self._settings.model,
                           "messages": messages(call, self._problem)}).encode()
        attempt = 0
        while True:
            attempt += 1
            self.attempts.attempted()
            failure = await self._attempt(body)
            if isinstance(failure, str):
                return failure
            failure = Failure(failure.retry, self._scrub(failure.reason)[:_REASON_CHARS],
                              failure.status, failure.retry_after_s)
            retrying = failure.retry and attempt <= self._settings.max_retries
            self.attempts.failed(failure.reason, retrying=retrying)
            if not retrying:
                raise self._gave_up(call, failure, attempt) from None
            delay_s = self._delay_s(attempt, failure)
            logger.info("resolver call %s %s failed (%s); retry %d in %.2f s", call.kind,
                        call.cell.id, failure.reason, attempt, delay_s)
            await self._sleep(delay_s)

    async def _attempt(self, body: bytes) -> str | Failure:
        """One request: the answer's text, or what went wrong."""
        try:
            answer = await self._post(body)
            if not 200 <= answer.status < 300:
                return classify_status(answer)
            return completion_text(answer.body, answer.content_type)
        except Exception as exc:
            failure = classify_exception(exc, self._settings.request_timeout_s)
            if failure is None:
                raise
            return failure

    def _http(self) -> aiohttp.ClientSession:
        """The session, made on first use: aiohttp needs the running event loop."""
        if self._session is None:
            import aiohttp

            # Not trust_env: with it aiohttp looks up the proxy and ~/.netrc again for
            # every request, in a thread (two thread hand-offs per call, half its CPU).
            self._session = aiohttp.ClientSession(
                headers=request_headers(self._settings),
                timeout=aiohttp.ClientTimeout(total=self._settings.request_timeout_s),
                connector=aiohttp.TCPConnector(limit=_MAX_CONNECTIONS))
        return self._session

    async def _post(self, body: bytes) -> _Answer:
        # A redirect is not followed: the key would travel to wherever it points.
        async with self._http().post(self._url, data=body, allow_redirects=False,
                                      proxy=self._proxy) as response:
            return _Answer(response.status, await response.read(),
                           response.headers.get("Content-Type", ""),
                           response.headers.get("Retry-After"))

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
        if self._session is not None:
            await self._session.close()


def request_headers(settings: ChiralitySettings) -> dict[str, str]:
    """What every request carries; organization and project only when set, as the
    official client sends them."""
    headers = {"Authorization": f"Bearer {settings.openai_api_key}",
               "Content-Type": "application/json", "Accept": "application/json",
               "User-Agent": "conveyor-chirality"}
    if settings.openai_organization:
        headers["OpenAI-Organization"] = settings.openai_organization
    if settings.openai_project:
        headers["OpenAI-Project"] = settings.openai_project
    return headers
