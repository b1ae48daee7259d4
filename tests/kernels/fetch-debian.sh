#!/bin/sh
# SPDX-License-Identifier: MIT
# Usage: fetch-debian.sh CACHE_DIR
#
# Puts the newest Debian Linux 6.1 cloud kernel the apt sources offer
# (linux-image-6.1.0-N-cloud-amd64-unsigned) under
# CACHE_DIR/PACKAGE_VERSION/ (vmlinuz, config) and prints the vmlinuz path
# as the last line.  A kernel already there is used again.  When no
# package can be had, it says why and exits 1: a missing kernel must fail
# the check, never skip it.
set -eu

cache=${1:?usage: fetch-debian.sh CACHE_DIR}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
pattern='^linux-image-6\.1\.0-[0-9]+-cloud-amd64-unsigned$'

die() {
	echo "check-kernels: ERROR: $*" >&2
	exit 1
}

# PACKAGE=VERSION of the newest: one apt-cache call (each costs seconds).
newest() {
	apt-cache search --names-only --full "$pattern" 2>/dev/null |
		awk '/^Package: / { p = $2 } /^Version: / { print p "=" $2 }' | sort -V | tail -n 1
}

# Offline, or the download failed, but fetched before: that copy is a real
# Debian 6.1 kernel, so use it, and say so.
use_cached() {
	old=$(for d in "$cache"/linux-image-6.1.0-*-cloud-amd64-unsigned_*; do echo "$d"; done | sort -V | tail -n 1)
	[ -f "$old/vmlinuz" ] || return 1
	echo "check-kernels: NOTE: $1; using the copy fetched before, in $old" >&2
	echo "$old/vmlinuz"
	exit 0
}

pv=$(newest)
if [ -z "$pv" ] && [ "$(id -u)" = 0 ]; then
	# A fresh machine may never have read its apt sources.
	echo "  APT     apt-get update (no linux-image-6.1.0-*-cloud-amd64-unsigned known yet)" >&2
	apt-get -q update >/dev/null 2>&1 || true
	pv=$(newest)
fi
if [ -z "$pv" ]; then
	use_cached "apt knows no linux-image-6.1.0-*-cloud-amd64-unsigned" || true
	die "no Debian 6.1 kernel: apt-cache knows no package matching $pattern" \
		"(is deb.debian.org bookworm in /etc/apt/sources.list*, and has apt-get update run?)"
fi
pkg=${pv%%=*}
ver=${pv#*=}
dir=$cache/${pkg}_$ver
if [ -f "$dir/vmlinuz" ]; then
	echo "$dir/vmlinuz"
	exit 0
fi

tmp=$cache/.fetch.$$
rm -rf "$tmp"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
echo "  FETCH   $pkg $ver (apt-get download)" >&2
# As root apt drops to the _apt user to download, which cannot write here.
if ! (cd "$tmp" && apt-get -q -o APT::Sandbox::User=root download "$pkg=$ver" >"$tmp/apt.log" 2>&1); then
	cat "$tmp/apt.log" >&2
	use_cached "apt-get download $pkg=$ver failed (above)" || true
	die "apt-get download $pkg=$ver failed (above), and no kernel was fetched before"
fi
deb=$(ls "$tmp"/*.deb)
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" --wildcards './boot/vmlinuz-*' './boot/config-*' ||
	die "$deb: cannot extract boot/vmlinuz-* with dpkg-deb"
mkdir -p "$dir"
mv "$tmp"/boot/vmlinuz-* "$dir/vmlinuz"
mv "$tmp"/boot/config-* "$dir/config"
echo "$dir/vmlinuz"
