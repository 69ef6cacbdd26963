#!/usr/bin/env bash
# Synora: register a package over files in $DEMO_WORK, plan its quarantine, quarantine it
# for real, read the audit trail, and restore it byte for byte. Runs in the CLI's own
# process (local files), with its own database under SYNORA_HOME.
set -euo pipefail

export SYNORA_HOME="$DEMO_WORK/synora-home"
package="$DEMO_WORK/apps/demo-tool"
mkdir -p "$package/bin" "$package/share/doc" "$package/var/cache"
printf '#!/bin/sh\necho demo tool\n' > "$package/bin/demo-tool"
chmod 755 "$package/bin/demo-tool"
printf 'The demo tool.\n' > "$package/share/doc/README"
head -c 4096 /dev/urandom > "$package/share/doc/blob.bin"
before=$(cd "$package" && find . -type f -print0 | sort -z | xargs -0 sha256sum)

step "Synora: register an installed package"
show synora package add --id Demo.Tool --name "Demo Tool" --version 1.0 \
    --install-path "$package" --risk medium --json

step "Synora: plan its quarantine (a dry run is the default; nothing moves)"
show synora cleanup quarantine --id Demo.Tool --verbose

step "Synora: quarantine it for real"
result=$(show synora cleanup quarantine --id Demo.Tool --confirm --json)
printf '%s\n' "$result"
operation_id=$(printf '%s' "$result" | python -c 'import json,sys; print(json.load(sys.stdin)["operation_id"])')
[ ! -e "$package" ] || { echo "demo: $package should be in quarantine" >&2; exit 1; }
show ls -R "$SYNORA_HOME/quarantine/$operation_id"

step "Synora: the audit trail of that operation, in order"
show python - "$SYNORA_HOME/db/synora.db" "$operation_id" <<'PY'
import sqlite3, sys
db, op = sys.argv[1], sys.argv[2]
with sqlite3.connect(db) as conn:
    for row in conn.execute("SELECT id, status, timestamp FROM update_history "
                            "WHERE operation_id = ? ORDER BY id", (op,)):
        print("update_history ", *row)
    (n,) = conn.execute("SELECT count(*) FROM quarantine WHERE operation_id = ?", (op,)).fetchone()
    print("quarantine      ", n, "rows (folders and files, each with its sha256 and origin)")
    (n,) = conn.execute("SELECT count(*) FROM registry_backup WHERE operation_id = ?", (op,)).fetchone()
    print("registry_backup ", n, "row")
PY
show synora package show --id Demo.Tool

step "Synora: restore it"
show synora cleanup restore --operation-id "$operation_id" --verbose
after=$(cd "$package" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
if [ "$before" != "$after" ]; then
    echo "demo: the restored files differ from the originals" >&2; exit 1
fi
[ -d "$package/var/cache" ] || { echo "demo: the empty folder was not restored" >&2; exit 1; }
echo "demo: every file is back with the same sha256" >&2
