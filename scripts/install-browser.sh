#!/usr/bin/env bash
# Installs Chromium and its WebDriver from the system's packages when they are missing: the
# status page's browser test (tests/ui) drives them. Called by .ci/run; run it by hand before
# `make test` to include that test (without them it is skipped, and says why).
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-browser: no apt-get here; install chromium and chromedriver yourself" >&2
  exit 0
fi
SUDO=()
if [ "$(id -u)" != 0 ]; then
  if sudo -n true >/dev/null 2>&1; then
    SUDO=(sudo -n)
  else
    echo "install-browser: not root and no password-less sudo; the browser test will be skipped" >&2
    exit 0
  fi
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
