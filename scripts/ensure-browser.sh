#!/usr/bin/env bash
# The browser tests drive Debian's Chromium through its ChromeDriver. Install both when they
# are missing (as root, or through sudo); do nothing when they are there.
set -euo pipefail
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  run() { "$@"; }
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  run() { sudo "$@"; }
else
  echo "ensure-browser: chromium and chromium-driver are missing and this user cannot install them;" >&2
  echo "  run: sudo apt-get install chromium chromium-driver" >&2
  exit 1
fi
echo "ensure-browser: installing chromium and chromium-driver from Debian's packages" >&2
run apt-get update -qq
DEBIAN_FRONTEND=noninteractive run apt-get install -y -qq chromium chromium-driver >/dev/null
