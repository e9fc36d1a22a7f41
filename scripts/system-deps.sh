#!/usr/bin/env bash
# System packages kiln's tests need, installed only when missing (CI runs on a clean checkout):
#   chromium   — the report test renders report.html headless
#   postgresql — the distributed-search test runs a real PostgreSQL server
set -euo pipefail

need=()
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || need+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)

if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" != "0" ]; then SUDO=sudo; else SUDO=""; fi
    echo "installing system packages: ${need[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
