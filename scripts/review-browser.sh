#!/usr/bin/env bash
# The review page in a real browser, run by `make test` (scripts/test.sh): Debian's chromium
# (scripts/install-deps.sh) driven by PyPI's playwright in a virtual environment of its own, as
# scripts/api-fuzz.sh keeps schemathesis. playwright's own browser download cannot work here or
# in CI; it launches /usr/bin/chromium instead.
#
# A fresh database of its own (dropped afterwards) with the small demo region, the real binary
# serving it as landuse_app, and scripts/review/browser_test.py against it (docs/review.md says
# what it checks). Screenshots and the report go to .data/review-browser/ (kept for reading after
# the run), the report's first page also as PNG.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
: "${DATABASE_URL:?review-browser needs DATABASE_URL (run it through make test)}"
playwright_version=1.65.3
pillow_version=13.0.0
venv=${LANDUSE_REVIEW_VENV:-$root/.data/venv-review}
out=${LANDUSE_REVIEW_OUT:-$root/.data/review-browser}

for tool in chromium pdftoppm; do
  command -v "$tool" >/dev/null || { echo "review-browser: $tool is missing; run scripts/install-deps.sh" >&2; exit 1; }
done
if ! "$venv/bin/python" -c "
import importlib.metadata as m, sys
sys.exit(0 if (m.version('playwright'), m.version('pillow')) == ('$playwright_version', '$pillow_version') else 1)" 2>/dev/null; then
  echo "review-browser: installing playwright $playwright_version and pillow $pillow_version into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "playwright==$playwright_version" "pillow==$pillow_version"
fi

bin=$("$root/scripts/landuse-bin.sh")

# shellcheck source=scripts/scratch-server.sh
source "$root/scripts/scratch-server.sh"
scratch_database landuse_review

"$bin" demo setup --dir "$work/demo" --tokens "$work/tokens.json" --seed 5 \
  --cultivated 400 --deposits 6 --farmland 150 --hazards 40 --projects 30 --redline 9 >"$work/demo.log" 2>&1 ||
  { cat "$work/demo.log"; exit 1; }

scratch_serve LANDUSE_RATE_LIMIT=0 || exit 1
rm -rf "$out" && mkdir -p "$out"
status=0
"$venv/bin/python" "$root/scripts/review/browser_test.py" --base "$base" --tokens "$work/tokens.json" --out "$out" ||
  status=1
if [[ -f $out/report.pdf ]]; then
  pdftoppm -f 1 -l 2 -r 110 -png "$out/report.pdf" "$out/report-page"
fi
scratch_errors || status=1
echo "review-browser: screenshots in $out"
exit $status
