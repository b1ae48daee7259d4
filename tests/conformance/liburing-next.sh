#!/bin/sh
# SPDX-License-Identifier: MIT
# Usage: liburing-next.sh CACHE_DIR OUT_DIR
#
# The newest liburing headers for the SQE conformance test against every
# liburing helper (make check-liburing): Debian sid's liburing-dev and
# linux-libc-dev (whose uapi headers liburing.h needs: linux/blkdev.h),
# fetched by tests/kernels/fetch-debian.sh into the shared cache, then
# unpacked here, never installed:
#   OUT_DIR/root/usr/include      the headers
#   OUT_DIR/liburing-next.h       CONF_NEXT_HELPERS(X): every io_uring_prep_*
#                                 liburing.h defines, and CONF_NEXT_HAVE_<name>
#   OUT_DIR/version               the two packages (PACKAGE=VERSION)
#   OUT_DIR/stamp                 touched only when any of that changed
# A package that cannot be had fails, naming why (a copy fetched before is
# used, with a note, when the archive cannot be reached).
set -eu

cache=${1:?usage: liburing-next.sh CACHE_DIR OUT_DIR}
out=${2:?usage: liburing-next.sh CACHE_DIR OUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$(dirname "$out")"

die() {
	echo "check-liburing: ERROR: $*" >&2
	exit 1
}

"$here/../kernels/fetch-debian.sh" "$cache" debian-sid-headers >"$out.fetch" 2>"$out.fetch.err" || {
	cat "$out.fetch.err" >&2
	rm -f "$out.fetch" "$out.fetch.err"
	die "cannot fetch sid's liburing-dev and linux-libc-dev (above)"
}
grep -v '^  FETCH' "$out.fetch.err" >&2 || true
dir=$(tail -n 1 "$out.fetch")
rm -f "$out.fetch" "$out.fetch.err"
[ -f "$dir/version" ] || die "fetch-debian.sh gave $dir, which holds no version"
if [ -f "$out/stamp" ] && cmp -s "$dir/version" "$out/version"; then
	exit 0
fi

# Whole or not at all: a half-unpacked tree never sits under its name.
rm -rf "$out.tmp"
mkdir -p "$out.tmp/root"
for deb in "$dir"/*.deb; do
	dpkg-deb -x "$deb" "$out.tmp/root" || die "cannot unpack $deb"
done
h=$out.tmp/root/usr/include/liburing.h
[ -f "$h" ] || die "no usr/include/liburing.h in $(cat "$dir/version")"
[ -f "$out.tmp/root/usr/include/linux/io_uring.h" ] || die "no usr/include/linux/io_uring.h in $(cat "$dir/version")"
helpers=$(sed -n 's/^IOURINGINLINE void \(io_uring_prep_[a-z0-9_]*\)(.*/\1/p' "$h" | LC_ALL=C sort -u)
[ -n "$helpers" ] || die "$h defines no io_uring_prep_* helper (IOURINGINLINE void io_uring_prep_NAME(): the header's form changed?)"
major=$(sed -n 's/^#define IO_URING_VERSION_MAJOR \([0-9]*\)$/\1/p' "$out.tmp/root/usr/include/liburing/io_uring_version.h")
minor=$(sed -n 's/^#define IO_URING_VERSION_MINOR \([0-9]*\)$/\1/p' "$out.tmp/root/usr/include/liburing/io_uring_version.h")
[ -n "$major" ] && [ -n "$minor" ] || die "no IO_URING_VERSION_MAJOR/MINOR in liburing/io_uring_version.h"
{
	echo "/* From $(cat "$dir/version") by tests/conformance/liburing-next.sh. */"
	echo "#define CONF_NEXT_PACKAGES \"$(cat "$dir/version")\""
	echo "#define CONF_NEXT_VERSION \"$major.$minor\""
	echo "#define CONF_NEXT_HELPERS(X) \\"
	for f in $helpers; do
		echo "	X($f) \\"
	done
	echo "	/* end */"
	for f in $helpers; do
		echo "#define CONF_NEXT_HAVE_$f 1"
	done
} >"$out.tmp/liburing-next.h"
cp "$dir/version" "$out.tmp/version"
touch "$out.tmp/stamp"
rm -rf "$out"
mv "$out.tmp" "$out"
echo "  UNPACK  $(cat "$out/version") in $out ($(echo "$helpers" | wc -l) helpers)" >&2
