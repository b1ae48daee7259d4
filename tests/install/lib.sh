# SPDX-License-Identifier: MIT
# Shared by check-install.sh and deb.sh: the installed programs and the
# installed library checked from an installed tree (a DESTDIR staging tree,
# a real prefix, or the unpacked Debian packages), from outside the source
# tree.  T_NAME names the test in its lines; T is a scratch directory.

PY=/usr/bin/python3
[ -x $PY ] || PY=python3
T_FAILS=0

note() { echo "$T_NAME: $*"; }
fail() {
	echo "$T_NAME: FAIL: $*" >&2
	exit 1
}

# run OUT CMD...: CMD's stdout and stderr in OUT, its exit status in $rc.
run() {
	local out=$1
	shift
	"$@" >"$out" 2>&1
	rc=$?
}

# The value of KEY in the summary line "PREFIX: key=N key=N ..." of FILE.
sumval() {
	sed -n "s/^$2: .*\\b$3=\\([0-9]*\\).*/\\1/p" "$1" | tail -1
}

# Every file an installed program needs comes from the tree: libsafer-ring
# resolves to ROOT's library, not to one installed on the machine.
check_resolves() {
	local prog=$1 libdir=$2 got
	got=$(LD_LIBRARY_PATH=$libdir ldd "$prog" | sed -n 's/^[[:space:]]*libsafer-ring\.so\.[0-9]* => \([^ ]*\) .*/\1/p')
	[ "$(realpath "$got" 2>/dev/null)" = "$(realpath "$libdir"/libsafer-ring.so.* | head -1)" ] ||
		fail "$prog: libsafer-ring resolves to '${got:-nothing}', not to $libdir"
}

# sr-conformance's text report and its summary line agree; sets N (ops).
check_report() {
	local out=$1 what=$2 lines n sum
	grep -q '^conformance: ops=' "$out" || { cat "$out"; fail "$what: no summary line"; }
	n=$(sumval "$out" conformance ops)
	sum=0
	for k in native fallback unavailable skipped failed; do
		sum=$((sum + $(sumval "$out" conformance $k)))
	done
	[ "$sum" = "$n" ] || { tail -3 "$out"; fail "$what: native+fallback+unavailable+skipped+failed=$sum, ops=$n"; }
	lines=$(grep -cE '^[a-z0-9_]+ +[0-9]+\.[0-9]+ +(native|fallback: |unavailable: |skipped: |FAILED: )' "$out")
	[ "$lines" = "$n" ] || { cat "$out"; fail "$what: $lines op lines for ops=$n"; }
	N=$n
}

# The installed programs of the tree at ROOT (BINDIR and LIBDIR as installed).
check_programs() {
	local root=$1 bin=$1$2 lib=$1$3 nops
	local env="LD_LIBRARY_PATH=$lib"

	for p in sr-conformance sr-probe uring-sync; do
		[ -x "$bin/$p" ] || fail "$bin/$p is missing"
		check_resolves "$bin/$p" "$lib"
	done

	nops=$(env $env "$bin/sr-conformance" --list | wc -l)
	[ "$nops" -gt 60 ] || fail "sr-conformance --list names $nops ops"
	run "$T/conf.txt" env $env "$bin/sr-conformance"
	[ $rc = 0 ] || { cat "$T/conf.txt"; fail "sr-conformance exits $rc"; }
	check_report "$T/conf.txt" sr-conformance
	[ "$N" = "$nops" ] || fail "sr-conformance: ops=$N, --list names $nops"
	[ "$(sumval "$T/conf.txt" conformance failed)" = 0 ] || fail "sr-conformance: failed ops"
	[ "$(sumval "$T/conf.txt" conformance sqe_equal)" = "$N" ] || fail "sr-conformance: not every SQE equal"
	[ "$(sumval "$T/conf.txt" conformance native)" -gt 0 ] || fail "sr-conformance: nothing native"

	# --json: the same verdicts, counted again from the per-op entries.
	run "$T/conf.json" env $env "$bin/sr-conformance" --json
	[ $rc = 0 ] || fail "sr-conformance --json exits $rc"
	$PY - "$T/conf.json" "$T/conf.txt" <<'EOF' || fail "sr-conformance --json disagrees with its text report"
import json, re, sys
d = json.load(open(sys.argv[1]))
text = open(sys.argv[2]).read()
line = re.search(r"^conformance: (.*)$", text, re.M).group(1)
want = {k: int(v) for k, v in (kv.split("=") for kv in line.split())}
s = d["summary"]
assert s == want, (s, want)
lines = {}
for l in text.splitlines():
    m = re.match(r"^([a-z0-9_]+) +\d+\.\d+ +(native|fallback|unavailable|skipped|FAILED)\b", l)
    if m:
        lines[m.group(1)] = m.group(2).lower()
count = {k: 0 for k in ("native", "fallback", "unavailable", "skipped", "failed")}
for o in d["ops"]:
    count[o["result"]] += 1
    assert o["sqe"] == "equal", o
    assert lines.get(o["op"]) == o["result"], (o["op"], lines.get(o["op"]), o["result"])
assert len(d["ops"]) == s["ops"] == len(lines)
for k, v in count.items():
    assert s[k] == v, (k, s[k], v)
EOF
	note "sr-conformance from the tree: $(tail -1 "$T/conf.txt")"

	run "$T/probe.json" env $env "$bin/sr-probe" --json
	[ $rc = 0 ] || fail "sr-probe --json exits $rc"
	$PY -c 'import json, sys; d = json.load(open(sys.argv[1])); assert len(d["ops"]) == int(sys.argv[2])' \
		"$T/probe.json" "$N" || fail "sr-probe --json: not JSON, or not one entry per op"

	# uring-sync copies a small tree: contents, a symlink, a hole.
	rm -rf "$T/us-src" "$T/us-dst"
	mkdir -p "$T/us-src/d/e"
	echo hello >"$T/us-src/a"
	head -c 100000 /dev/urandom >"$T/us-src/d/b"
	truncate -s 1M "$T/us-src/d/e/sparse"
	ln -s ../a "$T/us-src/d/link"
	run "$T/us.txt" env $env "$bin/uring-sync" -q "$T/us-src/" "$T/us-dst"	# SRC/: its contents, as rsync
	[ $rc = 0 ] || { cat "$T/us.txt"; fail "uring-sync exits $rc"; }
	diff -r --no-dereference "$T/us-src" "$T/us-dst" >/dev/null || fail "uring-sync: the copy differs"
	[ "$(readlink "$T/us-dst/d/link")" = ../a ] || fail "uring-sync: the symlink differs"
	note "uring-sync from the tree copies a tree"
}

# Compile and run a program against the tree with pkg-config: shared, then
# static (Requires.private and Libs.private must be enough).
# check_compile ROOT PCDIR [SYSROOT]: SYSROOT for a staging tree.
check_compile() {
	local root=$1 pcdir=$2 sysroot=${3:-} flags libdir
	local pc="env PKG_CONFIG_LIBDIR=$pcdir:/usr/lib/$(gcc -print-multiarch)/pkgconfig:/usr/share/pkgconfig"

	[ -n "$sysroot" ] && pc="$pc PKG_CONFIG_SYSROOT_DIR=$sysroot"
	cat >"$T/prog.c" <<'EOF'
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <safer-ring.h>

/* Read a file through the checked API; print what came back. */
int main(int argc, char **argv)
{
	struct sr_ring *ring;
	struct sr_buf *buf = sr_buf_alloc(64);
	int fd = open(argv[argc - 1], O_RDONLY);

	if (fd < 0 || !buf || sr_ring_create(&ring, NULL))
		return 1;
	struct sr_read_op op = sr_read(fd, buf, 0);
	struct sr_read_submitted sub;
	struct sr_read_completed done;
	if (sr_submit(ring, &op, &sub) || sr_buf_free(buf) != -EBUSY || sr_wait(ring, &sub, &done))
		return 2;
	printf("%d %.*s|%s\n", done.res, (int)sr_buf_len(buf), (char *)sr_buf_data(buf), sr_ring_backend(ring));
	sr_ring_destroy(ring);
	return sr_buf_free(buf) ? 3 : 0;
}
EOF
	printf 'installed' >"$T/data"
	flags=$($pc pkg-config --cflags --libs safer-ring) || fail "pkg-config --cflags --libs safer-ring fails"
	case " $flags " in
	*" -I$root/"*" -L$root/"*) ;;
	*) fail "pkg-config: '$flags' does not point into $root" ;;
	esac
	libdir=$(echo " $flags" | sed 's/.* -L\([^ ]*\).*/\1/')
	gcc -std=gnu11 -Wall -Werror -o "$T/prog" "$T/prog.c" $flags || fail "a program does not compile against the tree"
	check_resolves "$T/prog" "$libdir"
	[ "$(LD_LIBRARY_PATH=$libdir "$T/prog" "$T/data")" = "9 installed|io_uring" ] ||
		fail "a program built against the tree does not read a file"
	flags=$($pc pkg-config --static --cflags --libs safer-ring) || fail "pkg-config --static fails"
	gcc -std=gnu11 -Wall -Werror -static -o "$T/prog-static" "$T/prog.c" $flags ||
		fail "a static program does not link with pkg-config --static ($flags)"
	[ "$("$T/prog-static" "$T/data")" = "9 installed|io_uring" ] || fail "the static program does not read a file"
	note "a program compiles against the tree with pkg-config (shared and static) and runs"
}
