#!/usr/bin/env bash
# Exam session isolation: one session from create to terminated, its environment
# created and destroyed by jobs on the `environments` queue, and a TTL sweep on the
# `sweeps` queue (local backend: a working folder and a process per session).
set -euo pipefail

USER_ID=550e8400-e29b-41d4-a716-446655440000
SESSION_ID=6ba7b810-9dad-11d1-80b4-00c04fd430c8
field() { python -c "import json,sys; print(json.load(sys.stdin)[\"$1\"])"; }

step "Exam: validate the identity (the contract's example ids; the session id is a v1 UUID)"
show session-identity validate --user-id "$USER_ID" --session-id "$SESSION_ID"

step "Exam: a missing component is a validation failure (exit 3, JSON on stderr)"
rc=0; show session-identity validate --session-id "$SESSION_ID" || rc=$?
[ "$rc" -eq 3 ] || { echo "demo: expected exit 3, got $rc" >&2; exit 1; }

step "Exam: create the session (state created)"
show session-lifecycle create --user-id "$USER_ID" --session-id "$SESSION_ID" --duration-seconds 3600

step "Exam: create its environment: a job on the environments queue, waited for"
show execution-environment create --session-id "$SESSION_ID" --timeout 60
show execution-environment status --session-id "$SESSION_ID"
show session-status get --session-id "$SESSION_ID"

step "Exam: the owner may open it; anyone else gets the same bare denial (exit 5)"
show environment-access authorize --session-id "$SESSION_ID" --user-id "$USER_ID"
rc=0; show environment-access authorize --session-id "$SESSION_ID" \
    --user-id 1b4e28ba-2fa1-41d2-883f-0016d3cca427 || rc=$?
[ "$rc" -eq 5 ] || { echo "demo: expected exit 5, got $rc" >&2; exit 1; }

step "Exam: the exam starts; its TTL counts down"
show session-lifecycle transition --session-id "$SESSION_ID" --to running
show cleanup-ttl check --session-id "$SESSION_ID"

step "Exam: the exam ends; a second 'running' is refused with the allowed transitions (exit 6)"
show session-lifecycle transition --session-id "$SESSION_ID" --to terminated
rc=0; show session-lifecycle transition --session-id "$SESSION_ID" --to running || rc=$?
[ "$rc" -eq 6 ] || { echo "demo: expected exit 6, got $rc" >&2; exit 1; }

step "Exam: a sweep (job on the sweeps queue) destroys the ended session's environment"
show cleanup-ttl sweep --dry-run
show cleanup-ttl sweep
status=$(execution-environment status --session-id "$SESSION_ID")
printf '%s\n' "$status"
[ "$(printf '%s' "$status" | field status)" = destroyed ] || {
    echo "demo: the environment was not destroyed" >&2; exit 1; }
show session-lifecycle status --session-id "$SESSION_ID"
show session-status get --session-id "$SESSION_ID"

step "Exam: what a failure means, for the candidate and for operators"
show failure-classification classify --type init --context '{"reason": "ImagePullBackOff"}'
