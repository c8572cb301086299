#!/bin/sh
# Install what codeset needs to build and test on Debian 12 (idempotent).
set -eu
PKGS="build-essential pkg-config libzmq3-dev liblmdb-dev libxml2-dev libmsgpack-dev check lmdb-utils libsqlite3-dev python3-zmq python3-msgpack libzip-dev nettle-dev redis-server libhiredis-dev libmicrohttpd-dev libjansson-dev chromium chromium-driver python3-selenium wrk"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update
    $SUDO apt-get install -y --no-install-recommends $missing
fi
