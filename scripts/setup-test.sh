#!/usr/bin/env bash
# What `make test` needs beyond `make setup`: headless Chromium (Debian's `chromium`),
# which the gallery test opens. Installed once with apt-get (CI and these machines run
# as root); a second run finds it and installs nothing.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
    echo "[setup] chromium already installed"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "error: the gallery test needs headless Chromium: install Debian's 'chromium' package (sudo apt-get install chromium) and rerun 'make test'" >&2
    exit 1
fi
echo "[setup] installing Debian's chromium for the gallery test (apt-get)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >/dev/null
echo "[setup] chromium installed: $(chromium --version 2>/dev/null || echo /usr/bin/chromium)"
