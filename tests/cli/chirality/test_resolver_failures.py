"""Every way the model endpoint can fail, through the real CLI: exit 5 with the cause.

The endpoint is a real HTTP server on loopback (tests/support/chat_server.py) answering
what a broken, hostile or overloaded endpoint answers; the CLI runs as a process in
the embedded mode, and the job's row is read straight from its SQLite file.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.chat_server import ChatServer, RawAnswer
from tests.support.chirality import error_of, openai_env
from tests.support.cli import run_cli

pytestmark = pytest.mark.slow

TASK = "tasks.pipelines.compute_pipeline"
RETRIES = 2  # openai_env's CHIRALITY_MAX_RETRIES: a retried failure makes 3 attempts


def compute(cwd: Path, problem_file: Path, env: dict[str, str],
            run_id: str = "f1") -> subprocess.CompletedProcess[str]:
    return run_cli("chirality", "compute-pipeline", "--resolver", "openai", "--snapshot-jsonl",
                   "--out", f"runs/{run_id}", "--problem-file", str(problem_file),
                   "--max-seconds", "60", env={**os.environ, **env}, cwd=cwd, timeout=120)



def job_rows(home: Path) -> list[dict[str, Any]]:
    """The pipeline jobs' rows, read with sqlite3 rather than through our store."""
    database = home / "conveyor.db"
    if not database.exists():
        return []
    with sqlite3.connect(database) as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute("SELECT * FROM jobs WHERE kind = ?", (TASK,)).fetchall()
    return [dict(row) for row in rows]


def completion(message: dict[str, Any], finish_reason: str = "stop") -> RawAnswer:
    return RawAnswer.of_json({"id": "chatcmpl-1", "object": "chat.completion", "created": 1,
                              "model": "m", "choices": [{"index": 0, "message": message,
                                                         "finish_reason": finish_reason}]})


@dataclass(frozen=True)
class Kind:
    """One kind of endpoint failure: how the server answers, and what the error says."""

    answer: RawAnswer | None
    status: int | None  # scripted HTTP status when answer is None
    says: str
    retried: bool
    http_status: int | None


KINDS: dict[str, Kind] = {
    "200-not-json": Kind(RawAnswer(b"<html><body>502 Bad Gateway</body></html>",
                                   content_type="text/html"), None,
                         "the answer was not JSON (Content-Type: text/html", True, 200),
    "200-json-claimed-but-not-json": Kind(RawAnswer(b'{"choices": [tru'), None,
                                          "the answer was not JSON (Content-Type: "
                                          "application/json", True, 200),
    "200-wrong-shape": Kind(RawAnswer.of_json({"object": "list", "data": []}), None,
                            'the answer was not a chat completion: "choices" is null or '
                            "missing", True, 200),
    "200-a-json-array": Kind(RawAnswer.of_json([1, 2]), None,
                             "the answer was not a chat completion but JSON an array",
                             True, 200),
    "200-empty-choices": Kind(RawAnswer.of_json({"object": "chat.completion", "choices": []}),
                              None, "the answer had no choices", True, 200),
    "200-no-message": Kind(RawAnswer.of_json({"choices": [{"index": 0, "text": "hi"}]}), None,
                           'choices[0] has no "message" object', True, 200),
    "200-content-not-text": Kind(completion({"role": "assistant", "content": {"a": 1}}), None,
                                 "choices[0].message.content is an object", True, 200),
    "200-empty-text": Kind(completion({"role": "assistant", "content": "  "}), None,
                           "the answer had no text", True, 200),
    "200-refusal": Kind(completion({"role": "assistant", "content": None,
                                    "refusal": "I can't help with that."}), None,
                        "the model refused: I can't help with that.", False, 200),
    "200-content-filter": Kind(completion({"role": "assistant", "content": None},
                                          finish_reason="content_filter"), None,
                               "content filter withheld the answer", False, 200),
    "200-error-object": Kind(RawAnswer.of_json({"error": {"message": "upstream overloaded"}}),
                             None, "the endpoint answered with an error: upstream overloaded",
                             True, 200),
    "400": Kind(None, 400, "HTTP 400: scripted failure 400", False, 400),
    "401": Kind(None, 401, "HTTP 401: scripted failure 401", False, 401),
    "404-html": Kind(RawAnswer(b"<h1>Not Found</h1>", status=404, content_type="text/html"),
                     None, "HTTP 404: <h1>Not Found</h1>", False, 404),
    "429": Kind(None, 429, "HTTP 429: scripted failure 429", True, 429),
    "500": Kind(None, 500, "HTTP 500: scripted failure 500", True, 500),
    "503": Kind(None, 503, "HTTP 503: scripted failure 503", True, 503),
}


# One process per failure kind; every variant of each is checked in-process by
# tests/domain/chirality/test_openai_answers.py, which shares KINDS.
CLI_KINDS = ['200-not-json', '200-wrong-shape', '200-empty-choices', '200-refusal', '400', '503']


@pytest.mark.parametrize("name", CLI_KINDS)
def test_an_endpoint_failure_is_exit_5_with_its_cause_on_the_job_row(
        name: str, runs_root: Path, problem_file: Path, conveyor_home: Path,
        chat_server: ChatServer) -> None:
    kind = KINDS[name]
    if kind.answer is not None:
        chat_server.raw = kind.answer
    else:
        chat_server.script([], then_status=kind.status or 500)
    result = compute(runs_root, problem_file, openai_env(chat_server))
    assert result.returncode == 5, result.stderr
    error = error_of(result)
    assert error["code"] == "RESOLVER_ERROR"
    assert error["message"].startswith("the openai resolver failed on "), error["message"]
    assert kind.says in error["message"], error["message"]
    details = error["details"]
    attempts = RETRIES + 1 if kind.retried else 1
    assert (details["attempts"], details["status"]) == (attempts, kind.http_status)
    assert details["resolver_last_error"] in error["message"]
    assert details["resolver_attempts"] >= attempts == details["attempts"]
    if kind.retried:  # the calls in flight retried alongside the one that gave up
        assert details["resolver_retries"] >= RETRIES
    else:
        assert details["resolver_retries"] == 0
    assert details["resolver_calls"] == 0  # every call failed: none finished
    assert not (runs_root / "runs" / "f1" / "index.json").exists()
    [row] = job_rows(conveyor_home)
    assert (row["status"], row["last_exit_code"], row["attempts"]) == ("failed", 5, 1)
    assert row["last_error"] == error["message"]
    recorded = json.loads(row["result"])
    assert (recorded["code"], recorded["details"]) == ("RESOLVER_ERROR", details)


def test_a_timeout_after_its_retries_is_exit_5(runs_root: Path, problem_file: Path,
                                              conveyor_home: Path,
                                              chat_server: ChatServer) -> None:
    chat_server.latency_s = 30
    result = compute(runs_root, problem_file,
                     openai_env(chat_server, CHIRALITY_REQUEST_TIMEOUT_S="0.3",
                                CHIRALITY_MAX_RETRIES="1"))
    assert result.returncode == 5, result.stderr
    error = error_of(result)
    assert "the request timed out after 0.3 s" in error["message"]
    assert error["details"]["attempts"] == 2 and error["details"]["status"] is None
    [row] = job_rows(conveyor_home)
    assert (row["last_exit_code"], row["last_error"]) == (5, error["message"])


def test_a_refused_connection_after_its_retries_is_exit_5(runs_root: Path, problem_file: Path,
                                                         conveyor_home: Path,
                                                         chat_server: ChatServer) -> None:
    env = openai_env(chat_server)
    chat_server.stop()  # nothing listens on its port any more
    result = compute(runs_root, problem_file, env)
    assert result.returncode == 5, result.stderr
    error = error_of(result)
    assert "connection failed: " in error["message"]
    assert error["details"]["attempts"] == RETRIES + 1
    [row] = job_rows(conveyor_home)
    assert (row["last_exit_code"], row["last_error"]) == (5, error["message"])


def test_a_base_url_that_is_not_http_is_exit_2_before_any_call(
        runs_root: Path, problem_file: Path, conveyor_home: Path,
        chat_server: ChatServer) -> None:
    result = compute(runs_root, problem_file,
                     openai_env(chat_server, OPENAI_BASE_URL="notaurl"))
    assert result.returncode == 2, result.stderr
    error = error_of(result)
    assert error["code"] == "INVALID_ARGUMENTS"
    assert error["message"] == ("OPENAI_BASE_URL must be an http:// or https:// URL with a "
                                "host, such as http://127.0.0.1:8000/v1; got 'notaurl'")
    assert chat_server.requests == 0
    assert job_rows(conveyor_home) == []  # refused before anything was submitted
    assert list(runs_root.iterdir()) == []


def test_retries_of_a_run_that_succeeds_are_on_its_job_row(runs_root: Path, problem_file: Path,
                                                          conveyor_home: Path,
                                                          chat_server: ChatServer) -> None:
    chat_server.script([503, 503])  # two calls fail once each (in either order)
    result = compute(runs_root, problem_file, openai_env(chat_server))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"run_id": "f1", "manifest": "runs/f1/index.json"}
    [row] = job_rows(conveyor_home)
    assert (row["status"], row["last_exit_code"]) == ("succeeded", 0)
    recorded = json.loads(row["result"])
    assert (recorded["resolver_calls"], recorded["resolver_attempts"],
            recorded["resolver_retries"]) == (380, 382, 2)
    assert recorded["resolver_last_error"] == "HTTP 503: scripted failure 503"
    assert chat_server.requests == 382
    assert row["progress"] == ("writing snapshots; 2 resolver retries in 382 requests, "
                               "last: HTTP 503: scripted failure 503")
