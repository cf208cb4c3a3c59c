#!/usr/bin/env bash
# Installs the Debian packages hellepoll needs, and only those that are missing.
# Idempotent: a machine that has everything runs no apt-get at all.
# Usage: scripts/deps.sh [extra-package ...]
set -euo pipefail
wanted=(cmake ninja-build g++ clang liburing-dev libfmt-dev libboost-test-dev curl wget apache2-utils "$@")
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
