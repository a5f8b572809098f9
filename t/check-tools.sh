#!/bin/sh
# Checks that every program the tests call is installed and can do what
# the tests ask of it (swaks with TLS, curl with pop3s/smtps/imaps, python3 with
# ssl ...).  One line per missing tool, naming the Debian package that
# provides it, then the apt-get line; exit 1 if anything is missing.
#   check-tools.sh          the tools `make check` needs
#   check-tools.sh ci       those and the ones of make fuzz / make lint
# t/install-deps.sh installs every package named here; t/tools_present.bats
# runs this first in the suite, .ci/run right after installing.
# Each row: WHAT|PACKAGE|SHELL TEST (true when the tool is usable).
TOOLS='bats|bats|command -v bats
python3 with ssl, poplib, smtplib, imaplib|python3|python3 -c "import ssl, poplib, smtplib, imaplib"
openssl|openssl|command -v openssl
swaks|swaks|command -v swaks
swaks --tls (Perl Net::SSLeay)|libnet-ssleay-perl|perl -MNet::SSLeay -e 1
swaks --tls (Perl IO::Socket::SSL)|libio-socket-ssl-perl|perl -MIO::Socket::SSL -e 1
curl with pop3 pop3s smtp smtps imap imaps|curl|curl -V | grep -q "^Protocols:.* imaps .* pop3s .*smtps"
mpop|mpop|command -v mpop
fetchmail|fetchmail|command -v fetchmail
mbsync|isync|command -v mbsync
offlineimap|offlineimap3|command -v offlineimap
pgrep and pkill|procps|command -v pgrep && command -v pkill
setpriv and unshare|util-linux|command -v setpriv && command -v unshare
ip (network namespace test addresses)|iproute2|command -v ip
make and cc|build-essential|command -v make && command -v cc
useradd|passwd|command -v useradd'
CI_TOOLS='clang with libFuzzer|libclang-rt-14-dev|printf "int LLVMFuzzerTestOneInput(const char *d, unsigned long n){return 0;}" | clang -fsanitize=fuzzer -x c -o /dev/null - 2>/dev/null
cppcheck|cppcheck|command -v cppcheck
clang-tidy|clang-tidy|command -v clang-tidy'

case ${1:-check} in
check) rows=$TOOLS ;;
ci) rows="$TOOLS
$CI_TOOLS" ;;
list) printf '%s\n%s\n' "$TOOLS" "$CI_TOOLS" | cut -d'|' -f2 | sort -u; exit 0 ;;
*) echo "usage: check-tools.sh [check|ci|list]" >&2; exit 2 ;;
esac

missing=""
nl='
'
IFS_OLD=$IFS
IFS=$nl
for row in $rows; do
	IFS=$IFS_OLD
	what=${row%%|*}
	rest=${row#*|}
	pkg=${rest%%|*}
	probe=${rest#*|}
	if ! sh -c "$probe" >/dev/null 2>&1; then
		echo "missing: $what (Debian package $pkg)" >&2
		case " $missing " in *" $pkg "*) ;; *) missing="$missing $pkg" ;; esac
	fi
	IFS=$nl
done
IFS=$IFS_OLD
if [ -n "$missing" ]; then
	echo "the tests need these; run:  sh t/install-deps.sh   (or: apt-get install -y$missing)" >&2
	exit 1
fi
echo "tools: every tool the tests call is present"
