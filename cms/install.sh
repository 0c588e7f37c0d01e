#!/usr/bin/env bash
# Installs the Decap CMS bundle that /admin/ serves, from the npm registry, at
# the pinned version, checked against the pinned integrity hash: `make cms`.
#
# Only the browser bundle is kept (decap-cms.js, the chunks it loads lazily,
# its WebAssembly, the licences), in cms/decap/ (not committed). Nothing is
# loaded from a CDN at run time. Idempotent: returns at once when installed.
set -euo pipefail
cd "$(dirname "$0")"

VERSION=3.16.3
INTEGRITY=sha512-hf+dPlCh7TJmWl8+6VRzHYOWhri5xgUknrZbDewaWe4s9B7xJ8PQugp2QHeSldMUKzav6+z0oIpwUYhUJDYtYw==
TARGET=decap

if [ -f "$TARGET/VERSION" ] && [ "$(cat "$TARGET/VERSION")" = "$VERSION" ]; then
    echo "cms: Decap CMS $VERSION ist installiert ($PWD/$TARGET)"
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    echo "cms: npm fehlt (Debian: apt-get install npm); /admin/ braucht Decap CMS $VERSION" >&2
    exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
npm pack "decap-cms@$VERSION" --pack-destination "$work" --json --loglevel=error >"$work/pack.json"
got=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["integrity"])' "$work/pack.json")
if [ "$got" != "$INTEGRITY" ]; then
    echo "cms: decap-cms@$VERSION hat nicht die erwartete Prüfsumme ($got)" >&2
    exit 1
fi
tar -xzf "$work/decap-cms-$VERSION.tgz" -C "$work"
staging="$work/out"
mkdir -p "$staging"
cp "$work"/package/dist/*decap-cms.js "$work"/package/dist/*.wasm \
    "$work"/package/dist/decap-cms.js.LICENSE.txt "$work"/package/package.json "$staging/"
cp LICENSE.decap-cms "$staging/LICENSE"
echo "$VERSION" >"$staging/VERSION"
rm -rf "$TARGET"
mv "$staging" "$TARGET"
echo "cms: Decap CMS $VERSION installiert ($PWD/$TARGET)"
