#!/bin/sh
# Installs what building, the demo and the test suite need, on Debian 12.
# Run as root (CI does), or it says the exact command to run.
# build: build-essential pkg-config libssl-dev libcap-dev libcrypt-dev
# tests: bats and the real clients they drive (swaks curl python3 openssl
#   netcat socat mpop fetchmail), procps (pgrep), util-linux (setpriv, unshare)
# make fuzz: clang with libFuzzer (libclang-rt-14-dev); make lint: cppcheck clang-tidy
PKGS="build-essential pkg-config libssl-dev libcap-dev libcrypt-dev openssl \
bats swaks curl python3 procps netcat-openbsd socat mpop fetchmail util-linux \
clang libclang-rt-14-dev cppcheck clang-tidy"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && { echo "all packages present"; exit 0; }
if [ "$(id -u)" -ne 0 ]; then
	echo "missing packages; run:" >&2
	echo "  sudo apt-get install -y$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing
