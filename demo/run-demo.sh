#!/usr/bin/env bash
# The main job end to end: the local stack, a health check through every queue,
# each contract's demo step (demo/steps/NN-*.sh, in order), the jobs they left, and
# a clean stop. Called by `./run demo`, with .venv/bin first on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
export CONVEYOR_HOME="${CONVEYOR_HOME:-$PWD/.state/demo}"
DEMO_WORK="$CONVEYOR_HOME/work"
export DEMO_WORK

bold=""; plain=""
if [ -t 2 ]; then bold=$'\033[1m'; plain=$'\033[0m'; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain" >&2; }
show() { printf '%s+ %s%s\n' "$bold" "$*" "$plain" >&2; "$@"; }
export -f step show
export bold plain

# A clean state each time; a stack left by an interrupted demo is stopped first.
conveyor down >/dev/null 2>&1 || true
rm -rf "$CONVEYOR_HOME"
mkdir -p "$DEMO_WORK"
trap 'conveyor down >/dev/null 2>&1 || true' EXIT

step "Start the local stack (Redis, a worker per queue group, beat, Flower)"
show conveyor up

step "Send a probe job through every queue"
show conveyor check

for demo_step in demo/steps/[0-9]*.sh; do
    bash "$demo_step"
done

step "Every job the demo ran, from the jobs table"
show conveyor jobs list

step "Stop the stack"
show conveyor down
trap - EXIT
status=$(conveyor status)
if printf '%s' "$status" | grep -q '"alive": true'; then
    echo "demo: processes were left running:" >&2; printf '%s\n' "$status" >&2; exit 1
fi
echo "demo: done; the stack is stopped and no process was left behind." >&2
