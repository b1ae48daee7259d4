#!/bin/sh
# SPDX-License-Identifier: MIT
# echo_server against echo_load: 1,000 concurrent connections with random
# message sizes up to 64 KiB, every byte checked; many small messages; a
# starved buffer group; shutdown with traffic in flight; bad arguments and
# a port in use.
set -u
T_NAME=echo_server
. "$(dirname "$0")/lib.sh"

# Arguments are checked before anything starts.
for bad in "--port 70000" "--port x" "--bufs 3" "--bufsize 0" "extra"; do
	ex echo_server $bad >/dev/null 2>"$T_DIR/err" && fail "accepted '$bad'"
	[ $? -eq 2 ] && grep -q "usage:" "$T_DIR/err" || fail "'$bad': no usage message and exit 2"
done

ready --bufgroup multishot_accept recv_multishot send read
load() {
	timeout 90 "$EX_TOOLS/echo_load" --port "$port" --timeout 60 "$@" >"$T_DIR/load.out" 2>"$T_DIR/load.err" ||
		fail "echo_load $*: $(cat "$T_DIR/load.err" "$T_DIR/load.out")"
	cat "$T_DIR/load.out"
}
summary_field() {	# the number before $1 in the server's summary line
	tail -1 "$T_DIR/$name.out" | sed -n "s/.*[ (]\([0-9][0-9]*\) $1.*/\1/p"
}

# 1. Many connections at once, random sizes up to 64 KiB.
start_server echo echo_server
big=$(load --conns 1000 --max-size 65536 --messages 6)
sent1=$(echo "$big" | sed -n 's/.* messages, \([0-9]*\) bytes.*/\1/p')
# 2. Many small messages: ordering within a connection.
small=$(load --conns 200 --max-size 100 --messages 200)
sent2=$(echo "$small" | sed -n 's/.* messages, \([0-9]*\) bytes.*/\1/p')

# A second server cannot take the same port.
ex echo_server --port "$port" >/dev/null 2>"$T_DIR/busy.err" && fail "a second server took port $port"
grep -q "Address already in use" "$T_DIR/busy.err" || fail "port in use: $(cat "$T_DIR/busy.err")"

# SIGUSR1: the ring's state on stderr, from the loop; the server goes on.
kill -USR1 "$pid"
i=0
until grep -q "^fallback active=" "$T_DIR/echo.err" 2>/dev/null || [ $i -ge 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
grep -q "^ring backend=" "$T_DIR/echo.err" || fail "SIGUSR1: no dump: $(cat "$T_DIR/echo.err")"
grep -q "^op op=read .*delivery=callback" "$T_DIR/echo.err" || fail "SIGUSR1: the signalfd read is not in the dump"
grep -q "^op op=[a-z_]*accept" "$T_DIR/echo.err" || fail "SIGUSR1: the accept is not in the dump"
grep -q "^group bgid=1 buffers=4096 size=16384 out=0 available=4096" "$T_DIR/echo.err" ||
	fail "SIGUSR1: the buffer group: $(grep '^group' "$T_DIR/echo.err")"
kill -0 "$pid" || fail "SIGUSR1 ended the server"
note "SIGUSR1: dump of $(grep -c '^op ' "$T_DIR/echo.err") op(s) in flight"

stop_server TERM
line=$(tail -1 "$T_DIR/echo.out")
echo "$line" | grep -q "^echo_server: SIGTERM: 1200 connections" || fail "summary: $line"
# Natively one multishot accept takes the whole backlog at once; a fallback
# path (EX_ENV) re-arms a single accept, so fewer overlap there.
if [ -z "$EX_ENV" ]; then
	[ "$(summary_field "at once")" -ge 1000 ] || fail "fewer than 1000 connections at once: $line"
fi
[ "$(summary_field "bytes echoed")" -eq $((sent1 + sent2)) ] || fail "bytes echoed != $((sent1 + sent2)): $line"
echo "$line" | grep -q " 4096/4096 buffers back" || fail "buffers: $line"
note "$(echo "$big" | sed 's/^echo_load: //')"
note "$(echo "$small" | sed 's/^echo_load: //')"

# 3. Few small buffers: recvs end with ENOBUFS and wait for buffers to come
# back.  Whether 100 clients ever hold all 4 at once depends on scheduling
# (a busy machine can serialize them), so up to three rounds are run to see
# it happen; every round must echo every byte and get every buffer back.
waits=0
for round in 1 2 3; do
	start_server starve echo_server --bufs 4 --bufsize 4096
	load --conns 100 --max-size 65536 --messages 4 >/dev/null
	stop_server INT
	line=$(tail -1 "$T_DIR/starve.out")
	echo "$line" | grep -q "^echo_server: SIGINT: 100 connections.* 4/4 buffers back" || fail "summary: $line"
	waits=$(summary_field "waits for a buffer")
	[ "$waits" -gt 0 ] && break
done
# The kernel picks buffers for every connection with data at once; the
# fallback picks one per worker thread running a recv, so it need not run short.
if [ -z "$EX_ENV" ]; then
	[ "$waits" -gt 0 ] || fail "4 buffers were never short in three rounds: $line"
fi
note "4 buffers of 4 KiB for 100 connections: $waits waits for a buffer, every byte right"

# 4. SIGINT while 500 connections are busy: ops cancelled, every buffer back, exit 0.
start_server busy echo_server
"$EX_TOOLS/echo_load" --port "$port" --conns 500 --duration 30 --timeout 40 >/dev/null 2>&1 &
client=$!
T_PIDS="$T_PIDS $client"
sleep 1.5
kill -0 "$client" 2>/dev/null || fail "the load ended before the signal"
stop_server INT
line=$(tail -1 "$T_DIR/busy.out")
echo "$line" | grep -q "^echo_server: SIGINT: 500 connections.* 4096/4096 buffers back" || fail "summary: $line"
wait_exit "$client" 10
[ "$rc" -ne 0 ] || fail "the client did not notice the server going away"
note "SIGINT with 500 busy connections: exit 0, $(echo "$line" | sed "s/.*connections ([0-9]* at once), //")"
note "bad arguments exit 2; a port in use exits 1 with the reason"
