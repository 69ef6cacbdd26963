"""`python -m bench [name ...]`: run benchmarks, print them, rewrite docs/benchmarks.md.

Every module bench/<name>.py with a `run() -> BenchReport` is a benchmark. A run of
some of them keeps the other sections of docs/benchmarks.md as they were.
"""

from __future__ import annotations

import importlib
import re
import sys
from datetime import UTC, datetime

from bench.common import ROOT, machine

DOC = ROOT / "docs" / "benchmarks.md"
NOT_BENCHMARKS = {"__init__", "__main__", "common", "queue_client", "tasks"}


def available() -> list[str]:
    return sorted(p.stem for p in (ROOT / "bench").glob("*.py")
                  if p.stem not in NOT_BENCHMARKS and not p.stem.endswith("_client"))


def _sections(text: str) -> dict[str, str]:
    found = re.findall(r"<!-- bench:(\w+) -->\n(.*?)<!-- /bench:\1 -->", text, re.S)
    return dict(found)


def write_doc(results: dict[str, str]) -> None:
    old = _sections(DOC.read_text()) if DOC.exists() else {}
    old.update(results)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = ["# Benchmarks", "",
             "Every figure is a median, shown beside a baseline measured in the same run "
             "(the machines are shared and noisy: ratios travel, absolute numbers less so). "
             "Regenerate with `./run bench` (all) or `./run bench NAME`.", "",
             f"Last run: {stamp} on {machine()}.", ""]
    for name in sorted(old):
        parts += [f"<!-- bench:{name} -->", old[name].rstrip(), f"<!-- /bench:{name} -->", ""]
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text("\n".join(parts))


def main(argv: list[str]) -> int:
    names = argv or available()
    unknown = set(names) - set(available())
    if unknown:
        print(f"unknown benchmark(s): {', '.join(sorted(unknown))}; "
              f"available: {', '.join(available())}", file=sys.stderr)
        return 2
    results = {}
    for name in names:
        print(f"== bench {name}", file=sys.stderr, flush=True)
        report = importlib.import_module(f"bench.{name}").run()
        report.print()
        results[name] = report.markdown()
    write_doc(results)
    print(f"wrote {DOC.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
