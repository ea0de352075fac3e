#!/usr/bin/env bash
# OpenLayers for the review page's map, vendored: the files the binary serves are committed in
# crates/api/assets/ol/ (include_bytes!), so neither the build nor the browser fetches anything.
#
#   scripts/vendor-ol.sh          fetch ol@VERSION from the npm registry and copy its files in
#   scripts/vendor-ol.sh --check  fetch the same package and fail unless the committed bytes are
#                                 exactly the published ones (run by `make test`)
#
# The tarball is checked against the registry's sha512 integrity before any file is read, and the
# integrity is kept in assets/ol/SOURCE so a change of the published package would show too.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=$root/crates/api/assets/ol
version=$(cat "$dir/VERSION")
# package path -> committed name
files=("dist/ol.js:ol.js" "ol.css:ol.css" "LICENSE.md:LICENSE.md")

command -v npm >/dev/null || { echo "vendor-ol: npm is missing; run scripts/install-deps.sh" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

tarball=$(cd "$work" && npm pack --silent "ol@$version")
integrity=$(npm view "ol@$version" dist.integrity)
actual="sha512-$(openssl dgst -sha512 -binary "$work/$tarball" | base64 -w0)"
if [[ $actual != "$integrity" ]]; then
  echo "vendor-ol: ol-$version.tgz does not match the registry's integrity ($actual != $integrity)" >&2
  exit 1
fi
tar -xzf "$work/$tarball" -C "$work"

if [[ ${1:-} == --check ]]; then
  status=0
  grep -qx "integrity $integrity" "$dir/SOURCE" || { echo "vendor-ol: SOURCE does not name the published integrity $integrity" >&2; status=1; }
  for pair in "${files[@]}"; do
    from=${pair%%:*} to=${pair##*:}
    if cmp -s "$work/package/$from" "$dir/$to"; then
      echo "vendor-ol: $to is byte for byte ol@$version's $from"
    else
      echo "vendor-ol: $to differs from ol@$version's $from" >&2
      status=1
    fi
  done
  exit $status
fi

for pair in "${files[@]}"; do
  from=${pair%%:*} to=${pair##*:}
  cp "$work/package/$from" "$dir/$to"
done
{
  echo "package ol@$version (npm registry, BSD-2-Clause; see LICENSE.md)"
  echo "integrity $integrity"
  for pair in "${files[@]}"; do
    from=${pair%%:*} to=${pair##*:}
    echo "file $to from package/$from sha256 $(sha256sum "$dir/$to" | cut -d' ' -f1)"
  done
} >"$dir/SOURCE"
echo "vendor-ol: copied ol@$version into $dir"
