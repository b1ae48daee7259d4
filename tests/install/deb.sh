#!/bin/bash
# SPDX-License-Identifier: MIT
#
# make deb: build the Debian packages out of tree, check them with lintian,
# unpack them (dpkg -x; nothing is installed on this machine) and run what
# they ship from there.
#
#   deb.sh OUT
#
# OUT (e.g. build/deb) gets a copy of the source tree (the files git knows,
# as they are in the work tree), the build log, the .deb files, lintian's
# report and the unpacked packages in OUT/root.  The checkout is left as it
# was.  Run from the top of the source tree.
set -u
OUT=$(realpath -m "${1:?usage: deb.sh OUT}")
SRC=$(pwd)
T_NAME=deb
. tests/install/lib.sh
V=$(dpkg-parsechangelog -S Version) || fail "debian/changelog: no version"
ARCH=$(dpkg-architecture -qDEB_HOST_ARCH)
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
PKGS="libsafer-ring0 libsafer-ring-dev safer-ring-tools"
start=$(date +%s)

rm -rf "$OUT"
S=$OUT/safer-ring-$V
mkdir -p "$S"

# The tree as git sees it (tracked and new files, not ignored ones), or,
# outside git, everything but build output.
if git -C "$SRC" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git=1
	before=$(git -C "$SRC" status --porcelain)
	git -C "$SRC" ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do
			[ -e "$f" ] || [ -L "$f" ] && printf '%s\0' "$f"
		done | tar --null -T - -cf - | tar -xf - -C "$S" || fail "cannot copy the source tree"
else
	git=
	tar --exclude=./build --exclude=./generated/.stamp -cf - . | tar -xf - -C "$S" || fail "cannot copy the source tree"
fi

# nocheck: make check tests the result below, and more.
(cd "$S" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc) ${DEB_BUILD_OPTIONS:-}" dpkg-buildpackage -us -uc -b) >"$OUT/build.log" 2>&1 ||
	{ tail -40 "$OUT/build.log"; fail "dpkg-buildpackage -us -uc -b fails (log: $OUT/build.log)"; }
built=$(($(date +%s) - start))
if grep -E '^dpkg-shlibdeps: warning|^dh_[a-z_]+: warning' "$OUT/build.log"; then
	fail "the package build warns (above)"
fi
for p in $PKGS; do
	[ -f "$OUT/${p}_${V}_$ARCH.deb" ] || fail "${p}_${V}_$ARCH.deb was not built"
done
[ -z "$git" ] || [ "$(git -C "$SRC" status --porcelain)" = "$before" ] || fail "the package build changed the checkout"
note "dpkg-buildpackage -us -uc -b: $(cd "$OUT" && ls ./*.deb | sed 's|^\./||' | tr '\n' ' ')($built s)"

# Lintian: no errors.  Its warnings and notes are shown.
lintian --fail-on error --tag-display-limit 0 -I "$OUT/safer-ring_${V}_$ARCH.changes" >"$OUT/lintian.log" 2>&1
lrc=$?
grep -E '^[EWIPX]: ' "$OUT/lintian.log" | sed "s/^/$T_NAME: lintian: /"
[ $lrc = 0 ] || fail "lintian reports errors (exit $lrc, $OUT/lintian.log)"
note "lintian: $(grep -c '^E: ' "$OUT/lintian.log") errors, $(grep -c '^W: ' "$OUT/lintian.log") warnings"
# Every program has its page, and the pages are clean as lintian reads them.
! grep -E 'binary-without-manpage|manpage-has-|groff-message|bad-so-link|manual-page-' "$OUT/lintian.log" ||
	fail "lintian has something to say about the man pages (above)"

# What each package holds and needs.
contents() { dpkg -c "$OUT/${1}_${V}_$ARCH.deb" | awk '{print $6}' | sed 's|^\./|/|; s|/$||' | grep -v '^/usr/share/doc' | sort; }
want_lib="/usr/lib/$MA/libsafer-ring.so.0
/usr/lib/$MA/libsafer-ring.so.$V"
[ "$(contents libsafer-ring0 | grep -E '\.so|/bin/|/include/')" = "$want_lib" ] ||
	fail "libsafer-ring0 holds: $(contents libsafer-ring0 | tr '\n' ' ')"
for f in /usr/include/safer-ring.h /usr/include/safer-ring/api.h /usr/include/safer-ring/ring.h \
	/usr/lib/$MA/libsafer-ring.a /usr/lib/$MA/libsafer-ring.so /usr/lib/$MA/pkgconfig/safer-ring.pc; do
	contents libsafer-ring-dev | grep -qx "$f" || fail "libsafer-ring-dev lacks $f"
done
! contents libsafer-ring-dev | grep -q 'libsafer-ring\.so\.' || fail "libsafer-ring-dev holds the shared library"
[ "$(contents safer-ring-tools | grep /usr/bin/)" = "/usr/bin/sr-conformance
/usr/bin/sr-probe
/usr/bin/uring-sync" ] || fail "safer-ring-tools holds: $(contents safer-ring-tools | tr '\n' ' ')"
[ "$(contents safer-ring-tools | grep /usr/share/man/)" = "/usr/share/man/man1
/usr/share/man/man1/sr-conformance.1.gz
/usr/share/man/man1/sr-probe.1.gz
/usr/share/man/man1/uring-sync.1.gz" ] || fail "safer-ring-tools' man pages: $(contents safer-ring-tools | grep /man/ | tr '\n' ' ')"
for f in /usr/share/man/man3/sr_read.3.gz /usr/share/man/man3/sr_read_submit.3.gz /usr/share/man/man3/sr_ring_create.3.gz \
	/usr/share/man/man7/safer-ring.7.gz /usr/share/man/man7/safer-ring-ops.7.gz; do
	contents libsafer-ring-dev | grep -qx "$f" || fail "libsafer-ring-dev lacks $f"
done
! contents libsafer-ring0 | grep -q /man/ || fail "libsafer-ring0 holds man pages"
dep() { dpkg-deb -f "$OUT/${1}_${V}_$ARCH.deb" Depends; }
dep safer-ring-tools | grep -q "libsafer-ring0 (>= $V)" || fail "safer-ring-tools Depends: $(dep safer-ring-tools)"
dep libsafer-ring-dev | grep -q "libsafer-ring0 (= $V)" && dep libsafer-ring-dev | grep -q liburing-dev ||
	fail "libsafer-ring-dev Depends: $(dep libsafer-ring-dev)"
dep libsafer-ring0 | grep -q liburing2 || fail "libsafer-ring0 Depends: $(dep libsafer-ring0)"
for p in $PKGS; do
	[ "$(dpkg-deb -f "$OUT/${p}_${V}_$ARCH.deb" Version)" = "$V" ] || fail "$p: wrong version"
done
note "contents and dependencies: tools -> libsafer-ring0 (>= $V) -> liburing2; -dev -> libsafer-ring0 (= $V), liburing-dev"

# Unpacked, never installed: run what they ship from there.
R=$OUT/root
for p in $PKGS; do
	dpkg -x "$OUT/${p}_${V}_$ARCH.deb" "$R" || fail "dpkg -x $p"
done
for f in "$R"/usr/bin/* "$R"/usr/lib/"$MA"/libsafer-ring.so.$V; do
	! readelf -d "$f" | grep -qE 'R(UN)?PATH' || fail "$f has a RUNPATH"
done
grep -qx 'prefix=/usr' "$R/usr/lib/$MA/pkgconfig/safer-ring.pc" || fail "the packaged .pc does not say prefix=/usr"
T=$OUT/t
mkdir -p "$T"
cd "$T" || exit 1
check_programs "$R" /usr/bin "/usr/lib/$MA"
check_compile "$R" "$R/usr/lib/$MA/pkgconfig" "$R"
GZ=.gz check_man "$R" /usr/share/man
note "man pages: $NPAGES pages and $NLINKS links (tools: section 1; -dev: 3 and 7), man -M finds each name"
note "the packages, unpacked in $OUT/root, work ($(($(date +%s) - start)) s in all)"
