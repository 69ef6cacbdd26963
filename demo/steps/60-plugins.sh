#!/usr/bin/env bash
# Plugin marketplace: install, update and roll back a plugin from a marketplace folder.
# These commands change the project's plugin folder, so they run in the CLI's own process.
set -euo pipefail

market="$DEMO_WORK/plugins/market"
project="$DEMO_WORK/plugins/project"
rm -rf "$DEMO_WORK/plugins"
mkdir -p "$market/archives" "$project"

step "Plugins: a marketplace folder with two versions of hello-plugin (tar.gz + sha256)"
entries=""
for version in 1.0.0 1.1.0; do
    src="$DEMO_WORK/plugins/src-$version"
    mkdir -p "$src/commands"
    cat > "$src/plugin.json" <<JSON
{"name": "hello-plugin", "version": "$version", "description": "Says hello",
 "author": {"name": "Conveyor demo"}, "entrypoints": {"commands": ["commands/hello.md"]},
 "compatibility": {"os": ["linux", "macos"]}, "permissions": []}
JSON
    echo "# hello from $version" > "$src/commands/hello.md"
    tar -czf "$market/archives/hello-plugin-$version.tar.gz" -C "$src" plugin.json commands
    sha=$(sha256sum "$market/archives/hello-plugin-$version.tar.gz" | cut -d' ' -f1)
    entries="$entries${entries:+,}{\"version\": \"$version\", \"source\": \"archives/hello-plugin-$version.tar.gz\", \"sha256\": \"$sha\"}"
done
cat > "$market/marketplace.json" <<JSON
{"schemaVersion": "1.0.0",
 "marketplace": {"name": "demo", "author": "Conveyor", "description": "demo marketplace"},
 "plugins": [{"id": "hello-plugin", "name": "Hello", "version": "1.1.0",
              "source": "plugins/hello-plugin", "versions": [$entries]}]}
JSON
cd "$project"
export YELLOW_PLUGINS_MARKETPLACE="$market"

active() { readlink .claude-plugin/plugins/hello-plugin; }
expect() {
    if [ "$(active)" != "../cache/hello-plugin/$1" ]; then
        echo "demo: hello-plugin should be at $1, the link says $(active)" >&2; exit 1
    fi
}

step "Install hello-plugin 1.0.0"
show plugins install hello-plugin --version 1.0.0
expect 1.0.0

step "Update it (to the marketplace's latest, 1.1.0)"
show plugins update hello-plugin
expect 1.1.0

step "Roll back to the cached 1.0.0 (rollback is behind the enableRollback flag)"
show plugins rollback hello-plugin --flag enableRollback=true --confirmation-token demo-ok
expect 1.0.0

step "Automated mode: a JSON request on stdin, the response to a file"
printf '%s' '{"all": true, "checkOnly": true, "correlationId": "demo-check-1",
  "compatibilityIntent": {"nodeVersion": "20.10.0", "os": "linux", "arch": "x64"}}' \
    | show plugins update --input - --output "$DEMO_WORK/plugins/check.json"
python - "$DEMO_WORK/plugins/check.json" <<'PY'
import json, sys
response = json.load(open(sys.argv[1]))
assert response["correlationId"] == "demo-check-1", response
print(json.dumps(response["data"]["availableUpdates"]))
PY
