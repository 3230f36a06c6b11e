#!/usr/bin/env bash
# Fetch the vendored front-end files from the npm registry (never a CDN) and check them against VENDOR.md.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent htmx.org@2.0.11 chart.js@4.6.1 @picocss/pico@2.1.1 >/dev/null
for f in *.tgz; do mkdir -p "${f%.tgz}" && tar xzf "$f" -C "${f%.tgz}"; done
cp htmx.org-2.0.11/package/dist/htmx.min.js "$here/htmx-2.0.11.min.js"
cp chart.js-4.6.1/package/dist/chart.umd.min.js "$here/chart-4.6.1.umd.min.js"
cp picocss-pico-2.1.1/package/css/pico.min.css "$here/pico-2.1.1.min.css"
cp htmx.org-2.0.11/package/LICENSE "$here/LICENSE.htmx"
cp chart.js-4.6.1/package/LICENSE.md "$here/LICENSE.chartjs"
cp picocss-pico-2.1.1/package/LICENSE.md "$here/LICENSE.pico"
cd "$here" && grep -E '^[0-9a-f]{64}  ' VENDOR.md | sha256sum --check
