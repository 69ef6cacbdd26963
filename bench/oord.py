"""Oord benchmark: seal and verify throughput against sha256sum, and peak memory.

In one run, over files generated in a temporary folder:
  * a stored set, 512 MiB of already-compressed files (JPEG, MP4, gzip and ZIP
    containers; random content behind real headers), which seal stores;
  * a mixed set of 1 GiB: the stored set, 512 MiB of text (logs, CSV, JSON) that
    seal deflates, and 2,000 small files.
For each set, alternating rounds time `sha256sum` over the same files (the
baseline: reading and hashing once), `oord seal` and `oord verify` as whole
processes; the figures are medians, throughput is input bytes per wall second.
Peak memory is each seal/verify process's maximum RSS (wait4's ru_maxrss).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from bench.common import BenchReport, Figure, interleaved, median

MIB = 1 << 20
ROUNDS = 3
STORED_FILE_BYTES = 32 * MIB
TEXT_FILE_BYTES = 8 * MIB
SMALL_FILES = 2000
MEMORY_TARGET_MB = 150.0
OORD = str(Path(sys.executable).parent / "oord")


# ---- the files ---------------------------------------------------------------------------

def _random(rng: random.Random, size: int) -> bytes:
    return rng.randbytes(size)


def _make_stored(folder: Path, rng: random.Random) -> None:
    """16 x 32 MiB already-compressed files: their headers are real, their bodies random."""
    for i in range(16):
        kind = i % 4
        body = _random(rng, STORED_FILE_BYTES - 64)
        if kind == 0:
            (folder / f"photo-{i:02d}.jpg").write_bytes(b"\xff\xd8\xff\xe0" + body)
        elif kind == 1:
            (folder / f"clip-{i:02d}.mp4").write_bytes(b"\0\0\0\x18ftypmp42" + body)
        elif kind == 2:
            (folder / f"archive-{i:02d}.gz").write_bytes(gzip.compress(body, compresslevel=0))
        else:
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
                zf.writestr("payload.bin", body)
            (folder / f"bundle-{i:02d}.zip").write_bytes(buffer.getvalue())


def _text_blocks(rng: random.Random) -> list[bytes]:
    levels = ("INFO", "WARN", "DEBUG", "ERROR")
    blocks = []
    for _ in range(16):
        lines, size = [], 0
        while size < MIB:
            line = (f"2026-11-21T16:{rng.randrange(60):02d}:{rng.randrange(60):02d}."
                    f"{rng.randrange(1000):03d}Z {rng.choice(levels)} worker-{rng.randrange(16)} "
                    f"job={rng.getrandbits(64):016x} took {rng.random() * 1000:.3f} ms "
                    f"bytes={rng.randrange(10**7)},{rng.randrange(10**5)}\n")
            lines.append(line)
            size += len(line)
        blocks.append("".join(lines).encode()[:MIB])
    return blocks


def _make_text(folder: Path, rng: random.Random) -> None:
    """64 x 8 MiB of log, CSV and JSON-like text, and 2,000 small text files."""
    blocks = _text_blocks(rng)
    per_file = TEXT_FILE_BYTES // MIB
    for i in range(64):
        ext = (".log", ".csv", ".json")[i % 3]
        parts = [blocks[rng.randrange(len(blocks))] for _ in range(per_file)]
        (folder / f"data-{i:02d}{ext}").write_bytes(b"".join(parts))
    small = folder / "small"
    small.mkdir()
    for i in range(SMALL_FILES):
        sub = small / f"d{i % 20:02d}"
        sub.mkdir(exist_ok=True)
        start = rng.randrange(MIB - 4096)
        (sub / f"note-{i:04d}.txt").write_bytes(blocks[i % 16][start:start + 4096])


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _files(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.rglob("*") if p.is_file())


# ---- measuring ---------------------------------------------------------------------------

# Peak RSS is read through a tiny parent: a child's ru_maxrss counts the memory of the
# process it was forked from (Python spawns with vfork, so that would be this one).
_TIME = shutil.which("time", path="/usr/bin:/bin")
_WRAPPER = ("import os, resource, sys\n"
            "pid = os.fork()\n"
            "if pid == 0:\n    os.execvp(sys.argv[2], sys.argv[2:])\n"
            "_, status = os.waitpid(pid, 0)\n"
            "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN)"
            ".ru_maxrss))\n"
            "sys.exit(os.waitstatus_to_exitcode(status))\n")


def _run(argv: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MB and stdout of a whole process."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss_file:
        wrapped = ([_TIME, "-f", "%M", "-o", rss_file.name, *argv] if _TIME else
                   [sys.executable, "-S", "-c", _WRAPPER, rss_file.name, *argv])
        started = time.perf_counter()
        result = subprocess.run(wrapped, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, check=False)
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            raise RuntimeError(f"{argv[:3]} failed: {result.stdout[-500:]!r}")
        peak_kb = float(rss_file.read().strip().splitlines()[-1])
    return elapsed, peak_kb / 1024, result.stdout.decode()


class _Set:
    """One input set: its files, its size and the measurements taken on it."""

    def __init__(self, name: str, folder: Path, work: Path, env: dict[str, str]) -> None:
        self.name, self.folder, self.work, self.env = name, folder, work, env
        self.bytes = _size(folder)
        self.files = _files(folder)
        self.times: dict[str, list[float]] = {"sha256sum": [], "seal": [], "verify": []}
        self.rss: dict[str, list[float]] = {"sha256sum": [], "seal": [], "verify": []}
        self.bundle: str | None = None

    def sha256sum(self) -> float:
        elapsed, rss, _ = _run(["sha256sum", *self.files], self.env)
        self.times["sha256sum"].append(elapsed)
        self.rss["sha256sum"].append(rss)
        return elapsed

    def seal(self) -> float:
        out = self.work / f"out-{self.name}"
        shutil.rmtree(out, ignore_errors=True)
        elapsed, rss, stdout = _run([OORD, "seal", "--input-dir", str(self.folder),
                                     "--out", str(out), "--batch-id", self.name], self.env)
        self.bundle = json.loads(stdout)["bundle_path"]
        self.times["seal"].append(elapsed)
        self.rss["seal"].append(rss)
        return elapsed

    def verify(self) -> float:
        assert self.bundle is not None
        elapsed, rss, _ = _run([OORD, "verify", self.bundle], self.env)
        self.times["verify"].append(elapsed)
        self.rss["verify"].append(rss)
        return elapsed

    def throughput(self, what: str) -> float:
        return self.bytes / MIB / median(self.times[what])


def _figures(data: _Set, target: bool) -> list[Figure]:
    base = data.throughput("sha256sum")
    figures = []
    for what in ("seal", "verify"):
        value = data.throughput(what)
        figures.append(Figure(f"{what}, {data.name} ({data.bytes / MIB:.0f} MiB)", value,
                              "sha256sum, same files", base, "MiB/s",
                              ">= 0.5x" if target else "",
                              value >= 0.5 * base if target else None))
    return figures


def run() -> BenchReport:
    report = BenchReport("Oord: seal and verify vs sha256sum, peak memory",
                         "python -m bench oord")
    with tempfile.TemporaryDirectory(prefix="oord-bench-") as tmp:
        work = Path(tmp)
        env = {**os.environ, "CONVEYOR_HOME": str(work / "home"), "CONVEYOR_LOG_LEVEL": "warning"}
        env.pop("CONVEYOR_DATABASE_URL", None)
        subprocess.run([OORD, "keys", "init"], env=env, check=True, stdout=subprocess.DEVNULL)
        rng = random.Random(20261121)
        stored = work / "stored"
        stored.mkdir()
        _make_stored(stored, rng)
        mixed = work / "mixed"
        shutil.copytree(stored, mixed / "media")
        _make_text(mixed, rng)
        sets = [_Set("stored", stored, work, env), _Set("mixed", mixed, work, env)]
        for data in sets:  # warm the page cache and the database before measuring
            data.sha256sum(), data.seal(), data.verify()
            for values in (*data.times.values(), *data.rss.values()):
                values.clear()
            interleaved(ROUNDS, data.sha256sum, data.seal, data.verify)
    stored_set, mixed_set = sets
    report.figures += _figures(stored_set, target=True) + _figures(mixed_set, target=False)
    sha_peak = max(mixed_set.rss["sha256sum"])
    for what in ("seal", "verify"):
        peak = max(mixed_set.rss[what] + stored_set.rss[what])
        report.figures.append(Figure(f"peak RSS of `oord {what}` (1 GiB mixed)", peak,
                                     "sha256sum", sha_peak, "MB",
                                     f"< {MEMORY_TARGET_MB:g} MB", peak < MEMORY_TARGET_MB))
    report.notes += [
        f"Medians of {ROUNDS} alternating rounds (sha256sum, seal, verify) after one warm-up "
        "round; whole processes, page cache warm; throughput = input bytes / wall time.",
        "Stored set: 16 x 32 MiB JPEG/MP4/gzip/ZIP files (real headers, random bodies). "
        "Mixed set: the stored set + 64 x 8 MiB of log/CSV/JSON text (deflated, level 1) "
        f"+ {SMALL_FILES} x 4 KiB text files.",
        "seal includes the TL entry (SQLite) and the Ed25519 signature; verify runs every "
        "offline check. Peak RSS is the maximum over all rounds of both sets.",
    ]
    return report


if __name__ == "__main__":
    run().print()
