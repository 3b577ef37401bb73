#!/usr/bin/env bash
# Rebuild src/losslab/web/assets/vendor/plotly-lab.min.js, the web lab's plotly.js: only the
# trace types the lab draws (about 1.7 MB against 4.8 MB for Dash's full bundle, so a first
# visit downloads and compiles a third of it). Run at development time only, with node and npm
# (the versions are pinned in scripts/plotly-bundle/package-lock.json); the lab itself never
# fetches anything. When the lab draws a new trace type, add it to scripts/plotly-bundle/
# entry.js and run this again; when Dash's plotly.js moves on, bump plotly.js in package.json.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
vendor="$here/../src/losslab/web/assets/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$here/plotly-bundle/package.json" "$here/plotly-bundle/package-lock.json" \
    "$here/plotly-bundle/entry.js" "$here/plotly-bundle/build.js" "$work/"
(cd "$work" && npm ci --no-audit --no-fund --loglevel=error --ignore-scripts=false)
(cd "$work" && node build.js "$vendor/plotly-lab.min.js")
cp "$work/node_modules/plotly.js/LICENSE" "$vendor/LICENSE.plotly.txt"
echo "wrote $vendor/plotly-lab.min.js ($(wc -c < "$vendor/plotly-lab.min.js") bytes)"
