#!/bin/sh
# SPDX-License-Identifier: MIT
# Usage: run.sh CC [extra cflags]
# Every tests/compile-fail/*.c but ok.c must fail to compile with a matching
# diagnostic; ok.c must compile.
set -u
cc=${1:-cc}
shift 2>/dev/null || true
dir=$(dirname "$0")
inc="-I$dir/../../runtime/include -I$dir/../../generated/include"
base="-std=gnu11 -fsyntax-only $inc $*"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
pass=0
fail=0

if ! $cc $base "$dir/ok.c" >"$out" 2>&1; then
	echo "FAIL: ok.c does not compile with $cc:"
	cat "$out"
	exit 1
fi
for f in "$dir"/*.c; do
	name=$(basename "$f")
	[ "$name" = ok.c ] && continue
	expect=$(sed -n 's|^// expect: ||p' "$f")
	flags=$(sed -n 's|^// flags: ||p' "$f")
	if [ -z "$expect" ]; then
		echo "FAIL: $name has no // expect: line"
		fail=$((fail + 1))
		continue
	fi
	if $cc $base $flags "$f" >"$out" 2>&1; then
		echo "FAIL: $name compiled with $cc; it must not"
		fail=$((fail + 1))
	elif grep -q "due to requirement" "$out"; then
		# clang printing the whole _Generic expression: a 10 KB line, not a sentence
		echo "FAIL: $name: $cc prints the assertion's expression, not just its message:"
		grep -m1 "due to requirement" "$out" | cut -c1-200 | sed 's/^/    /'
		fail=$((fail + 1))
	elif grep -Eq "$expect" "$out"; then
		pass=$((pass + 1))
	else
		echo "FAIL: $name failed with $cc, but not with /$expect/:"
		sed 's/^/    /' "$out" | head -20
		fail=$((fail + 1))
	fi
done
echo "compile-fail ($cc): $pass refused as expected, $fail wrong"
[ "$fail" -eq 0 ]
