#!/usr/bin/env bash
# Refresh the KaTeX the page ships (matcalc/web/static/katex) from the npm registry.
# Usage: scripts/vendor_katex.sh [VERSION]   (needs npm; the result is committed)
set -euo pipefail
version="${1:-0.19.1}"
dest="$(cd "$(dirname "$0")/.." && pwd)/matcalc/web/static/katex"
tmp="$(mktemp -d)"
(cd "$tmp" && npm pack --silent "katex@$version" >/dev/null && tar xzf "katex-$version.tgz")
rm -rf "$dest" && mkdir -p "$dest/fonts"
cp "$tmp/package/dist/katex.min.js" "$tmp/package/dist/katex.min.css" "$tmp/package/LICENSE" "$dest/"
cp "$tmp/package/dist/fonts/"*.woff2 "$dest/fonts/"
sha="$(sha256sum "$tmp/katex-$version.tgz" | cut -d' ' -f1)"
cat > "$dest/VENDORED.md" <<EOT
KaTeX $version (MIT, see LICENSE), from the npm registry: \`npm pack katex@$version\`
(katex-$version.tgz, sha256 $sha).
Kept: dist/katex.min.js, dist/katex.min.css and the .woff2 fonts (every browser the page
supports loads woff2, the first source in the CSS). Refresh with scripts/vendor_katex.sh.
EOT
rm -rf "$tmp"
echo "vendored KaTeX $version into $dest"
