#!/bin/bash
# SPDX-License-Identifier: MIT
#
# make install / make uninstall as users run them, and the installed
# sr-conformance on this machine (`make check-install`):
#   1. DESTDIR staging with the default PREFIX: exactly the expected files,
#      modes and links; the .pc file and the programs' RUNPATH name the
#      PREFIX; the programs and a program compiled with pkg-config run from
#      the staging tree, from outside the source tree; sr-conformance's
#      options, environment, machines without io_uring, and an op that
#      fails, crashes or hangs; then uninstall leaves nothing.
#   2. Another PREFIX and LIBDIR, installed for real: the .pc and RUNPATH
#      follow (they used not to), the programs run without LD_LIBRARY_PATH.
#   3. PREFIX=/usr with Debian's LIBDIR: no RUNPATH.
#
# Run from the top of the source tree with MAKE, BUILD (absolute), VERSION,
# SOVERSION and CC set (the Makefile does).
set -u
: "${MAKE:?}" "${BUILD:?}" "${VERSION:?}" "${SOVERSION:?}" "${CC:?}"
SRC=$(pwd)
T_NAME=install
. tests/install/lib.sh
T=$(mktemp -d "${TMPDIR:-/tmp}/sr-install.XXXXXX")
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM
MA=$($CC -print-multiarch)
MANB=$(realpath "$BUILD/man")	# the man pages as built: pages, and links to them

mk() {
	"$MAKE" -C "$SRC" --no-print-directory BUILD="$BUILD" "$@" >"$T/make.log" 2>&1 ||
		{ tail -30 "$T/make.log"; fail "make $*"; }
}

# What install puts under PREFIX (LIB: LIBDIR relative to the root).
expected() {
	local prefix=$1 lib=$2 h
	printf '%s\n' "$prefix/bin/sr-conformance" "$prefix/bin/sr-probe" "$prefix/bin/uring-sync" \
		"$prefix/include/safer-ring.h" "$lib/libsafer-ring.a" "$lib/libsafer-ring.so" \
		"$lib/libsafer-ring.so.$SOVERSION" "$lib/libsafer-ring.so.$VERSION" "$lib/pkgconfig/safer-ring.pc" \
		"$prefix/share/doc/safer-ring/README.md" "$prefix/share/doc/safer-ring/ops.md" \
		"$prefix/share/doc/safer-ring/uring-sync.md"
	for h in "$SRC"/runtime/include/safer-ring/*.h ops.h prep.h api.h; do
		echo "$prefix/include/safer-ring/$(basename "$h")"
	done
	(cd "$MANB" && find man[1-9] \( -type f -o -type l \)) | sed "s|^|$prefix/share/man/|"
}

# check_files ROOT PREFIX LIBDIR: what is under ROOT (a DESTDIR, or empty).
check_files() {
	local root=$1 prefix=$2 lib=$3 f
	(cd "$root$prefix" && find . \( -type f -o -type l \) | sed "s|^\\.|$prefix|" | sort) >"$T/got"
	[ -z "$root" ] || [ "$(find "$root" \( -type f -o -type l \) | wc -l)" = "$(wc -l <"$T/got")" ] ||
		fail "files installed outside PREFIX: $(find "$root" \( -type f -o -type l \) | grep -v "^$root$prefix/")"
	expected "$prefix" "$lib" | sort >"$T/want"
	diff -u "$T/want" "$T/got" >"$T/files.diff" || { cat "$T/files.diff"; fail "installed files differ (-expected +installed)"; }
	[ "$(readlink "$root$lib/libsafer-ring.so")" = "libsafer-ring.so.$SOVERSION" ] &&
		[ "$(readlink "$root$lib/libsafer-ring.so.$SOVERSION")" = "libsafer-ring.so.$VERSION" ] ||
		fail "the library's links are wrong"
	for f in "$root$prefix"/bin/*; do
		[ "$(stat -c %a "$f")" = 755 ] || fail "$f: mode $(stat -c %a "$f")"
	done
	for f in "$root$prefix"/include/safer-ring/* "$root$lib/pkgconfig/safer-ring.pc" "$root$prefix"/share/doc/safer-ring/*; do
		[ "$(stat -c %a "$f")" = 644 ] || fail "$f: mode $(stat -c %a "$f")"
	done
}

# The .pc file names PREFIX and LIBDIR.
check_pc() {
	local pc=$1 prefix=$2 libdir=$3
	grep -qx "prefix=$prefix" "$pc" && grep -qx "libdir=$libdir" "$pc" && grep -qx "Version: $VERSION" "$pc" ||
		{ cat "$pc"; fail "$pc does not say prefix=$prefix libdir=$libdir"; }
}

# check_runpath BINDIR WANT: every program's RUNPATH is WANT (empty: none).
check_runpath() {
	local p got
	for p in "$1"/*; do
		got=$(readelf -d "$p" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p; s/.*(RPATH).*\[\(.*\)\]/\1/p')
		[ "$got" = "$2" ] || fail "$p: RUNPATH '$got', expected '$2'"
	done
}

check_nothing_left() {
	local left
	left=$(cd "$1" && find . \( -type f -o -type l -o -name '*safer-ring*' \) | head)
	[ -z "$left" ] || fail "uninstall left: $left"
}

# --- 1. DESTDIR staging ---------------------------------------------------------------
D=$T/stage
mk install DESTDIR="$D"
check_files "$D" /usr/local /usr/local/lib
check_pc "$D/usr/local/lib/pkgconfig/safer-ring.pc" /usr/local '${prefix}/lib'
check_runpath "$D/usr/local/bin" /usr/local/lib
note "DESTDIR staging: $(wc -l <"$T/got") files as expected, .pc and RUNPATH name /usr/local"

mkdir "$T/elsewhere"
cd "$T/elsewhere" || exit 1
check_programs "$D" /usr/local/bin /usr/local/lib
check_compile "$D" "$D/usr/local/lib/pkgconfig" "$D"
check_man "$D" /usr/local/share/man
note "man pages: $NPAGES pages and $NLINKS links, man -M finds a page by any name it documents"

# sr-conformance's options and environment, on the staged copy.
C=$D/usr/local/bin/sr-conformance
export LD_LIBRARY_PATH=$D/usr/local/lib
run "$T/o" "$C" --help
[ $rc = 0 ] || fail "sr-conformance --help exits $rc"
for w in --json --quiet --only --timeout --list --matrix --version SR_KERNEL SR_BACKEND SR_POLICY SR_DISABLE \
	SR_DEBUG CONF_ONLY "Exit status"; do
	grep -q -- "$w" "$T/o" || fail "sr-conformance --help does not mention $w"
done
run "$T/o" "$D/usr/local/bin/sr-probe" --help
[ $rc = 0 ] || fail "sr-probe --help exits $rc"
for w in --json --version SR_KERNEL SR_BACKEND SR_POLICY SR_DISABLE SR_DEBUG "Exit status"; do
	grep -q -- "$w" "$T/o" || fail "sr-probe --help does not mention $w"
done
[ "$("$C" --version)" = "sr-conformance (safer-ring) $VERSION" ] || fail "sr-conformance --version"
[ "$("$D/usr/local/bin/sr-probe" --version)" = "sr-probe (safer-ring) $VERSION" ] || fail "sr-probe --version"
for bad in --bogus nosuchop --only=read,nosuchop --timeout=x --timeout=-1; do
	run "$T/o" "$C" $bad
	[ $rc = 2 ] || fail "sr-conformance $bad exits $rc, not 2"
	grep -q . "$T/o" || fail "sr-conformance $bad: no message"
done
run "$T/o" "$D/usr/local/bin/sr-probe" --bogus
[ $rc = 2 ] || fail "sr-probe --bogus exits $rc, not 2"
run "$T/o" "$D/usr/local/bin/sr-probe" extra
[ $rc = 2 ] || fail "sr-probe with an operand exits $rc, not 2"
note "--help of sr-conformance and sr-probe document the options and SR_*; bad usage exits 2"

run "$T/o" "$C" -q
[ $rc = 0 ] && [ "$(wc -l <"$T/o")" = 1 ] && grep -q '^conformance: ' "$T/o" || fail "sr-conformance -q: $(head -3 "$T/o")"
run "$T/o" "$C" --only=nop,read write
[ $rc = 0 ] && [ "$(sumval "$T/o" conformance ops)" = 3 ] || fail "sr-conformance --only=nop,read write: $(tail -1 "$T/o")"
run "$T/o" env CONF_ONLY=nop "$C"
[ $rc = 0 ] && [ "$(sumval "$T/o" conformance ops)" = 1 ] || fail "CONF_ONLY=nop: $(tail -1 "$T/o")"

# The paths a user's machine may take; nothing may fail on any of them.
# conf_env NAME ENV...: run under ENV, check the report, say what it found.
conf_env() {
	local name=$1
	shift
	run "$T/$name" env "$@" "$C" --timeout=30
	[ $rc = 0 ] || { grep -E 'FAILED|^conformance' "$T/$name" | head; fail "sr-conformance under $*: exit $rc"; }
	check_report "$T/$name" "sr-conformance under $*"
}
conf_env fb SR_BACKEND=fallback
[ "$(sumval "$T/fb" conformance native)" = 0 ] && [ "$(sumval "$T/fb" conformance fallback)" -gt 40 ] &&
	[ "$(sumval "$T/fb" conformance unavailable)" -gt 0 ] && grep -q 'backend: fallback' "$T/fb" ||
	fail "SR_BACKEND=fallback: $(tail -1 "$T/fb")"
grep -qE '^accept_direct +[0-9.]+ +unavailable: .*direct descriptors' "$T/fb" ||
	fail "SR_BACKEND=fallback: accept_direct is not unavailable with its reason"
conf_env old SR_KERNEL=5.10
[ "$(sumval "$T/old" conformance fallback)" -gt 10 ] && grep -q 'ops checked against Linux 5.10' "$T/old" ||
	fail "SR_KERNEL=5.10: $(tail -1 "$T/old")"
conf_env strict SR_KERNEL=5.10 SR_POLICY=strict
[ "$(sumval "$T/strict" conformance fallback)" = 0 ] && [ "$(sumval "$T/strict" conformance unavailable)" -gt 10 ] ||
	fail "SR_POLICY=strict: $(tail -1 "$T/strict")"
grep -qE '^send_zc +6\.0 +unavailable: send_zc needs Linux 6.0; running 5.10' "$T/strict" ||
	fail "SR_POLICY=strict SR_KERNEL=5.10: send_zc does not say which kernel it needs"
conf_env dis SR_DISABLE=send_zc,statx
grep -qE '^send_zc +[0-9.]+ +fallback: send' "$T/dis" && grep -qE '^statx +[0-9.]+ +fallback: statx\(2\)' "$T/dis" &&
	grep -q '^disabled: send_zc,statx' "$T/dis" || fail "SR_DISABLE=send_zc,statx: they do not take their fallbacks"
note "under SR_BACKEND=fallback, SR_KERNEL=5.10, SR_POLICY=strict and SR_DISABLE: $(tail -1 "$T/fb" | cut -d' ' -f2-5) ..., nothing fails"

# A machine where io_uring cannot be set up (Docker's seccomp profile).
$CC -O1 -o "$T/no-uring" "$SRC/tests/install/no-uring.c" || fail "cannot build no-uring"
for e in ENOSYS EPERM; do
	run "$T/nu" "$T/no-uring" $e "$C"
	[ $rc = 0 ] || { grep -E 'FAILED|^conformance' "$T/nu" | head; fail "without io_uring ($e): exit $rc"; }
	check_report "$T/nu" "sr-conformance without io_uring ($e)"
	grep -q '^SQE checks: not run: ' "$T/nu" && [ "$(sumval "$T/nu" conformance native)" = 0 ] &&
		[ "$(sumval "$T/nu" conformance sqe_equal)" = 0 ] && grep -q 'backend: fallback' "$T/nu" ||
		fail "without io_uring ($e): $(head -4 "$T/nu")"
done
note "without io_uring (seccomp ENOSYS and EPERM): $(sed -n 2p "$T/nu" | cut -c1-100)...; $(tail -1 "$T/nu")"

# An op that fails, crashes or hangs is that op's failure, and the run goes on.
$CC -O1 -shared -fPIC -o "$T/inject.so" "$SRC/tests/install/inject.c" -ldl || fail "cannot build inject.so"
for how in fail crash hang; do
	run "$T/inj" timeout 120 env LD_PRELOAD="$T/inject.so" SR_INJECT=$how SR_INJECT_OP=read "$C" --timeout=2
	case $how in
	fail) want='FAILED: mkdtemp failed: Permission denied' ;;
	crash) want='FAILED: killed by SIGSEGV' ;;
	hang) want='FAILED: timed out after 2 s' ;;
	esac
	[ $rc = 1 ] || fail "an op that does $how: exit $rc, not 1"
	grep -qE "^read +[0-9.]+ +$want" "$T/inj" || { grep -E '^read ' "$T/inj"; fail "SR_INJECT=$how: no '$want'"; }
	[ "$(sumval "$T/inj" conformance failed)" = 1 ] && [ "$(sumval "$T/inj" conformance ops)" = "$N" ] ||
		fail "SR_INJECT=$how: $(tail -1 "$T/inj")"
	run "$T/inj.json" env LD_PRELOAD="$T/inject.so" SR_INJECT=$how SR_INJECT_OP=read "$C" --timeout=2 --json --only=read,write
	[ $rc = 1 ] && $PY -c 'import json, sys; d = json.load(open(sys.argv[1]));
r = {o["op"]: o["result"] for o in d["ops"]}; assert r == {"read": "failed", "write": "native"}, r' "$T/inj.json" ||
		fail "SR_INJECT=$how --json: exit $rc"
done
note "an op that fails, crashes or hangs (--timeout) fails alone: exit 1, $(tail -1 "$T/inj" | cut -d' ' -f2-)"

# The runner is clean under memcheck (forked, its children run under it too).
run "$T/vg" ${VALGRIND:-valgrind -q --fair-sched=yes --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite} \
	"$C" --json --only=nop,read,send_zc,recv_multishot,waitid
[ $rc = 0 ] || { cat "$T/vg"; fail "sr-conformance under valgrind: exit $rc"; }
note "sr-conformance is clean under valgrind"

run "$T/mx" "$C" --matrix --only=nop,read,send_zc native fallback 5.11 strict
[ $rc = 0 ] && grep -q '^fallback-matrix: configs=4 ops=3 .* failed=0' "$T/mx" ||
	{ tail -20 "$T/mx"; fail "sr-conformance --matrix exits $rc"; }
note "sr-conformance --matrix runs: $(tail -1 "$T/mx")"
unset LD_LIBRARY_PATH
cd "$SRC" || exit 1

mk uninstall DESTDIR="$D"
check_nothing_left "$D"
note "uninstall from the staging tree leaves no file"

# --- 2. another PREFIX and LIBDIR, for real --------------------------------------------
P=$T/opt/sr
mk install PREFIX="$P" LIBDIR="$P/lib64" LDCONFIG=:
check_files "" "$P" "$P/lib64"
check_pc "$P/lib64/pkgconfig/safer-ring.pc" "$P" '${prefix}/lib64'
check_runpath "$P/bin" "$P/lib64"
(cd /tmp && "$P/bin/sr-conformance" --only=read,send_zc -q) >"$T/o" 2>&1 ||
	{ cat "$T/o"; fail "$P/bin/sr-conformance does not run without LD_LIBRARY_PATH"; }
(cd /tmp && "$P/bin/sr-probe" >/dev/null && "$P/bin/uring-sync" --version >/dev/null) ||
	fail "$P/bin programs do not run without LD_LIBRARY_PATH"
check_compile "$P" "$P/lib64/pkgconfig"
mk uninstall PREFIX="$P" LIBDIR="$P/lib64"
check_nothing_left "$T/opt"
note "PREFIX=\$T/opt/sr LIBDIR=\$PREFIX/lib64: the .pc and RUNPATH follow, programs run without LD_LIBRARY_PATH; uninstall leaves nothing"

# --- 3. the system's own directories: no RUNPATH ------------------------------------------
D=$T/stage-usr
mk install DESTDIR="$D" PREFIX=/usr LIBDIR="/usr/lib/$MA"
check_files "$D" /usr "/usr/lib/$MA"
check_pc "$D/usr/lib/$MA/pkgconfig/safer-ring.pc" /usr "\${prefix}/lib/$MA"
check_runpath "$D/usr/bin" ""
mk uninstall DESTDIR="$D" PREFIX=/usr LIBDIR="/usr/lib/$MA"
check_nothing_left "$D"
note "PREFIX=/usr LIBDIR=/usr/lib/$MA: .pc follows, no RUNPATH; uninstall leaves nothing"
echo "check-install: passed"
