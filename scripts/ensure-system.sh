#!/usr/bin/env bash
# What the tests need from Debian's packages: Chromium and its ChromeDriver (browser tests) and
# Tesseract (the glyph OCR judge). Install what is missing (as root, or through sudo); do
# nothing when everything is there.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
command -v tesseract >/dev/null || missing+=(tesseract-ocr)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  run() { "$@"; }
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  run() { sudo "$@"; }
else
  echo "ensure-system: ${missing[*]} missing and this user cannot install them;" >&2
  echo "  run: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "ensure-system: installing ${missing[*]} from Debian's packages" >&2
run apt-get update -qq
DEBIAN_FRONTEND=noninteractive run apt-get install -y -qq "${missing[@]}" >/dev/null
