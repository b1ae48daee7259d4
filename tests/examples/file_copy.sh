#!/bin/sh
# SPDX-License-Identifier: MIT
# file_copy in its three modes: files of several sizes (0 bytes, odd sizes,
# a 1 GiB sparse file with data at odd places), small odd buffers, a pipe
# as the source (short reads), progress on a terminal; and the failures:
# bad arguments, a missing source, a missing directory, a destination too
# large for RLIMIT_FSIZE, SIGTERM in the middle.  Every copy is compared
# byte for byte, and no failure may leave DST changed or a temporary file.
set -u
T_NAME=file_copy
. "$(dirname "$0")/lib.sh"

# Arguments are checked before anything starts.
for bad in "" "a" "a b c" "--depth 0 a b" "--bufsize x a b" "--splice --registered a b" "--nope a b"; do
	ex file_copy $bad >/dev/null 2>"$T_DIR/err" && fail "accepted '$bad'"
	[ $? -eq 2 ] || fail "'$bad': exit status is not 2"
	[ -s "$T_DIR/err" ] || fail "'$bad': no message"
done

ready read write read_fixed write_fixed splice fsync

D=$T_DIR
: >"$D/empty"
printf x >"$D/one"
head -c 4095 /dev/urandom >"$D/page-1"
head -c 131073 /dev/urandom >"$D/chunk+1"
head -c $((5 * 1048576 + 7)) /dev/urandom >"$D/odd"
# Sparse files: data at the start, at an odd place in the middle, and the
# last byte.  16 MiB here; 1 GiB on tmpfs when there is one, where holes
# read back without filling the page cache (cmp takes 0.2 s, not 2 s).
S=$D
if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] && S=$(mktemp -d /dev/shm/sr-examples.XXXXXX); then
	T_EXTRA_DIR=$S
else
	S=$D
fi
sparse() {	# sparse FILE SIZE-IN-MiB
	truncate -s "$2M" "$1"
	head -c 100001 /dev/urandom | dd of="$1" conv=notrunc status=none
	head -c 3000017 /dev/urandom | dd of="$1" oflag=seek_bytes seek=$(($2 * 524288 + 12345)) conv=notrunc status=none
	printf z | dd of="$1" oflag=seek_bytes seek=$(($2 * 1048576 - 1)) conv=notrunc status=none
}
sparse "$D/holes" 16
sparse "$S/sparse" 1024
files="empty one page-1 chunk+1 odd holes"

copy() {	# copy SRC DST ARGS...: copy, compare, no temporary file left
	s=$1
	d=$2
	shift 2
	ex file_copy "$@" "$s" "$d" 2>"$D/err" || fail "file_copy $* $(basename "$s"): $(cat "$D/err")"
	cmp -s "$s" "$d" || fail "file_copy $* $(basename "$s"): the copy differs"
	rm -f "$d"
	ls -A "$(dirname "$d")" | grep -q "^\.$(basename "$d")\." && fail "a temporary file was left behind"
	return 0
}

mkdir "$D/out"
for mode in "" --registered --splice; do
	for f in $files; do
		copy "$D/$f" "$D/out/$f" $mode
	done
	# Buffers of odd sizes, fewer slots; fsync before the rename.
	for f in odd chunk+1; do
		copy "$D/$f" "$D/out/$f" $mode --bufsize 4097 --depth 3 --sync
	done
	# Holes stay holes: a sparse copy takes about what its data takes.
	for f in "$D/holes" "$S/sparse"; do
		ex file_copy $mode "$f" "$f.copy" 2>"$D/err" || fail "sparse copy: $(cat "$D/err")"
		used=$(du -k "$f.copy" | cut -f1)
		[ "$used" -lt 8000 ] || fail "file_copy $mode filled the holes of $f ($used KiB used)"
		cmp -s "$f" "$f.copy" || fail "file_copy $mode $f: the copy differs"
		rm -f "$f.copy"
	done
	# A pipe as the source: reads come back short, whatever has arrived.
	(for i in 1 2 3 4 5 6; do head -c $((i * 77777)) "$D/odd"; sleep 0.02; done) >"$D/expect"
	(for i in 1 2 3 4 5 6; do head -c $((i * 77777)) "$D/odd"; sleep 0.02; done) |
		ex file_copy $mode --bufsize 100000 /dev/stdin "$D/out/piped" 2>"$D/err" ||
		fail "file_copy $mode from a pipe: $(cat "$D/err")"
	cmp -s "$D/expect" "$D/out/piped" || fail "file_copy $mode from a pipe: the copy differs"
	note "${mode:-read/write}: files of 0, 1, 4095, 131073, 5 MiB + 7 bytes, 16 MiB and 1 GiB sparse (holes kept), odd buffers, --sync, a pipe: identical"
done

# The copy takes the source's permission bits; an existing DST is replaced whole.
chmod 640 "$D/odd"
echo old >"$D/out/existing"
(umask 022 && ex file_copy "$D/odd" "$D/out/existing") || fail "replacing an existing file"
cmp -s "$D/odd" "$D/out/existing" || fail "the replaced file differs"
[ "$(stat -c %a "$D/out/existing")" = 640 ] || fail "mode $(stat -c %a "$D/out/existing"), not 640"

# Failures: clear message, non-zero exit, DST untouched, no temporary file.
echo old >"$D/out/keep"
untouched() {
	[ "$(cat "$D/out/keep")" = old ] || fail "$1: DST was changed"
	[ -z "$(ls -A "$D/out" | grep '^\.keep\.')" ] || fail "$1: a temporary file was left behind"
}
ex file_copy "$D/missing" "$D/out/keep" 2>"$D/err" && fail "a missing source was copied"
grep -q "No such file" "$D/err" || fail "missing source: $(cat "$D/err")"
untouched "missing source"
ex file_copy "$D/odd" "$D/nodir/x" 2>"$D/err" && fail "copied into a missing directory"
grep -q "No such file" "$D/err" || fail "missing directory: $(cat "$D/err")"
ex file_copy "$D/odd" "$D/out" 2>"$D/err" && fail "copied onto a directory"
for mode in "" --registered --splice; do
	# RLIMIT_FSIZE: the writes come back short, then fail with EFBIG.
	(ulimit -f 1000 && cat "$D/odd" | ex file_copy $mode /dev/stdin "$D/out/keep") 2>"$D/err" &&
		fail "$mode: wrote past RLIMIT_FSIZE"
	grep -q "File too large" "$D/err" || fail "RLIMIT_FSIZE: $(cat "$D/err")"
	untouched "RLIMIT_FSIZE $mode"
done
# SIGTERM while the copy waits for more of its source.
mkfifo "$D/fifo"
(head -c 100000 "$D/odd"; sleep 5) >"$D/fifo" &
writer=$!
T_PIDS="$T_PIDS $writer"
env $EX_ENV "$EX_BIN/file_copy" "$D/fifo" "$D/out/keep" 2>"$D/err" &
pid=$!
T_PIDS="$T_PIDS $pid"
sleep 0.5
kill -TERM "$pid"
wait_exit "$pid" 5
[ "$rc" -eq 143 ] || fail "SIGTERM: exit status $rc, not 143: $(cat "$D/err")"
grep -q "interrupted" "$D/err" || fail "SIGTERM: $(cat "$D/err")"
untouched "SIGTERM"
kill "$writer" 2>/dev/null
note "bad arguments exit 2; a missing source or directory, EFBIG and SIGTERM exit non-zero and leave DST alone"

# Progress on a terminal (script(1) gives it one).
if command -v script >/dev/null 2>&1; then
	script -qec "env $EX_ENV $EX_BIN/file_copy $D/odd $D/out/tty" /dev/null >"$D/tty" 2>&1 ||
		fail "on a terminal: $(cat "$D/tty")"
	grep -q "file_copy: copied 5.0 MiB in" "$D/tty" || fail "no progress on a terminal: $(cat "$D/tty")"
	cmp -s "$D/odd" "$D/out/tty" || fail "on a terminal: the copy differs"
	note "on a terminal: $(tr '\r' '\n' <"$D/tty" | grep copied | tr -d '\033' | sed 's/\[K//')"
else
	note "SKIP: progress on a terminal: script(1) is missing"
fi
