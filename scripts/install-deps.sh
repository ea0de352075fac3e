#!/usr/bin/env bash
# Installs what the build, the tests and the project-local PostGIS need, and only what is missing.
# Debian 12 packages; needs root or sudo for apt. Never touches an existing PostgreSQL cluster.
set -euo pipefail

packages=(
  postgresql-15            # the server binaries (initdb, pg_ctl, postgres) for the project-local cluster
  postgresql-client-15     # psql
  postgresql-15-postgis-3  # PostGIS 3 for PostgreSQL 15
  libproj-dev proj-data    # PROJ 9.1 that the proj crate links
  libclang-dev clang       # bindgen, for proj-sys
  pkg-config               # proj-sys finds libproj through it
  gdal-bin                 # ogrinfo/ogr2ogr: the real OGC API client the tests drive
  python3-qgis             # QGIS 3.22's Python API (PyQGIS): the tile tests load vector tiles as QGIS does
  python3-venv             # virtual environments for the peer servers and API fuzzing
  curl jq                  # the docs/api.md walkthrough (run by a test) and the scripts
  wrk                      # HTTP load generator of `make bench` (pgbench comes with postgresql-15)
  linux-perf               # the sampling profiler of scripts/bench/profile.sh (flame graphs under a bench load)
  chromium                 # the real browser of the review page's tests (driven by playwright, scripts/review-browser.sh)
  fonts-noto-cjk           # Noto Sans CJK SC (OFL): the check report's fonts, embedded and subset in the PDF
  poppler-utils            # pdftotext, pdffonts, pdftoppm: the report tests read the PDF with them
)
# npm checks the vendored OpenLayers against the published package (scripts/vendor-ol.sh); any
# npm will do, Debian's when none is installed.
command -v npm >/dev/null || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} > 0)); then
  echo "install-deps: installing ${missing[*]}"
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
  fi
  # Do not let package scripts start or stop services: a system cluster that already runs stays as it is.
  policy=/usr/sbin/policy-rc.d
  had_policy=0
  [[ -e $policy ]] && had_policy=1
  if ((had_policy == 0)); then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 755 "$policy"
    trap '[[ $had_policy -eq 0 ]] && "${sudo[@]}" rm -f "$policy"' EXIT
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

for tool in cargo rustfmt cargo-clippy; do
  command -v "$tool" >/dev/null || { echo "install-deps: $tool is missing; install the Rust toolchain (rustup) with rustfmt and clippy" >&2; exit 1; }
done

# libFuzzer driver for scripts/fuzz.sh (runs on the stable toolchain with RUSTC_BOOTSTRAP=1).
if ! command -v cargo-fuzz >/dev/null; then
  echo "install-deps: installing cargo-fuzz from crates.io"
  cargo install cargo-fuzz --locked
fi
