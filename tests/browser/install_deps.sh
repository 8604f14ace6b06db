#!/usr/bin/env bash
# What tests/test_browser.py needs beyond pip: Debian's Chromium and its driver (never a browser
# download), and axe-core from the npm registry. Run from the repository root, as root for apt
# (CI runs as root). Each step is skipped when already done; any failure stops the script.
set -euo pipefail
cd "$(dirname "$0")/../.."
AXE_VERSION=4.10.3
AXE_DIR=_build/axe-core

apt_install() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "install_deps.sh: need root to apt-get install $*" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  apt_install chromium chromium-driver
fi
/usr/bin/chromium --version

if [ ! -f "$AXE_DIR/node_modules/axe-core/axe.min.js" ]; then
  command -v npm >/dev/null || apt_install npm
  mkdir -p "$AXE_DIR"
  npm install --silent --no-save --no-package-lock --no-audit --no-fund --prefix "$AXE_DIR" "axe-core@$AXE_VERSION"
fi
echo "axe-core $(node -p "require('./$AXE_DIR/node_modules/axe-core/package.json').version" 2>/dev/null || echo "$AXE_VERSION")"
