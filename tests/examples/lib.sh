# SPDX-License-Identifier: MIT
# Shared by the example tests: where the programs are, a scratch directory,
# servers started and stopped with time limits, and the report lines.
#
# EX_BIN    the example programs (build/examples)
# EX_TOOLS  the test tools: echo_load, sr_ready (build/tests/examples)
# EX_ENV    environment for the examples, e.g. "SR_BACKEND=fallback" or
#           "SR_KERNEL=5.10": the same test then runs on that path, or is
#           skipped with the library's reason while it cannot.

: "${EX_BIN:?EX_BIN is not set}"
: "${EX_TOOLS:?EX_TOOLS is not set}"
EX_ENV=${EX_ENV:-}
T_NAME=${T_NAME:-examples}
T_TAG=${EX_ENV:+ [$EX_ENV]}
T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/sr-examples.XXXXXX")
T_PIDS=""
T_EXTRA_DIR=""

cleanup() {
	for p in $T_PIDS; do
		kill -KILL "$p" 2>/dev/null
	done
	rm -rf "$T_DIR" ${T_EXTRA_DIR:+"$T_EXTRA_DIR"}
}
trap cleanup EXIT
trap 'exit 1' INT TERM

note() { echo "$T_NAME$T_TAG: $*"; }
fail() {
	echo "$T_NAME$T_TAG: FAIL: $*" >&2
	exit 1
}
skip() {
	echo "$T_NAME$T_TAG: SKIP: $*"
	exit 0
}

# Run an example under EX_ENV.
ex() {
	prog=$1
	shift
	env $EX_ENV "$EX_BIN/$prog" "$@"
}

# ready [--bufgroup] OP...: skip the whole test when the library cannot run these here.
ready() {
	why=$(env $EX_ENV "$EX_TOOLS/sr_ready" "$@") || {
		[ $? -eq 77 ] && skip "$why"
		fail "sr_ready: $why"
	}
}

# wait_exit PID SECONDS: wait for a background process; its status in $rc.
# Kills it and fails the test when it outlives the limit.
wait_exit() {
	i=0
	while kill -0 "$1" 2>/dev/null; do
		if [ $i -ge $(($2 * 10)) ]; then
			kill -KILL "$1" 2>/dev/null
			wait "$1" 2>/dev/null
			fail "process $1 did not exit within $2 s"
		fi
		sleep 0.1
		i=$((i + 1))
	done
	wait "$1"
	rc=$?
}

# start_server NAME PROG ARGS...: start in the background, wait for its
# "listening on 127.0.0.1:PORT" line; sets $pid and $port, output in
# $T_DIR/NAME.out and .err.
start_server() {
	name=$1
	shift
	prog=$1
	shift
	# Not through ex(): $! must be the server itself, not a subshell.
	env $EX_ENV "$EX_BIN/$prog" "$@" >"$T_DIR/$name.out" 2>"$T_DIR/$name.err" &
	pid=$!
	T_PIDS="$T_PIDS $pid"
	i=0
	while ! head -1 "$T_DIR/$name.out" 2>/dev/null | grep -q '^listening on 127\.0\.0\.1:[0-9][0-9]*$'; do
		if ! kill -0 "$pid" 2>/dev/null || [ $i -ge 100 ]; then
			kill -KILL "$pid" 2>/dev/null
			fail "$prog did not start listening: $(cat "$T_DIR/$name.err" "$T_DIR/$name.out")"
		fi
		sleep 0.1
		i=$((i + 1))
	done
	port=$(head -1 "$T_DIR/$name.out" | sed 's/.*://')
}

# stop_server SIGNAL: signal $pid, which must exit 0 within 15 s.
stop_server() {
	kill -"$1" "$pid" 2>/dev/null
	wait_exit "$pid" 15
	[ "$rc" -eq 0 ] || fail "server exited with $rc after SIG$1: $(tail -5 "$T_DIR/$name.err")"
}
