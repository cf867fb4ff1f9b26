#!/usr/bin/env bash
# Chromium, for the console's browser tests (console-tests/, playwright-core drives it).
#
#   chromium.sh start   install Debian's chromium if /usr/bin/chromium is missing (apt-get,
#                       as root; Playwright's own browser download does not work here), check
#                       that it starts headless, print `export FERRY_TEST_CHROMIUM=/usr/bin/chromium`
#   chromium.sh stop    nothing to stop (each test starts and stops its own browser)
#
# Debian's package is the pinned part: the version is whatever the distribution's security
# updates ship, printed at start.
set -euo pipefail

log() { echo "chromium: $*" >&2; }

start() {
  if [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" != 0 ]; then
      log "/usr/bin/chromium is missing; install it with: sudo apt-get install -y chromium"
      exit 1
    fi
    log "installing Debian's chromium (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2
  fi
  local version
  version=$(/usr/bin/chromium --headless --no-sandbox --disable-gpu --version 2>/dev/null || true)
  log "${version:-chromium} at /usr/bin/chromium"
  echo "export FERRY_TEST_CHROMIUM=/usr/bin/chromium"
}

case "${1:-}" in
  start) start ;;
  stop) ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 64
    ;;
esac
