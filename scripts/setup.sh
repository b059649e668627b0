#!/usr/bin/env bash
# Installs what building and testing idbroker need on Debian, when missing:
# the C libraries the build links (libxmlsec1, OpenSSL, libclang for bindgen),
# PostgreSQL for the test suite, Python's venv for the client suite,
# Chromium with its WebDriver for the browser test, and the SAML peers of
# tests/interop/test_saml_peers.py: xmlsec1, Lasso, Node.js for xml-crypto,
# the SPs of tests/interop/test_sp_conformance.py (Apache with mod_auth_mellon
# and mod_shib, shibd), and the headers that lxml and python-xmlsec build
# against (OpenLDAP: scripts/openldap.sh).
# Safe to run again: it installs nothing that is already there.
set -euo pipefail

packages=(pkg-config libssl-dev libxmlsec1-dev libclang-dev clang build-essential)
if [[ ${1:-} == --test ]]; then
  packages+=(postgresql postgresql-client python3-venv chromium chromium-driver
    xmlsec1 python3-lasso python3-dev libxml2-dev libxslt1-dev nodejs haproxy faketime
    apache2 libapache2-mod-auth-mellon libapache2-mod-shib shibboleth-sp-utils)
  # Some images bring Node.js with npm in one package that conflicts with Debian's npm.
  command -v npm >/dev/null 2>&1 || packages+=(npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  [[ $(id -u) == 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo is missing; install a Rust toolchain (1.82 or newer) with rustup first" >&2
  exit 1
fi
