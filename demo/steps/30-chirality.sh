#!/usr/bin/env bash
# Chirality: an echo pipeline run as a job on the pipelines queue, then validated the way
# its consumer does; a second call finds the run done; a tampered copy is rejected.
set -euo pipefail

work="$DEMO_WORK/chirality"
mkdir -p "$work"
cd "$work"
cat > problem.json <<'JSON'
{"title": "Release safety", "statement": "Ship every week without breaking users."}
JSON

step "Chirality: compute an echo pipeline through the stack (runs/demo-echo under $work)"
out=$(show chirality compute-pipeline --resolver echo --snapshot-jsonl --out runs/demo-echo \
    --problem-file problem.json --max-seconds 120)
printf '%s\n' "$out"
[ "$out" = '{"run_id":"demo-echo","manifest":"runs/demo-echo/index.json"}' ]
show wc -l runs/demo-echo/snapshots/C.jsonl runs/demo-echo/snapshots/D.jsonl \
    runs/demo-echo/snapshots/X.jsonl runs/demo-echo/snapshots/E.jsonl

step "Chirality: validate the run as its consumer must (schemas, checksums, versions)"
show chirality validate-run runs/demo-echo --strict

step "Chirality: the same run again is not recomputed"
again=$(show chirality compute-pipeline --resolver echo --snapshot-jsonl --out runs/demo-echo \
    --problem-file problem.json --max-seconds 120)
printf '%s
' "$again"
[ "$again" = "$out" ]

step "Chirality: a tampered copy is rejected (exit 1, RUN_INVALID)"
mkdir -p tampered/runs
cp -r runs/demo-echo tampered/runs/
sed -i 's/Direction/Directive/' tampered/runs/demo-echo/snapshots/C.jsonl
status=0
show chirality validate-run tampered/runs/demo-echo || status=$?
[ "$status" -eq 1 ]

step "Chirality: a run id with a path in it is refused (exit 2), nothing is created"
status=0
show chirality compute-pipeline --resolver echo --out 'runs/../escape' \
    --problem-file problem.json || status=$?
[ "$status" -eq 2 ] && [ ! -e escape ] && [ ! -e runs/escape ]
