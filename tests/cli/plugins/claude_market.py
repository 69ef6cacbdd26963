"""A marketplace in Claude Code's own format, shaped like the public ones
(anthropics/claude-code, anthropics/claude-plugins-official, KingInYellows/yellow-plugins):
.claude-plugin/marketplace.json with $schema, name, owner, metadata and plugin entries whose
sources are folders holding .claude-plugin/plugin.json, commands/, agents/, skills/, hooks/,
README.md and CHANGELOG.md. Written for these tests; nothing copied."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if name.endswith(".sh"):
            path.chmod(0o755)


def _manifest(name: str, **fields: Any) -> str:
    data = {"$schema": "https://json.schemastore.org/claude-code-plugin-manifest.json",
            "name": name, "description": f"{name} for tests", "author": {"name": "Tests",
                                                                         "email": "t@example.com"},
            "homepage": f"https://example.com/{name}", "repository": "https://example.com/repo",
            "license": "MIT", "keywords": ["tests"], **fields}
    return json.dumps(data, indent=2)


HOOKS = json.dumps({"description": "session hooks", "hooks": {
    "SessionStart": [{"matcher": "*", "hooks": [
        {"type": "command", "command": "bash ${CLAUDE_PLUGIN_ROOT}/hooks/scripts/start.sh",
         "timeout": 3}]}],
    "PreToolUse": [{"matcher": "Bash", "hooks": [
        {"type": "command", "command": "python3 ${CLAUDE_PLUGIN_ROOT}/hooks/check.py"}]}]}})


def plugin_folders(root: Path, review_version: str = "1.2.0") -> None:
    _write(root / "plugins" / "code-review", {
        ".claude-plugin/plugin.json": _manifest("code-review", version=review_version),
        "commands/review.md": "---\ndescription: Review the diff\nallowed-tools: Bash(git diff:*)\n"
                              "---\nReview the current diff.\n",
        "commands/review-pr.md": "---\ndescription: Review a PR\n---\nReview PR $ARGUMENTS.\n",
        "agents/reviewer.md": "---\nname: reviewer\ndescription: Finds bugs\n---\nYou review.\n",
        "README.md": "# code-review\n", "CHANGELOG.md": f"# Changelog\n\n## {review_version}\n"})
    _write(root / "plugins" / "session-hooks", {
        ".claude-plugin/plugin.json": _manifest("session-hooks"),  # version: the entry's
        "hooks/hooks.json": HOOKS,
        "hooks/scripts/start.sh": "#!/usr/bin/env bash\necho started\n",
        "hooks/check.py": "print('ok')\n", "CHANGELOG.md": "# Changelog\n\n## 0.3.1\n"})
    _write(root / "plugins" / "skills-pack", {  # no plugin.json at all, as plugin-dev
        "skills/writing-rules/SKILL.md": "---\nname: writing-rules\ndescription: x\n---\nRules.\n",
        "skills/testing/SKILL.md": "---\nname: testing\ndescription: y\n---\nTest.\n",
        "skills/testing/references/notes.md": "notes\n", "README.md": "# skills-pack\n"})
    _write(root / "plugins" / "unversioned", {
        ".claude-plugin/plugin.json": _manifest("unversioned"),
        "commands/hello.md": "Say hello.\n"})


def marketplace_document() -> dict[str, Any]:
    return {
        "$schema": "https://anthropic.com/claude-code/marketplace.schema.json",
        "name": "test-claude-market",
        "description": "Claude Code plugins for tests",
        "owner": {"name": "Tests", "url": "https://example.com"},
        "metadata": {"description": "real-shaped", "version": "1.1.0"},
        "plugins": [
            {"name": "code-review", "description": "Reviews", "version": "1.0.0",
             "author": {"name": "Tests"}, "source": "./plugins/code-review",
             "category": "development"},
            {"name": "session-hooks", "description": "Hooks", "version": "0.3.1",
             "source": "./plugins/session-hooks", "category": "productivity",
             "tags": ["hooks"]},
            {"name": "skills-pack", "description": "Skills", "version": "2.0.0",
             "author": {"name": "Tests", "email": "t@example.com"},
             "source": "./plugins/skills-pack", "category": "learning", "strict": False},
            {"name": "unversioned", "description": "No version anywhere",
             "source": "./plugins/unversioned"},
            {"name": "github-hosted", "description": "Elsewhere", "category": "development",
             "source": {"source": "github", "repo": "example/plugin"},
             "homepage": "https://example.com"},
        ]}


def claude_market(root: Path) -> Path:
    plugin_folders(root)
    (root / ".claude-plugin").mkdir(parents=True, exist_ok=True)
    (root / ".claude-plugin" / "marketplace.json").write_text(
        json.dumps(marketplace_document(), indent=2))
    return root
