#!/bin/sh
# SPDX-License-Identifier: MIT
# Usage: run.sh SR_NUMA_BINARY WORK_DIR [NUMA_SR_BENCH]
#
# Boots a Debian kernel under qemu (TCG) with two NUMA nodes, one CPU and
# 256 MiB each, and sr-numa (tests/numa/numa.c, static) as its init; prints
# what the guest said and fails unless it says
#   numa: nodes=2 pages_on_requested_node=100%
# With NUMA_SR_BENCH (bench/numa_sr.c, static) the guest also runs the bench
# row's program both ways: one ring per node, its pool local or remote.
#
#   NUMA_KERNEL     a bzImage, or debian-LINE fetched into KERNEL_CACHE
#                   (tests/kernels/fetch-debian.sh; default debian-sid, the
#                   newest line, nearest this machine's kernel)
#   KERNEL_CACHE    where kernels are kept (as make check-kernels)
#   NUMA_TIMEOUT    seconds before qemu is killed (default 180)
#   QEMU            the qemu binary (default qemu-system-x86_64)
set -eu

bin=${1:?usage: run.sh SR_NUMA_BINARY WORK_DIR}
work=${2:?usage: run.sh SR_NUMA_BINARY WORK_DIR}
kernel=${NUMA_KERNEL:-debian-sid}
cache=${KERNEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/safer-ring/kernels}
timeout=${NUMA_TIMEOUT:-180}
QEMU=${QEMU:-qemu-system-x86_64}
here=$(cd "$(dirname "$0")" && pwd)

die() {
	echo "check-numa: ERROR: $*" >&2
	exit 1
}

command -v "$QEMU" >/dev/null 2>&1 || die "$QEMU is missing (make deps installs qemu-system-x86)"
command -v cpio >/dev/null 2>&1 || die "cpio is missing (make deps installs it)"
case $kernel in
debian-*)
	dir=$(sh "$here/../kernels/fetch-debian.sh" "$cache" "$kernel" | tail -n 1) ||
		die "no $kernel kernel (fetch-debian.sh says why above)"
	image=$dir/vmlinuz ;;
*)
	image=$kernel ;;
esac
[ -f "$image" ] || die "$image: no such kernel image"

rm -rf "$work"
mkdir -p "$work/root"
cp "$bin" "$work/root/init"
files=init
if [ -n "${3:-}" ]; then
	cp "$3" "$work/root/numa_sr"
	files="init numa_sr"
fi
(cd "$work/root" && printf '%s\n' $files | cpio -o -H newc -R 0:0 --quiet) >"$work/initramfs.cpio"

echo "  QEMU    $image (2 NUMA nodes, TCG)"
start=$(date +%s)
set +e
timeout -k 5 "$timeout" "$QEMU" -M q35 -accel tcg,thread=single -cpu max -smp 2 -m 512 \
	-object memory-backend-ram,id=m0,size=256M -object memory-backend-ram,id=m1,size=256M \
	-numa node,nodeid=0,cpus=0,memdev=m0 -numa node,nodeid=1,cpus=1,memdev=m1 \
	-nographic -monitor none -no-reboot -net none \
	-kernel "$image" -initrd "$work/initramfs.cpio" \
	-append "console=ttyS0 loglevel=3 panic=-1 rdinit=/init -- --nodes=2" \
	-serial "file:$work/console.log" >"$work/qemu.out" 2>&1
rc=$?
set -e
echo "  (guest ran $(( $(date +%s) - start )) s, qemu status $rc)"
grep -a -o 'numa: .*' "$work/console.log" | tr -d '\r' | sed 's/^/  guest: /' || true
if [ "$rc" -ne 0 ]; then
	tail -n 20 "$work/console.log" "$work/qemu.out" >&2
	die "qemu failed (status $rc; $work/console.log)"
fi
grep -a -q 'numa: nodes=2 pages_on_requested_node=100%' "$work/console.log" ||
	die "the guest did not put every page on its node ($work/console.log)"
grep -a -q 'numa: ok' "$work/console.log" || die "the guest found problems ($work/console.log)"
