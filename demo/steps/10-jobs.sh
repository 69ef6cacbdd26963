#!/usr/bin/env bash
# Foundation: jobs through the CLIs on two more queues, one of them waited for later.
set -euo pipefail

step "A probe on the pipelines queue only"
show conveyor check --queue pipelines

step "Prune old job rows: a job on the sweeps queue, submitted without waiting"
submitted=$(show conveyor jobs prune --no-wait)
printf '%s\n' "$submitted"
job_id=$(printf '%s' "$submitted" | python -c 'import json,sys; print(json.load(sys.stdin)["job_id"])')

step "Wait for it by id"
show conveyor jobs wait "$job_id"
