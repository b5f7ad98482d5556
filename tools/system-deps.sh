#!/usr/bin/env bash
# Usage: tools/system-deps.sh
# Install the system programs the tests drive that a fresh machine may lack:
# tmux (the `pikos live` viewer is tested in a tmux pane), chromium (the
# page `pikos report` writes is rendered headless and screenshotted), go
# (Debian's golang-go: `go tool pprof` reads the pprof files pikos writes)
# and valgrind (its `callgrind_annotate` reads the callgrind files).  Uses
# Debian's apt-get when run as root; otherwise says what to install and goes
# on (the end-to-end tests that need a program then report themselves
# skipped).
set -euo pipefail
missing=()
command -v tmux > /dev/null || missing+=(tmux)
if ! command -v chromium > /dev/null && ! command -v chromium-browser > /dev/null; then
    missing+=(chromium)
fi
command -v go > /dev/null || missing+=(golang-go)
command -v callgrind_annotate > /dev/null || missing+=(valgrind)
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get > /dev/null; then
    echo "== installing ${missing[*]} (apt-get)"
    apt-get update -qq > /dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" > /dev/null
else
    echo "note: install ${missing[*]} to run every test (not root, or no apt-get)"
fi
