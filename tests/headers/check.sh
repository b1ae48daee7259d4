#!/bin/sh
# SPDX-License-Identifier: MIT
# Usage: check.sh INCLUDEDIR
# Every public header of an installed tree compiles on its own, first in
# its translation unit and with no feature macro asked of the program,
# under gcc and clang in every C standard mode from C11 (ISO and GNU), and
# under g++ and clang++ as C++17 and C++20, all with -pedantic -Wall
# -Wextra -Werror; then all of them in one unit, in order and in reverse
# order.  CC, CLANG, CXX, CLANGXX name the compilers.
set -u
inc=${1:?usage: check.sh INCLUDEDIR}
CC=${CC:-gcc}
CLANG=${CLANG:-clang}
CXX=${CXX:-g++}
CLANGXX=${CLANGXX:-clang++}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

headers="safer-ring.h"
for h in "$inc"/safer-ring/*.h; do
	headers="$headers safer-ring/$(basename "$h")"
done
[ -f "$inc/safer-ring.h" ] || { echo "headers: no safer-ring.h in $inc"; exit 1; }

modes=""
for cc in "$CC" "$CLANG"; do
	for std in c11 c17 c2x gnu11 gnu17 gnu2x; do
		modes="$modes $cc:-x:c:-std=$std"
	done
done
for cxx in "$CXX" "$CLANGXX"; do
	for std in c++17 c++20; do
		modes="$modes $cxx:-x:c++:-std=$std"
	done
done

# One job per header and mode: a file of commands run two at a time.
n=0
for h in $headers; do
	for m in $modes; do
		n=$((n + 1))
		printf '#include <%s>\nint main(void) { return 0; }\n' "$h" >"$tmp/t$n.src"
		echo "$(echo "$m" | tr : ' ') -pedantic -Wall -Wextra -Werror -fsyntax-only -I$inc $tmp/t$n.src" >"$tmp/t$n.cmd"
		echo "$h" >"$tmp/t$n.what"
	done
done
# All of them in one unit, in order and reversed.
rev=""
for h in $headers; do rev="$h $rev"; done
for order in fwd rev; do
	list=$headers
	[ $order = rev ] && list=$rev
	for m in $modes; do
		n=$((n + 1))
		for h in $list; do echo "#include <$h>"; done >"$tmp/t$n.src"
		echo 'int main(void) { return 0; }' >>"$tmp/t$n.src"
		echo "$(echo "$m" | tr : ' ') -pedantic -Wall -Wextra -Werror -fsyntax-only -I$inc $tmp/t$n.src" >"$tmp/t$n.cmd"
		echo "every header ($order)" >"$tmp/t$n.what"
	done
done
seq 1 $n | xargs -P 2 -I{} sh -c "sh $tmp/t{}.cmd >$tmp/t{}.log 2>&1 || echo {} >>$tmp/failed"
if [ -s "$tmp/failed" ]; then
	for i in $(sort -n "$tmp/failed"); do
		echo "headers: FAIL $(cat "$tmp/t$i.what"): $(cat "$tmp/t$i.cmd" | cut -d' ' -f1-4)"
		head -8 "$tmp/t$i.log" | sed 's/^/    /'
	done
	echo "headers: $(wc -l <"$tmp/failed") of $n compiles fail"
	exit 1
fi
echo "headers: $(echo $headers | wc -w) public headers, each alone and all together in both orders, compile warning-free in $(echo $modes | wc -w) modes (gcc, clang: C11, C17, C2x, GNU; g++, clang++: C++17, C++20; -pedantic -Wall -Wextra -Werror): $n compiles"
