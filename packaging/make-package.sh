#!/usr/bin/env bash
# Builds agent-linux-x64.tar.gz: the native agent, the default excludes, a user_config.json template,
# a README and the systemd unit. The control plane serves the copy placed beside the ferry executable.
set -euo pipefail
cd "$(dirname "$0")/.."
agent=artifacts/agent/agent
[ -x "$agent" ] || { echo "error: $agent is missing; run make publish first" >&2; exit 1; }
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
install -m 0755 "$agent" "$stage/agent"
install -d "$stage/Excludes"
install -m 0644 packaging/Excludes/rsync_excludes_linux.txt "$stage/Excludes/"
install -m 0644 packaging/user_config.json packaging/README.txt packaging/ferry-agent.service "$stage/"
tar -C "$stage" --owner=0 --group=0 -czf artifacts/agent-linux-x64.tar.gz .
mkdir -p artifacts/ferry
cp artifacts/agent-linux-x64.tar.gz artifacts/ferry/
echo "artifacts/agent-linux-x64.tar.gz ($(du -h artifacts/agent-linux-x64.tar.gz | cut -f1))"
