#!/usr/bin/env bash
# Oord: seal and verify through the CLI, then the sender -> receiver agent on the local
# stack (beat's scans drive it), with a tampered bundle ending in quarantine.
set -euo pipefail

work="$DEMO_WORK/oord"
mkdir -p "$work"

field() {  # field NAME < json
    python -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

state_of() {  # state_of batches|bundles KEY: the row's state, or "absent"
    oord agent status --json | python -c '
import json, sys
rows = json.load(sys.stdin)[sys.argv[1]]
key = "batch_id" if sys.argv[1] == "batches" else "name"
print(next((r["state"] for r in rows if r[key] == sys.argv[2]), "absent"))' "$1" "$2"
}

wait_for_state() {  # wait_for_state batches|bundles KEY STATE
    local deadline=$((SECONDS + 90)) now
    while :; do
        now=$(state_of "$1" "$2")
        if [ "$now" = "$3" ]; then
            echo "  $2: $now" >&2
            return 0
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "demo: $2 is still '$now', expected '$3'" >&2
            oord agent status >&2
            return 1
        fi
        sleep 0.5
    done
}

tamper() {  # tamper SRC DST: the same bundle with one file's content changed
    python - "$1" "$2" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as src, zipfile.ZipFile(sys.argv[2], "w") as dst:
    for info in src.infolist():
        data = src.read(info)
        if info.filename.startswith("files/"):
            data = data.replace(b"EUR", b"USD", 1)
        dst.writestr(info, data, compress_type=info.compress_type)
PY
}

settled() {  # backdate a delivery so the agent's settle time has passed
    find "$@" -exec touch -d '1 minute ago' {} +
}

step "Oord: this host's keys (Ed25519 signing key and TL key, mode 0600; both trusted)"
show oord keys init

step "Seal a folder through the CLI and verify the bundle against the trusted keys"
mkdir -p "$work/reports/q3"
printf 'invoice,amount\n1001,120.00 EUR\n1002,75.50 EUR\n' > "$work/reports/q3/invoices.csv"
printf 'quarterly report\n' > "$work/reports/summary.txt"
sealed=$(show oord seal --input-dir "$work/reports" --out "$work/bundles" --org-id ACME)
printf '%s\n' "$sealed"
bundle=$(printf '%s' "$sealed" | field bundle_path)
show oord verify "$bundle"

step "Change one amount inside the bundle: verify fails with exit 1"
tamper "$bundle" "$work/altered.zip"
set +e
show oord verify "$work/altered.zip"
rc=$?
set -e
[ "$rc" -eq 1 ] || { echo "demo: expected exit 1 from a tampered bundle, got $rc" >&2; exit 1; }

config=$(oord agent config)
watch=$(printf '%s' "$config" | field watch_dir)
outbox=$(printf '%s' "$config" | field outbox_dir)
incoming=$(printf '%s' "$config" | field incoming_dir)
verified=$(printf '%s' "$config" | field verified_root)
quarantine=$(printf '%s' "$config" | field quarantine_dir)

step "Sender: a batch folder appears in the watch folder; beat's scan seals it once"
mkdir -p "$watch/invoices-2026-11/eu"
printf 'invoice,amount\n2001,300.00 EUR\n' > "$watch/invoices-2026-11/eu/november.csv"
printf 'batch of November\n' > "$watch/invoices-2026-11/README.txt"
settled "$watch/invoices-2026-11"
wait_for_state batches batch-invoices-2026-11 sealed
show ls "$outbox"

step "Transport: the bundle reaches the receiver's incoming folder; verified, then extracted"
name=$(ls "$outbox" | grep '^oord_bundle_.*\.zip$')
cp "$outbox/$name" "$incoming/$name"
settled "$incoming/$name"
wait_for_state bundles "$name" verified
show find "$verified" -type f

step "A tampered copy arrives: verification fails and it is moved to quarantine"
tamper "$incoming/$name" "$incoming/tampered-copy.zip"
settled "$incoming/tampered-copy.zip"
wait_for_state bundles tampered-copy.zip quarantined
show ls "$quarantine"
show oord agent status
