#!/bin/sh
# Installs what postern needs on Debian 12: `build` for building and the
# demo (make run), `check` (the default) for the whole test suite too.
# As root it runs apt-get; otherwise it prints the exact command and fails.
#   build: build-essential pkg-config libssl-dev libcap-dev libcrypt-dev openssl
#   tests: bats and the real clients they drive (swaks curl python3 openssl
#          netcat socat mpop fetchmail, and for IMAP isync (mbsync) and
#          offlineimap3), procps (pgrep), util-linux (setpriv),
#          passwd (useradd), iproute2 (ip, t/ipv6.bats); swaks --tls needs libnet-ssleay-perl and
#          libio-socket-ssl-perl, which are only "Recommends" of swaks and so
#          left out by --no-install-recommends: they are named here.
#   make fuzz: clang with libFuzzer (libclang-rt-14-dev); make lint: cppcheck clang-tidy
# t/check-tools.sh checks that each tool a test calls works (t/tools_present.bats
# checks that every package it names is in this list).
#   install-deps.sh list    prints the packages of `check`, one a line
BUILD_PKGS="build-essential pkg-config libssl-dev libcap-dev libcrypt-dev openssl"
CHECK_PKGS="bats swaks libnet-ssleay-perl libio-socket-ssl-perl curl python3 iproute2 \
procps netcat-openbsd socat mpop fetchmail isync offlineimap3 util-linux passwd \
clang libclang-rt-14-dev cppcheck clang-tidy"
case ${1:-check} in
build) PKGS=$BUILD_PKGS ;;
check) PKGS="$BUILD_PKGS $CHECK_PKGS" ;;
list) printf '%s\n' $BUILD_PKGS $CHECK_PKGS; exit 0 ;;
*) echo "usage: install-deps.sh [build|check|list]" >&2; exit 2 ;;
esac
if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "install-deps: not a Debian system; install the equivalents of: $PKGS" >&2
	exit 0
fi
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "postern needs these Debian packages; run:" >&2
	echo "  sudo apt-get install -y$missing" >&2
	exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing
