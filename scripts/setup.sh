#!/usr/bin/env bash
# Sets up a Debian 12 machine for the egress worker: installs the Debian
# packages listed in scripts/packages.txt (only what is missing) and the npm
# packages of the test world's S3 and Azure servers (npm ci, when missing or
# stale), then
# builds into ./build. Idempotent; quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t pkgs < <(grep -v '^\s*#' scripts/packages.txt | sed '/^\s*$/d')
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "setup: installing ${#missing[@]} package(s): ${missing[*]}"
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	# nginx's package would start a system nginx on port 80; the tests run
	# their own instances, so keep the system one from starting.
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
	$SUDO chmod +x /usr/sbin/policy-rc.d
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
	$SUDO rm -f /usr/sbin/policy-rc.d
else
	echo "setup: all ${#pkgs[@]} packages present"
fi

# The S3 and Azure servers of the tests (tests/world/s3rver, tests/world/azurite)
# run on the machine's Node.js >= 20 with its npm. They are not in packages.txt:
# Debian 12's nodejs is 18 and its npm conflicts with the nodesource nodejs
# 20 these machines have (which provides npm itself).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	echo "setup: node/npm missing: installing Debian's nodejs and npm (Node.js >= 20 preferred)"
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm ||
		{ echo "setup: cannot install node and npm: the storage tests need them" >&2; exit 1; }
fi
# Their npm packages: s3rver (S3), Azurite and Microsoft's SDK (Azure).
# and janus-whep-server (WHEP, in front of the test Janus).
for dir in tests/world/s3rver tests/world/azurite tests/world/whep; do
	if [ ! -f $dir/node_modules/.package-lock.json ] ||
		[ $dir/package-lock.json -nt $dir/node_modules/.package-lock.json ] ||
		[ $dir/package.json -nt $dir/node_modules/.package-lock.json ]; then
		echo "setup: npm ci in $dir"
		(cd $dir && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
	fi
done

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
echo "setup: built build/egress"
