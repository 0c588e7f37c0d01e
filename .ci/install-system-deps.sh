#!/usr/bin/env bash
# Installs what the browser tests and the quality gates (make gates) need
# beyond Python: Debian's chromium, nginx, apache2, a Java runtime for the Nu Html
# Checker, DejaVu fonts, and the npm packages in gates/ (vnu-jar, axe-core).
#
# Idempotent: what is installed already is left alone, so a second run takes
# a second. Needs root (or sudo) for apt-get; reaches only Debian's package
# mirrors and the npm registry.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
else
    echo "install-system-deps: run as root (apt-get needs it)" >&2
    exit 1
fi

installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

packages=()
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || packages+=(chromium)
installed fonts-dejavu-core || packages+=(fonts-dejavu-core)
if ! command -v nginx >/dev/null 2>&1 && ! [ -x /usr/sbin/nginx ]; then
    packages+=(nginx-light)
fi
[ -f /etc/nginx/mime.types ] || packages+=(nginx-common)
# The Apache gate serves every build with Debian's httpd as well (examples/apache.conf).
[ -x /usr/sbin/apache2 ] || packages+=(apache2)
command -v java >/dev/null 2>&1 || packages+=(default-jre-headless)
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

if [ "${#packages[@]}" -gt 0 ]; then
    echo "install-system-deps: apt-get install ${packages[*]}"
    # Packages such as nginx start their service when installed; the gates
    # run their own nginx, so keep the package scripts from starting any.
    policy=/usr/sbin/policy-rc.d
    created_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$policy" >/dev/null
        "${SUDO[@]}" chmod 755 "$policy"
        created_policy=1
    fi
    cleanup() { if [ "$created_policy" = 1 ]; then "${SUDO[@]}" rm -f "$policy"; fi; }
    trap cleanup EXIT
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${packages[@]}"
    cleanup
    trap - EXIT
else
    echo "install-system-deps: chromium, nginx, apache2, java, fonts, node already installed"
fi

# The npm packages, exactly as locked. --ignore-scripts: vnu-jar's postinstall
# would download a Java runtime from outside the registries; the machine's
# java runs vnu.jar instead. Skipped when node_modules matches the lock file.
lock=gates/package-lock.json
stamp=gates/node_modules/.package-lock.json
if [ -f gates/node_modules/vnu-jar/build/dist/vnu.jar ] \
    && [ -f gates/node_modules/axe-core/axe.min.js ] \
    && [ -f "$stamp" ] && [ "$stamp" -nt "$lock" ]; then
    echo "install-system-deps: gates/node_modules is up to date"
else
    npm ci --prefix gates --ignore-scripts --no-audit --no-fund --loglevel=error
fi

java -version 2>&1 | head -n 1
/usr/bin/chromium --version 2>/dev/null || true
nginx -v 2>&1 || /usr/sbin/nginx -v
/usr/sbin/apache2 -v 2>&1 | head -n 1
