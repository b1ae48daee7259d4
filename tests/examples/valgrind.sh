#!/bin/sh
# SPDX-License-Identifier: MIT
# The examples under valgrind's memcheck, with lighter loads than their
# tests: no invalid access, no use of uninitialised memory, no definite
# leak, in the servers (through SIGTERM) and in every file_copy mode.
set -u
T_NAME=valgrind
. "$(dirname "$0")/lib.sh"
command -v valgrind >/dev/null || skip "valgrind is missing (make deps)"

VG=${VALGRIND:-"valgrind -q --fair-sched=yes --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite"}
D=$T_DIR
EX_BIN_REAL=$EX_BIN
# start_server runs "$EX_BIN/PROG": point it at a wrapper that adds valgrind.
mkdir "$D/vg"
for p in echo_server file_copy https_server; do
	printf '#!/bin/sh\nexec %s --log-file=%s/%s.vg.%%p %s/%s "$@"\n' "$VG" "$D" "$p" "$(cd "$EX_BIN_REAL" && pwd)" "$p" \
		>"$D/vg/$p"
	chmod +x "$D/vg/$p"
done
EX_BIN=$D/vg
check_logs() {
	for f in "$D"/$1.vg.*; do
		[ -s "$f" ] && fail "$1: $(head -30 "$f")"
	done
	rm -f "$D"/$1.vg.*
}

start_server echo echo_server --bufs 64 --bufsize 4096
"$EX_TOOLS/echo_load" --port "$port" --conns 50 --max-size 65536 --messages 3 --timeout 60 >"$D/load" 2>&1 ||
	fail "echo_load: $(cat "$D/load")"
stop_server TERM
check_logs echo_server
note "echo_server: 50 connections, 16 buffers, SIGTERM: clean"

head -c 3000001 /dev/urandom >"$D/src"
for mode in "" --registered --splice; do
	ex file_copy $mode --bufsize 65536 "$D/src" "$D/dst" || fail "file_copy $mode"
	cmp -s "$D/src" "$D/dst" || fail "file_copy $mode: the copy differs"
	head -c 200000 "$D/src" | ex file_copy $mode /dev/stdin "$D/dst" || fail "file_copy $mode from a pipe"
	ex file_copy $mode "$D/missing" "$D/dst" 2>/dev/null && fail "file_copy $mode: a missing source"
done
check_logs file_copy
note "file_copy: every mode, a pipe, a missing source: clean"

if command -v openssl >/dev/null && command -v curl >/dev/null; then
	mkdir "$D/root"
	head -c 1000003 /dev/urandom >"$D/root/f"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost \
		-addext "subjectAltName=DNS:localhost" -keyout "$D/key.pem" -out "$D/cert.pem" 2>/dev/null
	for tls in auto kernel; do
		start_server https https_server --cert "$D/cert.pem" --key "$D/key.pem" --root "$D/root" --tls $tls
		for p in /f /f /nope; do
			curl -sS --max-time 60 --cacert "$D/cert.pem" -o "$D/got" "https://localhost:$port$p" ||
				fail "curl $p"
		done
		curl -sS --max-time 60 --cacert "$D/cert.pem" -o "$D/got" "https://localhost:$port/f" && cmp -s "$D/got" "$D/root/f" ||
			fail "https_server --tls $tls: /f differs"
		stop_server TERM
		check_logs https_server
	done
	note "https_server: userspace TLS and --tls kernel, 4 requests each, SIGTERM: clean"
fi

head -c 1000003 /dev/urandom >"$D/pool-src"
for args in "" "--registered --bufs 2"; do
	$VG --log-file="$D/buffer_pool.vg.%p" "$EX_BIN_REAL/buffer_pool" $args "$D/pool-src" "$D/pool-dst" >/dev/null ||
		fail "buffer_pool $args: $(cat "$D"/buffer_pool.vg.* 2>/dev/null | head -30)"
	cmp -s "$D/pool-src" "$D/pool-dst" || fail "buffer_pool $args: the copy differs"
	check_logs buffer_pool
done
note "buffer_pool: plain and registered pools, two threads: clean"
