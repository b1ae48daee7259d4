#!/bin/sh
# SPDX-License-Identifier: MIT
# buffer_pool: one pool shared by a reader ring and a writer ring on two
# threads.  Files of several sizes, pools from 1 buffer up, registered and
# not: every copy identical, the pool whole at the end (the program checks
# every buffer came back and exits non-zero otherwise), and a pool that
# runs dry shows it.  Bad arguments exit 2; a missing source exits 1.
set -u
T_NAME=buffer_pool
. "$(dirname "$0")/lib.sh"

for bad in "" "a" "a b c" "--bufs 0 a b" "--bufsize x a b" "--nope a b"; do
	ex buffer_pool $bad >/dev/null 2>"$T_DIR/err" && fail "accepted '$bad'"
	[ $? -eq 2 ] || fail "'$bad': exit status is not 2"
	[ -s "$T_DIR/err" ] || fail "'$bad': no message"
done
ex buffer_pool "$T_DIR/missing" "$T_DIR/out" >/dev/null 2>"$T_DIR/err" && fail "copied a missing file"
grep -q "missing" "$T_DIR/err" || fail "missing source: $(cat "$T_DIR/err")"

ready read read_fixed write

: >"$T_DIR/empty"
head -c 4097 /dev/urandom >"$T_DIR/small"
head -c $((3 * 1048576 + 11)) /dev/urandom >"$T_DIR/big"
dry=0
for f in empty small big; do
	for args in "" "--registered" "--bufs 1 --bufsize 1000" "--bufs 3 --bufsize 8192 --registered"; do
		out=$(ex buffer_pool $args "$T_DIR/$f" "$T_DIR/copy" 2>"$T_DIR/err") ||
			fail "buffer_pool $args $f: $(cat "$T_DIR/err")"
		cmp -s "$T_DIR/$f" "$T_DIR/copy" || fail "buffer_pool $args $f: the copy differs"
		echo "$out" | grep -q "^buffer_pool: $(stat -c %s "$T_DIR/$f") bytes" || fail "summary: $out"
		n=$(echo "$out" | sed -n 's/.*ran dry \([0-9]*\) times.*/\1/p')
		dry=$((dry + n))
	done
done
# A pool of one buffer for a 3 MiB file cannot keep up without waiting.
[ "$dry" -gt 0 ] || fail "the pool never ran dry"
note "files of 0, 4097 and 3 MiB + 11 bytes, pools of 1 to 8 buffers, registered or not: identical, every buffer back, the pool ran dry $dry times"
