#!/bin/bash
# SPDX-License-Identifier: MIT
#
# uring-sync tests, on generated trees.  The oracle is Debian's rsync: after
# a copy, rsync -aHAXn --itemize-changes SRC/ DST/ must list nothing; and
# compare.py checks what rsync does not (content, atimes, holes, leftovers).
#
#   run.sh BIN [--only test,test...] [--wrap CMD]
#
# --only runs those tests (for sanitizer and valgrind builds); --wrap runs
# every uring-sync under CMD (valgrind ...).  Every run of the
# tool has a time limit; what cannot be tested here is reported as SKIP.
set -u

BIN=$(realpath "$1")
shift
ONLY=
WRAP=()
while [ $# -gt 0 ]; do
	case $1 in
	--only) ONLY=",$2,"; shift ;;
	--wrap) WRAP=($2); shift ;;
	*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
HERE=$(dirname "$(realpath "$0")")
# Debian's interpreter: another python3 on PATH may not be readable by nobody.
PY=/usr/bin/python3
[ -x $PY ] || PY=python3
T=$(mktemp -d "${TMPDIR:-/tmp}/uring-sync-test.XXXXXX")
MOUNTS=()
cleanup() {
	for m in "${MOUNTS[@]}"; do umount -l "$m" 2>/dev/null; done
	chattr -R -i "$T" 2>/dev/null
	chmod -R u+rwx "$T" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
ROOT=0
[ "$(id -u)" = 0 ] && ROOT=1
LIMIT=${US_TEST_TIMEOUT:-60}
[ ${#WRAP[@]} -gt 0 ] && LIMIT=$((LIMIT * 5))
pass=0
fail=0
skip=0

ok() { echo "  PASS $1 ($(($(date +%s%N) / 1000000 - t0)) ms)"; pass=$((pass + 1)); }
bad() { echo "  FAIL $1: $2"; fail=$((fail + 1)); }
skip() { echo "  SKIP $1: $2"; skip=$((skip + 1)); }
mk() { $PY "$HERE/mktree.py" "$@"; }
# Under valgrind, its notes ("--PID-- WARNING: unhandled syscall 465": listxattrat, which
# uring-sync then does another way) are not uring-sync's output.
us() {
	if [ ${#WRAP[@]} = 0 ]; then
		timeout -k 5 "$LIMIT" "$BIN" "$@"
		return
	fi
	{ timeout -k 5 "$LIMIT" "${WRAP[@]}" "$BIN" "$@" 2>&1 1>&3 3>&- | grep -v '^--[0-9]*-- ' >&2
	  return "${PIPESTATUS[0]}"; } 3>&1
}

# same NAME SRC DST [compare.py flags]: compare.py first (it reads nothing
# before stat'ing it: atimes), then the rsync oracle.
same() {
	local out
	if ! out=$($PY "$HERE/compare.py" "$2" "$3" "${@:4}" 2>&1); then
		bad "$1" "compare.py: $out"
		return 1
	fi
	out=$(rsync -aHAXn --itemize-changes "$2/" "$3/" 2>&1)
	if [ -n "$out" ]; then
		bad "$1" "rsync -aHAXn --itemize-changes lists: $(echo "$out" | head -5)"
		return 1
	fi
	return 0
}

snapshot() { $PY "$HERE/compare.py" --snapshot "$1"; }

temps() { find "$1" -name '.~us-*' ! -name '.~us-0123456789abcdef' | head -3; }

# --- option handling ------------------------------------------------------------------

t_help() {
	local h missing=
	h=$("$BIN" --help) || { bad help "--help fails"; return; }
	for o in $(grep -o '{ "[a-z-]*", ' "$HERE/../../tools/uring-sync/opts.c" | cut -d'"' -f2); do
		grep -q -- "--$o" <<<"$h" || missing+=" --$o"
	done
	[ -z "$missing" ] || { bad help "--help does not document:$missing"; return; }
	grep -q "Usage: uring-sync" <<<"$h" || { bad help "no usage line"; return; }
	ok "help: --help documents every option"
}

t_usage() {
	local rc
	"$BIN" >/dev/null 2>&1; rc=$?
	[ $rc = 2 ] || { bad usage "no arguments: exit $rc, want 2"; return; }
	"$BIN" --jobs 0 a b >/dev/null 2>&1; rc=$?
	[ $rc = 2 ] || { bad usage "--jobs 0: exit $rc, want 2"; return; }
	"$BIN" --bogus a b >/dev/null 2>&1; rc=$?
	[ $rc = 2 ] || { bad usage "unknown option: exit $rc, want 2"; return; }
	"$BIN" "$T/nonexistent" "$T/x" 2>"$T/err"; rc=$?
	[ $rc = 2 ] && grep -q "nonexistent" "$T/err" || { bad usage "missing SRC: exit $rc"; return; }
	[ ! -e "$T/x" ] || { bad usage "DST made although SRC is missing"; return; }
	ok "usage: bad arguments exit 2 with a message"
}

# uring-sync's sources call only downward, and none is over 700 lines.
t_layers() {
	local out
	out=$($PY "$HERE/layers.py" --cc "${CC:-cc}" 2>&1) || { bad layers "$out"; return; }
	ok "layers: $out"
}

# --- fidelity ----------------------------------------------------------------------------

t_odd() {
	local before after out
	mk odd "$T/odd" || { bad odd "mktree failed"; return; }
	us "$T/odd/" "$T/odd-copy" 2>"$T/err" || { bad odd "exit $?: $(head -3 "$T/err")"; return; }
	same odd "$T/odd" "$T/odd-copy" || return
	[ -s "$T/err" ] && { bad odd "stderr not empty: $(head -3 "$T/err")"; return; }
	ok "odd tree: every file type, odd names, modes, times (atime too), xattrs, ACLs, hard links, holes"
	[ $ROOT = 1 ] || skip devices "device nodes, owners, trusted.* and security.capability need root"

	# A second run over a finished copy changes nothing.
	before=$(snapshot "$T/odd-copy")
	out=$(us -v "$T/odd/" "$T/odd-copy" 2>/dev/null) || { bad rerun "exit $?"; return; }
	after=$(snapshot "$T/odd-copy")
	[ -z "$(grep -v '^uring-sync:' <<<"$out")" ] || { bad rerun "-v lists changes: $(head -3 <<<"$out")"; return; }
	[ "$before" = "$after" ] || { bad rerun "entries changed: $(diff <(echo "$before") <(echo "$after") | head -4)"; return; }
	ok "rerun: a second run changes nothing (inode, ctime, mtime of every entry kept)"
}

t_update() {
	local s=$T/odd d=$T/odd-copy out
	# Changes of every kind in the source.
	printf 'new content\n' >"$s/files/small"
	touch -d '2010-05-06 07:08:09.123456789' "$s/files/chunk"	# same size, new mtime
	chmod 600 "$s/files/readonly"
	setfattr -n user.added -v yes "$s/xattr/acl-only"
	setfattr -x user.one "$s/xattr/plain"
	setfacl -m u:daemon:rwx "$s/xattr/acl-default"
	rm "$s/links/rel" && ln -s ../files/chunk "$s/links/rel"
	rm "$s/hard/pair" && mkdir "$s/hard/pair" && echo in >"$s/hard/pair/f"	# a file becomes a directory
	rmdir "$s/dirs/empty" && echo now a file >"$s/dirs/empty"		# a directory becomes a file
	ln "$s/files/multi" "$s/hard/new-link"					# a new hard link
	echo leftover >"$d/.~us-00000000deadbeef"				# a killed run's temporary
	us "$s/" "$d" 2>"$T/err" || { bad update "exit $?: $(head -3 "$T/err")"; return; }
	same update "$s" "$d" --no-atime || return
	ok "update: changed content, times, modes, xattrs, ACLs, links and types are brought over; leftovers removed"
}

t_checksum() {
	local s=$T/ck d=$T/ck-copy
	mkdir -p "$s" && echo aaaa >"$s/f" && echo same >"$s/g"
	us "$s/" "$d" || { bad checksum "copy: exit $?"; return; }
	echo bbbb >"$d/f" && touch -r "$s/f" "$d/f"	# same size and mtime, other content
	us "$s/" "$d" || { bad checksum "rerun: exit $?"; return; }
	[ "$(cat "$d/f")" = bbbb ] || { bad checksum "the quick check should have skipped f"; return; }
	us -v -c "$s/" "$d" >"$T/out" 2>/dev/null || { bad checksum "-c: exit $?"; return; }
	[ "$(cat "$d/f")" = aaaa ] || { bad checksum "-c did not fix f"; return; }
	grep -q "update  f" "$T/out" && ! grep -q " g$" "$T/out" || { bad checksum "-c -v output: $(cat "$T/out")"; return; }
	same checksum "$s" "$d" --no-atime || return
	ok "checksum: the quick check skips same size and mtime; -c compares content"
}

t_dryrun() {
	local s=$T/odd before after
	us -n "$s/" "$T/dry" >"$T/out" || { bad dry-run "exit $?"; return; }
	[ ! -e "$T/dry" ] || { bad dry-run "-n made DST"; return; }
	grep -qFx "copy    files/chunk+1" "$T/out" || { bad dry-run "-n does not list files/chunk+1"; return; }
	echo changed >"$s/files/small"
	before=$(snapshot "$T/odd-copy")
	us -n "$s/" "$T/odd-copy" >"$T/out" || { bad dry-run "exit $?"; return; }
	after=$(snapshot "$T/odd-copy")
	[ "$before" = "$after" ] || { bad dry-run "-n changed DST"; return; }
	grep -q "^update  files/small$" "$T/out" || { bad dry-run "-n does not list the change: $(cat "$T/out")"; return; }
	[ "$(wc -l <"$T/out")" = 1 ] || { bad dry-run "-n lists more than the change: $(cat "$T/out")"; return; }
	us "$s/" "$T/odd-copy" || { bad dry-run "the real run fails"; return; }
	ok "dry-run: changes nothing, lists what would change"
}

t_verify() {
	us --verify -j 2 "$T/odd/" "$T/verified" 2>"$T/err" || { bad verify "exit $?: $(head -3 "$T/err")"; return; }
	same verify "$T/odd" "$T/verified" || return
	ok "verify: --verify copies pass the read-back compare"
}

t_jobs() {
	for j in 1 3; do
		us -j $j "$T/odd/" "$T/jobs$j" 2>"$T/err" || { bad jobs "-j $j: exit $?: $(head -3 "$T/err")"; return; }
		same "jobs -j $j" "$T/odd" "$T/jobs$j" || return
	done
	ok "jobs: -j 1 and -j 3 make the same copy"
}

# Every op uring-sync uses, disabled in safer-ring: the syscall paths make the same copy.
t_fallback() {
	local ops=statx,openat,openat2,close,read,write,fsync,mkdirat,symlinkat,linkat,renameat,unlinkat
	ops+=,splice,ftruncate,fallocate,fadvise,fgetxattr,fsetxattr,getxattr,setxattr
	SR_DISABLE=$ops us --verify "$T/odd/" "$T/fallback" 2>"$T/err" || { bad fallback "exit $?: $(head -3 "$T/err")"; return; }
	same fallback "$T/odd" "$T/fallback" || return
	SR_DISABLE=ftruncate,linkat,fsetxattr,getxattr us -j 3 "$T/odd/" "$T/fallback2" 2>"$T/err" ||
		{ bad fallback "exit $?: $(head -3 "$T/err")"; return; }
	same fallback "$T/odd" "$T/fallback2" || return
	ok "fallback: with the io_uring ops disabled (SR_DISABLE, all or some), the syscalls make the same copy"
}

# --- scale ---------------------------------------------------------------------------------

t_many() {
	mk many "$T/many/flat" 10000 && mk wide "$T/many/wide" 300 5 && mk deep "$T/many/deep" 100 &&
		mk sparse "$T/many/sparse" || { bad many "mktree failed"; return; }
	us "$T/many/" "$T/many-copy" 2>"$T/err" || { bad many "exit $?: $(head -3 "$T/err")"; return; }
	same many "$T/many" "$T/many-copy" || return
	ok "scale: 10,000 small files in one directory, 300 directories, depth 100, a 4 GiB sparse file"
}

t_limits() {
	local rc s=$T/many
	# The scale tree when it ran before, else a smaller one.
	[ -d "$s" ] || { s=$T/lim && mk many "$s/flat" 3000 && mk big "$s/big" 40; } || { bad limits "mktree failed"; return; }
	(ulimit -n 48 && us --max-open 30 -j 2 --max-memory 1M "$s/" "$T/limited") 2>"$T/err"; rc=$?
	[ $rc = 0 ] || { bad limits "exit $rc: $(head -3 "$T/err")"; return; }
	same limits "$s" "$T/limited" --no-atime || return
	(ulimit -n 20 && us "$T/odd/" "$T/limited2") 2>"$T/err"; rc=$?
	[ $rc = 0 ] || { bad limits "ulimit -n 20: exit $rc: $(head -3 "$T/err")"; return; }
	ok "limits: ulimit -n 48 with --max-open 30 --max-memory 1M, and ulimit -n 20, copy everything"
}

# The dry run's summary counts what the real run then does (touch one file, append to another...).
t_drysum() {
	local s=$T/ds d=$T/ds-copy dry real
	mkdir -p "$s/sub" && for i in 1 2 3; do echo $i >"$s/f$i"; done && echo g >"$s/sub/g" && ln -s f1 "$s/l"
	us "$s/" "$d" || { bad drysum "copy: exit $?"; return; }
	touch "$s/f1" && echo more >>"$s/sub/g" && echo new >"$s/new" && chmod 600 "$s/f2" && rm "$d/f3"
	dry=$(us -n -v "$s/" "$d" 2>&1 >/dev/null | sed 's/^uring-sync: dry run, would be: //; s/ ([^)]*)//; s/, [0-9.]* s$//')
	real=$(us -v "$s/" "$d" 2>&1 >/dev/null | sed 's/^uring-sync: //; s/ ([^)]*)//; s/, [0-9.]* s$//')
	[ -n "$real" ] && [ "$dry" = "$real" ] || { bad drysum "dry run says '$dry', the real run '$real'"; return; }
	grep -q "^4 copied, 0 linked, 0 other entries made, [12] updated, 0 deleted" <<<"$real" || { bad drysum "real run: $real"; return; }
	ok "drysum: -n -v counts what the real run does ($real)"
}

# --delete -n lists what would go (rsync -n lists the same) and removes nothing.
t_drydelete() {
	local s=$T/dd d=$T/dd-copy want got
	mkdir -p "$s" "$d/gone/deep" && echo a >"$s/a" && echo x >"$d/x" && echo y >"$d/gone/deep/y" && ln -s a "$d/l"
	want=$(rsync -an -v --delete "$s/" "$d/" | sed -n 's/^deleting //p' | sort)
	got=$(us -n --delete "$s/" "$d" | sed -n 's/^delete  //p' | sort)
	[ "$want" = "$got" ] || { bad drydelete "rsync -n would delete '$want', uring-sync -n '$got'"; return; }
	[ -e "$d/gone/deep/y" ] && [ -e "$d/x" ] || { bad drydelete "-n deleted something"; return; }
	us --delete "$s/" "$d" || { bad drydelete "exit $?"; return; }
	[ "$(ls -A "$d")" = a ] || { bad drydelete "left: $(ls -A "$d")"; return; }
	ok "drydelete: --delete -n lists what rsync -n lists ($(wc -l <<<"$got") entries) and deletes nothing; --delete does"
}

# Every way of copying content makes the same copy, and -v says which one each file took.
t_methods() {
	local m out
	for m in read-write splice copy_file_range clone; do
		out=$(URING_SYNC_COPY=$m us -v "$T/odd/" "$T/method-$m" 2>"$T/err") || { bad methods "$m: exit $?: $(head -3 "$T/err")"; return; }
		same "methods $m" "$T/odd" "$T/method-$m" || return
	done
	grep -q "^copy    multi	(copy_file_range" <<<"$(URING_SYNC_COPY=copy_file_range us -v "$T/odd/files/" "$T/method-v" 2>/dev/null)" ||
		{ bad methods "-v does not say copy_file_range"; return; }
	out=$(us -v --direct "$T/odd/" "$T/method-direct" 2>/dev/null) || { bad methods "--direct: exit $?"; return; }
	same "methods --direct" "$T/odd" "$T/method-direct" || return
	grep -q "files/direct	(read/write, O_DIRECT, preallocated)" <<<"$out" && grep -q "sparse/holes	(.*holes kept)" <<<"$out" ||
		{ bad methods "-v --direct says: $(grep files/direct <<<"$out")"; return; }
	ok "methods: read/write, splice, copy_file_range, clone (or its fallback) and --direct make the same copy; -v names each"
}

# --stats: rsync's figures.
t_stats() {
	local out
	out=$(us --stats "$T/odd/" "$T/stats") || { bad stats "exit $?"; return; }
	grep -q "^Number of files: [0-9,]* (reg: [0-9,]*, dir: [0-9,]*, link: [0-9,]*" <<<"$out" &&
		grep -q "^Number of regular files transferred: [0-9,]*$" <<<"$out" && grep -q "^total size is [0-9,]*$" <<<"$out" ||
		{ bad stats "$(head -5 <<<"$out")"; return; }
	ok "stats: --stats prints rsync's figures"
}

# --partial: a copy stopped by a signal keeps what it wrote, never under the final name; the next
# run copies only the rest.
t_partial() {
	local s=$T/pt d=$T/pt-copy pid rc kept lit
	mk big "$s" 256 || { bad partial "mktree failed"; return; }
	# Through the ring (copy_file_range would be done before the signal comes).
	URING_SYNC_COPY=read-write "${WRAP[@]}" "$BIN" -j 2 --partial "$s/" "$d" 2>"$T/err" &
	pid=$!
	for i in $(seq 1 400); do
		[ -d "$d" ] && break
		sleep 0.005
	done
	sleep 0.05
	kill -TERM $pid 2>/dev/null
	wait $pid; rc=$?
	if [ -e "$d/big" ]; then
		cmp -s "$s/big" "$d/big" || { bad partial "a partial file under its final name"; return; }
		skip partial "the copy ended (exit $rc) before it could be stopped"
		return
	fi
	[ $rc = 4 ] || { bad partial "exit $rc after SIGTERM, want 4"; return; }
	kept=$(stat -c %s "$d/.~us-partial/big" 2>/dev/null) || { bad partial "nothing kept in .~us-partial"; return; }
	cmp -s -n "$kept" "$s/big" "$d/.~us-partial/big" || { bad partial "the kept part differs from the source"; return; }
	lit=$(us --partial --stats "$s/" "$d" | sed -n 's/^Literal data: \([0-9,]*\) bytes/\1/p' | tr -d ,)
	[ -n "$lit" ] && [ "$lit" -le $((256 * 1048576 - kept + 4096)) ] || { bad partial "the rerun copied $lit bytes, $kept were kept"; return; }
	[ ! -e "$d/.~us-partial" ] || { bad partial ".~us-partial left after the file was done"; return; }
	same partial "$s" "$d" --no-atime || return
	ok "partial: stopped with $kept bytes kept in .~us-partial (none under the final name); the rerun copied the other $lit"
}

# On a filesystem that shares blocks (btrfs, on a loop device), files are cloned: -v says so, the
# copy is the same, and its blocks are the source's.
t_clone() {
	local img=$T/btrfs.img m=$T/btrfs out shared
	[ $ROOT = 1 ] || { skip clone "needs root to mount a btrfs image"; return; }
	command -v mkfs.btrfs >/dev/null || { skip clone "mkfs.btrfs is missing (btrfs-progs)"; return; }
	truncate -s 300M "$img" && mkfs.btrfs -q "$img" >/dev/null 2>&1 && mkdir -p "$m" &&
		mount -o loop "$img" "$m" 2>/dev/null || { skip clone "cannot mount a btrfs image here"; return; }
	MOUNTS+=("$m")
	mk small "$m/src" && mk big "$m/src/big" 40 || { bad clone "mktree failed"; return; }
	out=$(us -v "$m/src/" "$m/dst" 2>"$T/err") || { bad clone "exit $?: $(head -3 "$T/err")"; return; }
	same clone "$m/src" "$m/dst" || return
	grep -q "^copy    big/big	(clone)$" <<<"$out" && ! grep -q "	(splice\|	(read/write" <<<"$out" ||
		{ bad clone "not every file was cloned: $(grep -v '(clone)' <<<"$out" | grep '	(' | head -3)"; return; }
	shared=$(btrfs filesystem du -s --raw "$m/dst" 2>/dev/null | awk 'NR == 2 { print $2 }')
	[ "$shared" = 0 ] || { bad clone "the copy has $shared bytes of its own"; return; }
	umount "$m" && MOUNTS=()
	ok "clone: on btrfs every file is cloned (FICLONE), sharing all its blocks with the source"
}

# --- rsync as the oracle ---------------------------------------------------------------------------

# A stale destination for the oracle: a copy of the tree with extra entries (for --delete),
# newer and older files (-u), entries of other types in the way, excluded names.
mkstale() {
	local d=$1
	cp -a "$T/or/src" "$d" && chmod -R u+w "$d" 2>/dev/null
	echo extra >"$d/extra-file" && mkdir -p "$d/extra-dir/sub" && echo e >"$d/extra-dir/sub/f"
	ln -s nowhere "$d/extra-link" && echo o >"$d/keep.o" && mkdir -p "$d/names/obj" && echo o >"$d/names/obj/a.o"
	echo newer >"$d/files/small" && touch -d 2030-01-01 "$d/files/small"
	echo older >"$d/files/readonly" && touch -d 2000-01-01 "$d/files/readonly"
	printf 'same size, same time' >"$d/files/samesize" && touch -d 2011-01-01 "$d/files/samesize"
	rm -rf "$d/dirs/empty" && echo file >"$d/dirs/empty"
	rm -f "$d/links/dangling" && mkdir "$d/links/dangling"
	chmod 600 "$d/hard/pair" && touch -d 2001-01-01 "$d/xattr"
	chmod -R u-w "$d/dirs/readonly"
}

# oracle NAME "OPTIONS" [--stale] [--cmp FLAGS] [--noroot] SRC...: rsync and uring-sync with the
# same options and sources (relative to $T/or), each into its own destination (new, or a copy of
# the stale tree); then the two must not differ under rsync FLAGS --checksum --delete
# --itemize-changes (FLAGS: -aHAXn; without -t where times are not kept).  Exit statuses match:
# 0 and 0, or rsync's 23/24 (some files failed) and 1.
oracle() {
	local name=$1 opts=$2 stale=0 cmp=-aHAXn noroot=0 rs us rrc urc out
	shift 2
	while [ $# -gt 0 ]; do
		case $1 in
		--stale) stale=1 ;;
		--cmp) cmp=$2; shift ;;
		--noroot) noroot=1 ;;
		*) break ;;
		esac
		shift
	done
	rs=$T/or/rs-$name us=$T/or/us-$name
	if [ $stale = 1 ]; then
		[ -d "$T/or/stale" ] || mkstale "$T/or/stale" || { bad "oracle $name" "cannot make the stale tree"; return 1; }
		cp -a "$T/or/stale" "$rs" && cp -a "$T/or/stale" "$us" || { bad "oracle $name" "cp -a failed"; return 1; }
	fi
	(cd "$T/or" && rsync $opts "$@" "$rs/" >/dev/null 2>"$T/or/rs.err"); rrc=$?
	(cd "$T/or" && us $opts "$@" "$us/" >/dev/null 2>"$T/or/us.err"); urc=$?
	case $rrc/$urc in
	0/0 | 23/1 | 24/1) ;;
	*) bad "oracle $name" "rsync $opts exits $rrc, uring-sync $urc: $(head -2 "$T/or/us.err")"; return 1 ;;
	esac
	out=$(rsync $cmp --checksum --delete --itemize-changes "$rs/" "$us/" 2>&1)
	[ $noroot = 0 ] || out=$(grep -v ' \./$' <<<"$out")
	[ -z "$out" ] || { bad "oracle $name" "uring-sync $opts $* differs from rsync: $(head -4 <<<"$out")"; return 1; }
	oracle_n=$((oracle_n + 1))
	return 0
}

t_oracle() {
	local nt=-rlpgoDHAXn
	oracle_n=0
	mkdir -p "$T/or" && mk small "$T/or/src" || { bad oracle "mktree failed"; return; }
	# Paths: SRC/ is its contents, SRC itself, one file, several, merged, options after operands.
	oracle contents "-aHAX" src/ || return
	oracle named "-aHAX" --noroot src || return
	oracle file "-aHAX" --noroot src/files/small || return
	oracle several "-aHAX" --noroot src/files src/links src/names/-rf || return
	oracle merged "-aHAX" src/dirs/ src/files/ src/xattr/ || return
	oracle dot "-aHAX" src/files/. || return
	# What is kept.
	oracle a "-a" --stale src/ || return
	oracle r "-r" --stale --cmp $nt src/ || return
	oracle rl "-rl" --stale --cmp $nt src/ || return
	oracle rlt "-rlt" --stale src/ || return
	oracle rp "-rp" --stale --cmp $nt src/ || return
	oracle rpgo "-rpgo" --cmp $nt src/ || return
	oracle rtD "-rtD" src/ || return
	oracle rtH "-rtH" src/ || return
	oracle aH "-aH" src/ || return
	oracle aA "-aA" --stale src/ || return
	oracle aX "-aX" --stale src/ || return
	oracle no-owner "-aHAX --no-o --no-g --no-D" src/ || return
	oracle no-times "-aHAX --no-times" --stale --cmp $nt src/ || return
	# What is copied.
	oracle update "-aHAXu" --stale src/ || return
	oracle checksum "-aHAXc" --stale src/ || return
	oracle delete "-aHAX --delete" --stale src/ || return
	oracle delete-named "-aHAX --delete" --stale --noroot src/files src/links || return
	oracle exclude "-aHAX --delete --exclude=*.o --exclude=/files/chunk* --exclude=dirs/**/d7" --stale src/ || return
	oracle exclude-dir "-aHAX --delete --exclude=d3/ --exclude=?ard" --stale src/ || return
	oracle include "-aHAX --include=*/ --include=*l* --exclude=*" src/ || return
	oracle include-tree "-aHAX --include=/files/*** --exclude=*" src/ || return
	oracle filter "-aHAX --filter=-_*one* --filter=+_/xattr --filter=-_/x*" src/ || return
	oracle delete-excluded "-aHAX --delete-excluded --exclude=*.o --exclude=names/" --stale src/ || return
	oracle link-dest "-aHAX --link-dest=../rs-contents" src/ || return
	local lr lu
	lr=$(find "$T/or/rs-link-dest" -type f -links +1 | wc -l) lu=$(find "$T/or/us-link-dest" -type f -links +1 | wc -l)
	[ "$lr" = "$lu" ] && [ "$lu" -gt 10 ] || { bad "oracle link-dest" "rsync hard linked $lr files, uring-sync $lu"; return; }
	printf '%s\n' '# a comment' '- *.o' '' '+ /files/' '- /*/*' >"$T/or/rules"
	oracle exclude-from "-aHAX --exclude-from=rules --delete" --stale src/ || return
	oracle one-file-system "-aHAXx" src/ || return
	ok "oracle: rsync and uring-sync make the same destination in $oracle_n cases (paths, -a -r -l -p -t -g -o -D -H -A -X, --no-*, -u, -c, --delete, filters, --link-dest, -x)"
}

# --- interruption ------------------------------------------------------------------------------

# Start a copy, and once some files are in place (or after 5 s at most),
# send the signal to the process itself (not to a shell or timeout around it).
interrupt() {
	local sig=$1 s=$2 d=$3 pid i
	"${WRAP[@]}" "$BIN" -j 2 "$s/" "$d" 2>"$T/err" &
	pid=$!
	for i in $(seq 1 1000); do
		[ -n "$(ls -A "$d/flat" 2>/dev/null | head -1)" ] && break
		sleep 0.005
	done
	kill -"$sig" $pid 2>/dev/null || { wait $pid; return 99; }
	{ wait $pid; } 2>/dev/null	# without bash's "Killed" notice
}

t_interrupt() {
	local s=$T/int rc n pid
	mk many "$s/flat" 4000 && mk big "$s/big" 64 || { bad interrupt "mktree failed"; return; }
	interrupt KILL "$s" "$T/int-copy"; rc=$?
	[ $rc != 99 ] || { bad interrupt "the copy finished before it could be killed"; return; }
	n=$(find "$T/int-copy" -type f | wc -l)
	[ "$n" -lt 4001 ] || { bad interrupt "killed too late: everything was copied"; return; }
	$PY "$HERE/compare.py" --partial "$s" "$T/int-copy" >"$T/out" ||
		{ bad interrupt "after kill -9: $(head -3 "$T/out")"; return; }
	us "$s/" "$T/int-copy" 2>"$T/err" || { bad interrupt "rerun: exit $?: $(head -3 "$T/err")"; return; }
	same interrupt "$s" "$T/int-copy" --no-atime || return
	ok "interrupt: killed mid-copy ($n of 4001 files in place, none partial), a rerun ends identical"

	# SIGTERM: a background job of a non-interactive shell ignores SIGINT.
	interrupt TERM "$s" "$T/int-copy2"; rc=$?
	[ $rc != 99 ] || { bad sigterm "the copy finished before the signal"; return; }
	[ $rc = 4 ] || { bad sigterm "exit $rc after SIGTERM, want 4: $(head -3 "$T/err")"; return; }
	[ -z "$(temps "$T/int-copy2")" ] || { bad sigterm "temporaries left: $(temps "$T/int-copy2")"; return; }
	$PY "$HERE/compare.py" --partial "$s" "$T/int-copy2" >"$T/out" ||
		{ bad sigterm "after SIGTERM: $(head -3 "$T/out")"; return; }
	us "$s/" "$T/int-copy2" || { bad sigterm "rerun: exit $?"; return; }
	same sigterm "$s" "$T/int-copy2" --no-atime || return
	ok "sigterm: stops with exit 4, no temporaries and no partial file left, a rerun ends identical"

	# Stopped while large files are split in ranges over the workers.
	for i in 1 2 3 4 5 6; do mk big "$T/ranges/b$i" 48 || { bad sigterm-ranges "mktree failed"; return; }; done
	"${WRAP[@]}" "$BIN" -j 2 "$T/ranges/" "$T/ranges-copy" 2>"$T/err" &
	pid=$!
	sleep 0.15
	kill -TERM $pid 2>/dev/null
	wait $pid; rc=$?
	[ $rc = 4 ] || [ $rc = 0 ] || { bad sigterm-ranges "exit $rc: $(head -3 "$T/err")"; return; }
	$PY "$HERE/compare.py" --partial "$T/ranges" "$T/ranges-copy" >"$T/out" || { bad sigterm-ranges "$(head -3 "$T/out")"; return; }
	us "$T/ranges/" "$T/ranges-copy" && same sigterm-ranges "$T/ranges" "$T/ranges-copy" --no-atime || return
	ok "sigterm-ranges: stopped while large files were split between workers (exit $rc), a rerun ends identical"
}

# --- SIGUSR1: the rings on stderr ----------------------------------------------------------------

# A copy in progress gets SIGUSR1 (text, then URING_SYNC_DUMP=json): each
# worker writes its ring's state to stderr from its own loop, the JSON
# parses, and the copy goes on to the end, identical.
t_dump() {
	local s=$T/int fmt pid i rc d n
	[ -d "$s/flat" ] || { mk many "$s/flat" 4000 && mk big "$s/big" 64; } || { bad dump "mktree failed"; return; }
	for fmt in text json; do
		d=$T/dump-$fmt
		URING_SYNC_DUMP=$fmt "${WRAP[@]}" "$BIN" -j 2 "$s/" "$d" 2>"$T/dump.err" &
		pid=$!
		for i in $(seq 1 1000); do
			[ -n "$(ls -A "$d/flat" 2>/dev/null | head -1)" ] && break
			sleep 0.005
		done
		kill -USR1 $pid 2>/dev/null || { wait $pid; skip dump "the copy finished before SIGUSR1 ($fmt)"; return; }
		wait $pid; rc=$?
		[ $rc = 0 ] || { bad dump "$fmt: exit $rc after SIGUSR1: $(head -3 "$T/dump.err")"; return; }
		n=$(grep -c "^uring-sync: worker [0-9]*: ring (SIGUSR1)" "$T/dump.err")
		[ "$n" -ge 1 ] || { bad dump "$fmt: no ring dumped: $(head -3 "$T/dump.err")"; return; }
		if [ $fmt = text ]; then
			grep -q "^ring backend=" "$T/dump.err" && grep -q "^fallback active=" "$T/dump.err" ||
				{ bad dump "text: not a dump: $(head -5 "$T/dump.err")"; return; }
		else
			grep '^{' "$T/dump.err" | $PY -c '
import json, sys
n = 0
for line in sys.stdin:
    d = json.loads(line)
    assert d["backend"] in ("io_uring", "fallback") and d["inflight"] == len(d["ops"]), line[:200]
    for o in d["ops"]:
        assert o["state"] in ("queued", "inflight", "done") and o["op"], o
        assert o["state"] == "queued" or "age_us" in o or o["route"] != "native", o
    n += 1
assert n == int(sys.argv[1]), (n, sys.argv[1])
' "$n" 2>"$T/dump.py" || { bad dump "json: $(tail -3 "$T/dump.py")"; return; }
		fi
		same dump "$s" "$d" --no-atime || return
	done
	ok "dump: SIGUSR1 mid-copy dumps each worker's ring (text, and JSON that parses, with ages), the copy ends identical"
}

# --- failures -------------------------------------------------------------------------------------

t_errors() {
	local s=$T/err-src d=$T/err-copy rc
	mkdir -p "$s/sub" && echo one >"$s/a" && echo two >"$s/b" && echo three >"$s/sub/c" && echo four >"$s/d"
	us "$s/" "$d" || { bad errors "copy: exit $?"; return; }
	echo changed-a >"$s/a" && echo changed-b >"$s/b" && echo changed-c >"$s/sub/c"
	rm "$d/d" && mkdir -p "$d/d/full" 	# a non-empty directory in the way of a file
	if chattr +i "$d/a" 2>/dev/null; then
		us "$s/" "$d" 2>"$T/err"; rc=$?
		chattr -i "$d/a"
		[ $rc = 1 ] || { bad errors "exit $rc, want 1"; return; }
		grep -q "err-copy/a: .*Operation not permitted" "$T/err" ||
			{ bad errors "no message with the path and reason: $(cat "$T/err")"; return; }
	else
		us "$s/" "$d" 2>"$T/err"; rc=$?
		skip errors-immutable "chattr +i does not work on $T"
		echo changed-a >"$d/a"
	fi
	grep -q "err-copy/d: .*non-empty directory" "$T/err" ||
		{ bad errors "no message for the directory in the way: $(cat "$T/err")"; return; }
	[ "$(cat "$d/b")" = changed-b ] && [ "$(cat "$d/sub/c")" = changed-c ] ||
		{ bad errors "the rest was not copied"; return; }
	ok "errors: each failure reported with path and reason, the rest copied, exit 1"
}

# As a user who is not root (nobody when the tests run as root; else the user running them).
t_nonroot() {
	local u=nobody n=$T/nonroot rc run=() who
	if [ $ROOT = 1 ]; then
		command -v setpriv >/dev/null || { skip nonroot "setpriv is missing"; return; }
		mkdir -p "$n" && chown $u: "$n" && chmod 755 "$T"
		run=(setpriv --reuid=$u --regid=nogroup --clear-groups --)
		who="as nobody"
	else
		mkdir -p "$n"
		who="as $(id -un)"
	fi
	"${run[@]}" $PY "$HERE/mktree.py" odd "$n/src" 2>"$T/err" || { bad nonroot "mktree: $(head -3 "$T/err")"; return; }
	"${run[@]}" chmod 000 "$n/src/files/none"
	"${run[@]}" timeout "$LIMIT" "${WRAP[@]}" "$BIN" "$n/src/" "$n/dst" 2>"$T/err"; rc=$?
	[ $rc = 1 ] || { bad nonroot "exit $rc, want 1 (files/none is unreadable)"; return; }
	grep -q "src/files/none: open: Permission denied" "$T/err" ||
		{ bad nonroot "no message for the unreadable file: $(cat "$T/err")"; return; }
	[ "$(grep -c . "$T/err")" = 1 ] || { bad nonroot "more than the one failure: $(head -3 "$T/err")"; return; }
	"${run[@]}" chmod 600 "$n/src/files/none"
	"${run[@]}" timeout "$LIMIT" "${WRAP[@]}" "$BIN" "$n/src/" "$n/dst" 2>"$T/err" ||
		{ bad nonroot "rerun: exit $?: $(head -3 "$T/err")"; return; }
	same nonroot "$n/src" "$n/dst" --no-atime || return
	# A change inside a directory that is read-only in the copy (mode 0555, from the source).
	"${run[@]}" sh -c "chmod u+w '$n/src/dirs/readonly' && echo new >'$n/src/dirs/readonly/new' &&
		chmod u-w '$n/src/dirs/readonly'" || { bad nonroot "cannot change the source"; return; }
	"${run[@]}" timeout "$LIMIT" "${WRAP[@]}" "$BIN" "$n/src/" "$n/dst" 2>"$T/err" ||
		{ bad nonroot "rerun into a read-only directory: exit $?: $(head -3 "$T/err")"; return; }
	same nonroot "$n/src" "$n/dst" --no-atime || return
	ok "nonroot: $who, an unreadable file is reported and skipped, the rest (ACLs, xattrs) copied"
}

t_nospace() {
	local s=$T/ns m=$T/full rc
	[ $ROOT = 1 ] || { skip nospace "needs root to mount a small tmpfs"; return; }
	mkdir -p "$m"
	mount -t tmpfs -o size=8m tmpfs "$m" 2>/dev/null || { skip nospace "cannot mount a tmpfs here"; return; }
	MOUNTS+=("$m")
	mk many "$s/flat" 200 && mk big "$s/big" 20 && mk many "$s/zz" 200 || { bad nospace "mktree failed"; return; }
	us "$s/" "$m/dst" 2>"$T/err"; rc=$?
	[ $rc = 3 ] || { bad nospace "exit $rc, want 3: $(head -3 "$T/err")"; return; }
	grep -q "no space left" "$T/err" || { bad nospace "no message: $(cat "$T/err")"; return; }
	[ "$(grep -c . "$T/err")" -le 2 ] || { bad nospace "more than one message: $(head -4 "$T/err")"; return; }
	$PY "$HERE/compare.py" --partial "$s" "$m/dst" >"$T/out" || { bad nospace "$(head -3 "$T/out")"; return; }
	[ -z "$(temps "$m/dst")" ] || { bad nospace "temporaries left"; return; }
	umount "$m" && MOUNTS=()
	ok "nospace: a full destination stops the copy cleanly (exit 3, one message, nothing partial)"
}

t_inside() {
	local s=$T/odd rc
	us "$s/" "$s/inside" 2>"$T/err"; rc=$?
	[ $rc = 2 ] && grep -q "inside the source" "$T/err" || { bad inside "DST in SRC: exit $rc"; return; }
	[ ! -e "$s/inside" ] || { bad inside "made $s/inside"; return; }
	us "$s/" "$s" 2>/dev/null; rc=$?
	[ $rc = 2 ] || { bad inside "DST = SRC: exit $rc"; return; }
	ln -s "$s/dirs" "$T/alias"
	us "$s/" "$T/alias/new" 2>/dev/null; rc=$?
	[ $rc = 2 ] || { bad inside "DST in SRC through a symlink: exit $rc"; return; }
	if [ $ROOT = 1 ] && mkdir -p "$T/bind" && mount --bind "$s/dirs" "$T/bind" 2>/dev/null; then
		MOUNTS+=("$T/bind")
		us "$s/" "$T/bind/new" 2>/dev/null; rc=$?
		umount "$T/bind"
		[ $rc = 2 ] || { bad inside "DST in SRC through a bind mount: exit $rc"; return; }
	fi
	ok "inside: a destination inside the source is refused (by path, symlink, bind mount)"
}

t_onefs() {
	local s=$T/fs
	[ $ROOT = 1 ] || { skip one-file-system "needs root to mount a tmpfs"; return; }
	mkdir -p "$s/mnt" "$s/keep" && echo k >"$s/keep/f"
	mount -t tmpfs tmpfs "$s/mnt" 2>/dev/null || { skip one-file-system "cannot mount a tmpfs here"; return; }
	MOUNTS+=("$s/mnt")
	echo inner >"$s/mnt/inner"
	us -x "$s/" "$T/fs-x" || { bad one-file-system "-x: exit $?"; return; }
	us "$s/" "$T/fs-all" || { bad one-file-system "exit $?"; return; }
	umount "$s/mnt"
	[ -d "$T/fs-x/mnt" ] && [ -z "$(ls -A "$T/fs-x/mnt")" ] && [ -f "$T/fs-x/keep/f" ] ||
		{ bad one-file-system "-x crossed into the mount or lost the mount point"; return; }
	[ -f "$T/fs-all/mnt/inner" ] || { bad one-file-system "without -x the mount was not copied"; return; }
	ok "one-file-system: -x makes the mount point empty, without -x it is copied"
}

t_progress() {
	local out
	out=$(us "$T/odd/" "$T/quiet" 2>&1 >/dev/null)
	[ -z "$out" ] || { bad progress "not a terminal, yet stderr has: $(head -2 <<<"$out")"; return; }
	command -v script >/dev/null || { skip progress "script(1) is missing to fake a terminal"; return; }
	script -qec "$BIN $T/odd/ $T/tty" /dev/null >"$T/out" 2>&1
	grep -q "B / .*%  .*/s .*\(-chk=\|entries\)" "$T/out" || { bad progress "no progress line on a terminal: $(head -c 300 "$T/out")"; return; }
	ok "progress: a bar on a terminal, silent otherwise"
}

echo "uring-sync tests ($BIN${WRAP:+ under ${WRAP[*]}})"
start=$(date +%s)
# The order matters: later tests use the trees of earlier ones.
for t in help usage layers oracle odd update checksum dryrun drysum drydelete methods stats partial clone errors inside verify jobs fallback many limits interrupt dump nonroot \
	nospace onefs progress; do
	case $ONLY in
	"" | *,$t,*) ;;
	*) continue ;;
	esac
	t0=$(($(date +%s%N) / 1000000))
	t_$t
done
echo "uring-sync: pass=$pass fail=$fail skip=$skip ($(($(date +%s) - start)) s)"
[ $fail = 0 ]
