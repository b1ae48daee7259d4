#!/bin/sh
# SPDX-License-Identifier: MIT
# Usage: fetch-debian.sh CACHE_DIR NAME
#
# Fetches the newest Debian cloud kernel of one line into the cache and
# prints, as the last line, the directory that holds it:
#   vmlinuz    the bzImage
#   version    PACKAGE=VERSION it came from
#   config     the kernel's .config, when the packages carry it
#   modules/   the kernel's own TLS module and the crypto modules AES-GCM
#              records need (gcm, ctr, ghash and what they need), uncompressed,
#              and modules/order, the order to load them in (kTLS in the
#              guest, which has no modprobe); or tls.none saying why there is
#              none (5.10's cloud flavour is built without CONFIG_TLS)
#
#   NAME                  suite(s) asked                 package
#   debian-5.10           bullseye                       linux-image-5.10.0-N-cloud-amd64-unsigned
#   debian-6.1            bookworm, bookworm-security    linux-image-6.1.0-N-cloud-amd64-unsigned
#   debian-6.12           trixie, trixie-security        linux-image-6.12.N+deb13-cloud-amd64-unsigned
#   debian-sid            sid                            linux-binary-unsigned-7.N...-cloud-amd64
#                                                        (+ linux-modules-...)
#   debian-experimental   experimental                   the same, newest 7.x there
#   debian-sid-headers    sid                            liburing-dev and linux-libc-dev, the
#                                                        .deb files as they are (version names
#                                                        both); the caller unpacks them
#
# apt runs with a private configuration under CACHE_DIR/apt/SUITE (its own
# sources.list, lists and archive cache): the machine's apt sources are
# neither read nor changed, and nothing is installed.  Package lists are
# read again when older than KERNEL_APT_MAX_AGE seconds (default 21600),
# so "newest" stays current while reruns stay offline-fast.  Several
# worktrees may share CACHE_DIR: a lock per suite keeps them apart.
#
# When the download fails but a kernel of that line was fetched before, it
# is used, with a NOTE.  When none can be had, it says why and exits 1: a
# missing kernel fails the check, never skips it.
set -eu

cache=${1:?usage: fetch-debian.sh CACHE_DIR NAME}
name=${2:?usage: fetch-debian.sh CACHE_DIR NAME}
max_age=${KERNEL_APT_MAX_AGE:-21600}
mirror=${KERNEL_DEBIAN_MIRROR:-http://deb.debian.org}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

die() {
	echo "fetch-debian: ERROR: $name: $*" >&2
	exit 1
}

modules=""	# a separate modules package (sid, experimental)
marker=vmlinuz	# what a complete fetch of this line holds
case $name in
debian-5.10)
	# Not bullseye-security: bullseye is LTS there, and its index names
	# kernels (5.10.0-44..46) whose pool files the archive does not serve.
	suites="bullseye"
	image='^linux-image-5\.10\.0-[0-9]+-cloud-amd64-unsigned$' ;;
debian-6.1)
	suites="bookworm bookworm-security"
	image='^linux-image-6\.1\.0-[0-9]+-cloud-amd64-unsigned$' ;;
debian-6.12)
	suites="trixie trixie-security"
	image='^linux-image-6\.12\.[0-9]+\+deb13-cloud-amd64-unsigned$' ;;
debian-sid)
	suites="sid"
	image='^linux-binary-unsigned-[0-9]+\.[0-9.]+.*-cloud-amd64$'
	modules=linux-modules ;;
debian-experimental)
	suites="experimental"
	image='^linux-binary-unsigned-[0-9]+\.[0-9.]+.*-cloud-amd64$'
	modules=linux-modules ;;
debian-sid-headers)
	suites="sid"
	marker=version ;;
*)
	die "no such Debian line (debian-5.10, debian-6.1, debian-6.12, debian-sid, debian-experimental, debian-sid-headers)" ;;
esac
set -- $suites
main_suite=$1
state=$cache/apt/$main_suite
mkdir -p "$state/lists/partial" "$state/archives/partial"
command -v apt-get >/dev/null 2>&1 || die "apt-get is missing: the kernels come from Debian's archive"
[ -r "$keyring" ] || die "$keyring is missing (package debian-archive-keyring)"

# One fetcher per suite at a time, across worktrees sharing the cache.
exec 9>"$state/lock"
flock 9

: >"$state/sources.list"
for s in $suites; do
	case $s in
	*-security) printf 'deb [signed-by=%s] %s/debian-security %s main\n' "$keyring" "$mirror" "$s" ;;
	*) printf 'deb [signed-by=%s] %s/debian %s main\n' "$keyring" "$mirror" "$s" ;;
	esac >>"$state/sources.list"
done

apt_opts() {
	echo "-o Dir::Etc::SourceList=$state/sources.list -o Dir::Etc::SourceParts=/dev/null" \
		"-o Dir::State::Lists=$state/lists -o Dir::State::Status=/dev/null" \
		"-o Dir::Cache=$state -o Dir::Cache::archives=$state/archives" \
		"-o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=" \
		"-o APT::Sandbox::User=root -o Acquire::Languages=none -o Debug::NoLocking=1" \
		"-o Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false"
}

# Offline, or the download failed, but fetched before: that copy is a real
# Debian kernel of this line, so use it, and say so.
use_cached() {
	old=""
	for d in "$cache"/"$name"/*/; do
		[ -f "$d/$marker" ] && old=${d%/}
	done
	[ -n "$old" ] || return 1
	echo "fetch-debian: NOTE: $name: $1; using the copy fetched before, in $old" >&2
	echo "$old"
	exit 0
}

# Package lists: read again when missing or older than max_age.
stamp=$state/updated
fresh=no
if [ -f "$stamp" ] && [ $(( $(date +%s) - $(stat -c %Y "$stamp") )) -lt "$max_age" ]; then
	fresh=yes
fi
if [ "$fresh" = no ]; then
	echo "  APT     $name: apt-get update ($suites, private lists in $state)" >&2
	# shellcheck disable=SC2046
	if apt-get -q $(apt_opts) update >"$state/update.log" 2>&1 &&
		! grep -q '^\(W\|E\): Failed to fetch' "$state/update.log"; then
		touch "$stamp"
	else
		tail -5 "$state/update.log" >&2
		use_cached "apt-get update failed (above)" || true
		die "apt-get update of $suites failed (above), and nothing of this line was fetched before"
	fi
fi

# PACKAGE=VERSION of every match of $1, newest first: one apt-cache call.
candidates() {
	# shellcheck disable=SC2046
	apt-cache $(apt_opts) search --names-only --full "$1" 2>/dev/null |
		awk '/^Package: / { p = $2 } /^Version: / { print $2 "\t" p "=" $2 }' |
		sort -V -r | cut -f 2
}

# sid's newest liburing and uapi headers, for the SQE conformance test
# against liburing's newest helpers: the two packages as they are.
if [ "$name" = debian-sid-headers ]; then
	cands=$state/candidates.$name
	if [ "$fresh" = no ] || [ ! -s "$cands" ] || [ "$stamp" -nt "$cands" ]; then
		for p in liburing-dev linux-libc-dev; do
			candidates "^$p\$" | head -n 1
		done >"$cands.tmp"
		mv "$cands.tmp" "$cands"
	fi
	pvs=$(cat "$cands")
	[ "$(echo "$pvs" | wc -w)" = 2 ] || { use_cached "apt knows no liburing-dev or linux-libc-dev in $suites" || true;
		die "apt knows no liburing-dev or linux-libc-dev in $suites"; }
	dir=$cache/$name/$(echo $pvs | sed 's/ /_/g; s/=/-/g; s/[:~]/./g')
	if [ -f "$dir/version" ]; then
		echo "$dir"
		exit 0
	fi
	tmp=$cache/$name/.fetch.$$
	trap 'rm -rf "$tmp"' EXIT
	rm -rf "$tmp"
	mkdir -p "$tmp"
	echo "  FETCH   $name: $(echo $pvs) (apt-get download)" >&2
	# shellcheck disable=SC2046,SC2086
	if ! (cd "$tmp" && apt-get -q $(apt_opts) download $pvs >"$tmp/apt.log" 2>&1); then
		grep '^E:' "$tmp/apt.log" | head -n 2 >&2
		use_cached "apt-get download failed for $(echo $pvs)" || true
		die "apt-get download failed for $(echo $pvs), and nothing of this line was fetched before"
	fi
	rm -f "$tmp/apt.log"
	echo $pvs >"$tmp/version"
	rm -rf "$dir"
	mv "$tmp" "$dir"
	echo "$dir"
	exit 0
fi

# A package index can name a file its pool does not serve (seen with
# bullseye-security): then the next newest is taken, and the note says so.
tmp=$cache/$name/.fetch.$$
trap 'rm -rf "$tmp"' EXIT
tried=""
got=""
# The newest three, worked out once per reading of the lists (apt-cache
# takes seconds a call).
cands=$state/candidates.$name
if [ "$fresh" = no ] || [ ! -s "$cands" ] || [ "$stamp" -nt "$cands" ]; then
	candidates "$image" | head -n 3 >"$cands.tmp"
	mv "$cands.tmp" "$cands"
fi
for pv in $(cat "$cands"); do
	pkg=${pv%%=*}
	ver=${pv#*=}
	dir=$cache/$name/${pkg}_$ver
	if [ -f "$dir/vmlinuz" ] && { [ -f "$dir/modules/order" ] || [ -f "$dir/tls.none" ]; }; then
		[ -z "$tried" ] || echo "check-kernels: NOTE: $name: could not download$tried; using $pkg $ver" >&2
		echo "$dir"
		exit 0
	fi
	mpv=""
	if [ -n "$modules" ]; then
		# linux-binary-unsigned-7.2.13+deb14-cloud-amd64 -> linux-modules-7.2.13+deb14-cloud-amd64
		mpv=$modules-${pkg#linux-binary-unsigned-}=$ver
	fi
	rm -rf "$tmp"
	mkdir -p "$tmp/x"
	echo "  FETCH   $name: $pkg $ver${mpv:+ and ${mpv%%=*}} (apt-get download)" >&2
	# shellcheck disable=SC2046
	if (cd "$tmp" && apt-get -q $(apt_opts) download "$pkg=$ver" $mpv >"$tmp/apt.log" 2>&1); then
		got=$pv
		[ -z "$tried" ] || echo "check-kernels: NOTE: $name: could not download$tried; using $pkg $ver" >&2
		break
	fi
	grep '^E:' "$tmp/apt.log" | head -n 2 >&2
	tried="$tried $pkg=$ver"
done
if [ -z "$got" ]; then
	[ -n "$tried" ] || { use_cached "apt knows no package matching $image in $suites" || true;
		die "no package matching $image in $suites"; }
	use_cached "apt-get download failed for$tried" || true
	die "apt-get download failed for$tried, and no kernel of this line was fetched before"
fi
for deb in "$tmp"/*.deb; do
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp/x" --wildcards --no-wildcards-match-slash \
		'./boot/vmlinuz-*' './boot/config-*' './usr/lib/modules/*/vmlinuz*' './usr/lib/modules/*/config' \
		2>/dev/null || true
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp/x" --wildcards \
		'*/modules/*/kernel/net/tls/*' '*/modules/*/kernel/crypto/*' '*/modules/*/kernel/lib/*' \
		'*/modules/*/kernel/arch/x86/crypto/*' 2>/dev/null || true
done
vmlinuz=$(find "$tmp/x" -name 'vmlinuz*' -type f | head -n 1)
[ -n "$vmlinuz" ] || die "no vmlinuz in $pkg $ver"
mkdir -p "$tmp/out"
mv "$vmlinuz" "$tmp/out/vmlinuz"
config=$(find "$tmp/x" -name 'config*' -type f | head -n 1)
[ -z "$config" ] || mv "$config" "$tmp/out/config"
if [ -z "$(find "$tmp/x" -name 'tls.ko*' -type f | head -n 1)" ]; then
	tlsconf=$(grep -E '^(# )?CONFIG_TLS[ =]' "$tmp/out/config" 2>/dev/null || echo "no config in the package")
	echo "no net/tls/tls.ko in $pkg $ver ($tlsconf)" >"$tmp/out/tls.none"
else
	# Uncompressed (the guest's kernel may lack the decompressor), then
	# tls and the AES-GCM algorithms with everything they need, needs
	# first.  An algorithm a module asks for by name (gcm asks for
	# ctr(aes) and ghash) is no symbol dependency, so those are named.
	mkdir -p "$tmp/ko" "$tmp/out/modules"
	find "$tmp/x" -name '*.ko*' -type f | while read -r f; do
		b=$(basename "$f")
		case $b in
		*.ko.xz) xz -dc "$f" >"$tmp/ko/${b%.xz}" ;;
		*.ko.zst) zstd -qdc "$f" >"$tmp/ko/${b%.zst}" ;;
		*.ko.gz) gzip -dc "$f" >"$tmp/ko/${b%.gz}" ;;
		*.ko) cp "$f" "$tmp/ko/$b" ;;
		esac || die "cannot decompress $f"
	done
	${PYTHON:-/usr/bin/python3} - "$tmp/ko" "$tmp/out/modules" tls gcm ctr ghash-generic <<'PY' ||
import os, re, shutil, sys
src, dst, want = sys.argv[1], sys.argv[2], sys.argv[3:]
def norm(n):
    return n.replace("-", "_")
have = {norm(f[:-3]): f for f in os.listdir(src) if f.endswith(".ko")}
def deps(name):
    data = open(os.path.join(src, have[name]), "rb").read()
    m = re.search(rb"depends=([^\0]*)\0", data)
    return [norm(d) for d in (m.group(1).decode().split(",") if m and m.group(1) else [])]
order, seen = [], set()
def visit(n):
    n = norm(n)
    if n in seen:
        return
    seen.add(n)
    if n not in have:
        return  # built in (CONFIG_...=y)
    for d in deps(n):
        visit(d)
    order.append(n)
    shutil.copy(os.path.join(src, have[n]), os.path.join(dst, have[n]))
for w in want:
    visit(w)
if "tls" not in order:
    sys.exit("no tls module among the packages' modules")
with open(os.path.join(dst, "order"), "w") as f:
    f.write("".join(have[n] + "\n" for n in order))
PY
		die "cannot work out the TLS modules' load order"
fi
echo "$got${mpv:+ $mpv}" >"$tmp/out/version"
# Whole or not at all: a half-fetched kernel never sits under its name.
rm -rf "$dir"
mv "$tmp/out" "$dir"
echo "$dir"
