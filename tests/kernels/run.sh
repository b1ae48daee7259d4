#!/bin/sh
# SPDX-License-Identifier: MIT
# Usage: run.sh WORK_DIR PROGRAM_DIR MANIFEST
#
# Conformance on real kernels (make check-kernels).  For every kernel in
# $KERNELS it boots the kernel under qemu's software emulation (TCG; KVM is
# not needed) with an initramfs whose init (PROGRAM_DIR/init, from
# init.c) runs the tests MANIFEST lists, then runs the same static
# programs on this machine with SR_KERNEL set to the guest's version, and
# hands both logs to compare.py, which prints the verdict and the line
#   real-kernels: kernels=N ops_checked=N native=N fallback=N agree_with_simulation=N failed=N
#
# Environment:
#   KERNELS         words, each one of
#                     debian-5.10, debian-6.1, debian-6.12, debian-sid, debian-experimental
#                                    the newest Debian cloud kernel of that line, fetched with
#                                    apt-get (fetch-debian.sh), with its tls.ko
#                     PATH           a bootable x86-64 bzImage
#                     DIR            every bzImage in DIR
#                     NAME=PATH      a bzImage with the name to report it under (for a
#                                    DIR, NAME-VERSION for each bzImage in it)
#                   (default: the five Debian lines)
#   KERNEL_CACHE    where fetched kernels and the private apt lists are kept
#                   (default ${XDG_CACHE_HOME:-$HOME/.cache}/safer-ring/kernels; shared by
#                   every worktree and build)
#   KERNEL_TIMEOUT  seconds one guest may run before qemu is killed (default 240)
#   KERNEL_DISK     how the guest gets its scratch disk: nvme, virtio or sata
#                   (default nvme; the driver must be built into the kernel).
#                   A second disk on the same bus is the block device the
#                   block command scenarios may overwrite (SR_TEST_BLOCKDEV in
#                   the guest); with nvme, a guest newer than this machine also
#                   gets a zoned namespace (SR_TEST_ZONED_BLOCKDEV): this
#                   machine cannot have one to compare with when it simulates
#                   the older guests (its kernel has no CONFIG_BLK_DEV_ZONED)
#   QEMU            the qemu binary (default qemu-system-x86_64)
#   KERNEL_JOBS     guests booted at once (default 2)
set -eu

work=${1:?usage: run.sh WORK_DIR PROGRAM_DIR MANIFEST}
bin=${2:?usage: run.sh WORK_DIR PROGRAM_DIR MANIFEST}
manifest=${3:?usage: run.sh WORK_DIR PROGRAM_DIR MANIFEST}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"
work=$(cd "$work" && pwd)
bin=$(cd "$bin" && pwd)
KERNELS=${KERNELS:-debian-5.10 debian-6.1 debian-6.12 debian-sid debian-experimental}
KERNEL_CACHE=${KERNEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/safer-ring/kernels}
KERNEL_TIMEOUT=${KERNEL_TIMEOUT:-240}
KERNEL_DISK=${KERNEL_DISK:-nvme}
QEMU=${QEMU:-qemu-system-x86_64}
KERNEL_JOBS=${KERNEL_JOBS:-2}
PYTHON=${PYTHON:-/usr/bin/python3}

die() {
	echo "check-kernels: ERROR: $*" >&2
	echo "real-kernels: kernels=0 ops_checked=0 native=0 fallback=0 agree_with_simulation=0 failed=1"
	exit 1
}

now() {
	date +%s.%N
}

# Seconds since $1, one decimal.
since() {
	awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'
}

times=""
phase() {
	times="$times $1=$(since "$2")s"
}

# --- tools: qemu, cpio, mkfs.ext4 ---------------------------------------------------

t=$(now)
need=""
command -v "$QEMU" >/dev/null 2>&1 || need="$need qemu-system-x86"
command -v cpio >/dev/null 2>&1 || need="$need cpio"
command -v mkfs.ext4 >/dev/null 2>&1 || need="$need e2fsprogs"
if [ -n "$need" ]; then
	[ "$(id -u)" = 0 ] || die "missing:$need; install them with: sudo apt-get install$need"
	echo "  DEPS    apt-get install$need"
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300 install -y --no-install-recommends \
		$need >"$work/apt.log" 2>&1 || { tail -20 "$work/apt.log" >&2; die "apt-get install$need failed"; }
	command -v "$QEMU" >/dev/null 2>&1 || die "$QEMU is still missing after installing qemu-system-x86"
fi

# --- kernels -----------------------------------------------------------------------------

# The kernel's own version string from the bzImage header (the string
# `file` shows: at 0x200 plus the 16-bit pointer at 0x20e), first word.
bz_version() {
	[ "$(dd if="$1" bs=1 skip=514 count=4 2>/dev/null)" = HdrS ] || return 1
	off=$(od -An -tu2 -j526 -N2 "$1" | tr -d ' ')
	[ -n "$off" ] && [ "$off" -gt 0 ] || return 1
	dd if="$1" bs=1 skip=$((off + 512)) count=200 2>/dev/null | tr '\0' '\n' | head -n 1 | awk '{ print $1 }'
}

list=$work/kernels.list
: >"$list"
add_kernel() {	# NAME PATH [FETCHED_DIR: its modules/ or tls.none]
	v=$(bz_version "$2") || die "$2 is not a bootable x86 bzImage (no HdrS header)"
	p=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
	name=${1:-$v}
	if cut -f 1 "$list" | grep -qxF "$name"; then
		die "KERNELS: two kernels are called $name; name one with NAME=PATH"
	fi
	printf '%s\t%s\t%s\t%s\n' "$name" "$p" "$v" "${3:--}" >>"$list"
}
for word in $KERNELS; do
	name=""
	path=$word
	case $word in
	*=*) name=${word%%=*}; path=${word#*=} ;;
	esac
	case $path in
	debian-*)
		"$here/fetch-debian.sh" "$KERNEL_CACHE" "$path" >"$work/fetch.out" || die "cannot fetch $path (above)"
		kdir=$(tail -n 1 "$work/fetch.out")
		add_kernel "${name:-$path}" "$kdir/vmlinuz" "$kdir"
		continue ;;
	esac
	if [ -d "$path" ]; then
		found=0
		for f in "$path"/*; do
			if [ -f "$f" ] && v=$(bz_version "$f" 2>/dev/null); then
				add_kernel "${name:+$name-}$v" "$f"
				found=$((found + 1))
			fi
		done
		[ "$found" -gt 0 ] || die "KERNELS: $path holds no bzImage"
	elif [ -f "$path" ]; then
		add_kernel "$name" "$path"
	else
		die "KERNELS: $word is neither debian-LINE, a bzImage nor a directory"
	fi
done
[ -s "$list" ] || die "KERNELS is empty"
phase fetch "$t"

# --- initramfs ---------------------------------------------------------------------------

# MANIFEST lines: NAME TIMEOUT HOST PROGRAM [ARGS...]; the guest's list
# drops HOST and finds PROGRAM in /sr.
t=$(now)
root=$work/initramfs
rm -rf "$root"
mkdir -p "$root/sr"
[ -x "$bin/init" ] || die "$bin/init is missing (make builds it)"
cp "$bin/init" "$root/init"
grep -v '^[[:space:]]*\(#\|$\)' "$manifest" | while read -r tname tmo host prog args; do
	[ -n "$prog" ] || die "$manifest: $tname: want NAME TIMEOUT HOST PROGRAM [ARGS...]"
	[ -x "$bin/$prog" ] || die "$manifest: $tname: $bin/$prog is missing (make builds it)"
	cp "$bin/$prog" "$root/sr/$prog"
	echo "$tname $tmo /sr/$prog $args" >>"$root/sr/tests"
done
# Everything else built for the guest too (the https example, the kTLS
# certificate).
for f in "$bin"/*; do
	[ -e "$root/sr/$(basename "$f")" ] || [ "$(basename "$f")" = init ] || cp "$f" "$root/sr/"
done
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$work/initramfs.cpio"
phase initramfs "$t"

# --- boot each kernel, then simulate it here ----------------------------------------------

# The scratch disk (ext4, /tmp in the guest) and the spare block device
# for the block command scenarios, and the names the guest gives them.
case $KERNEL_DISK in
nvme) disk="-device nvme,id=nvme0,drive=scratch,serial=srscratch -device nvme-ns,drive=blk,bus=nvme0,nsid=2"
	blkdev=nvme-nsid:2 ;;
virtio) disk="-device virtio-blk-pci,drive=scratch -device virtio-blk-pci,drive=blk"
	blkdev=/dev/vdb ;;
sata) disk="-device ide-hd,drive=scratch -device ide-hd,drive=blk"	# q35's AHCI controller
	blkdev=/dev/sdb ;;
*) die "KERNEL_DISK=$KERNEL_DISK: use nvme, virtio or sata" ;;
esac

host_release=$(uname -r)
host_ver=$(echo "$host_release" | sed -n 's/^\([0-9]*\.[0-9]*\(\.[0-9]*\)\{0,1\}\).*/\1/p')
host_mm=$(echo "$host_ver" | cut -d. -f1,2)
rm -rf "$work/run"
runs=""
boot_t=0
sim_t=0
# Each guest boots in its own process, KERNEL_JOBS at a time (each qemu
# is one host thread), then the host simulates each in turn.
boot_one() {	# NAME PATH VERSION FETCHED_DIR
	name=$1 path=$2 ver=$3 kdir=$4
	dir=$work/run/$name
	rm -rf "$dir"
	mkdir -p "$dir"
	# The kernel's own modules for kTLS (ktls.c): a second cpio archive
	# after the common one; the kernel unpacks both.
	mkdir -p "$dir/extra/sr"
	if [ -f "$kdir/modules/order" ]; then
		cp -r "$kdir/modules" "$dir/extra/sr/tls"
	elif [ -f "$kdir/tls.none" ]; then
		cp "$kdir/tls.none" "$dir/extra/sr/tls.none"
	else
		echo "no TLS module given for this kernel (only the debian-* kernels bring theirs)" >"$dir/extra/sr/tls.none"
	fi
	(cat "$work/initramfs.cpio" && cd "$dir/extra" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) \
		>"$dir/initramfs.cpio"
	rm -rf "$dir/extra"
	printf '%s\n' "$name" >"$dir/name"
	printf '%s\n' "$path" >"$dir/image"

	t=$(now)
	echo "  QEMU    $name ($path: $ver, TCG)"
	# A fresh ext4 scratch disk each boot: /tmp in the guest (init.c says why).
	# TCG runs single-threaded (multi-threaded TCG crashed 7.2 at boot in
	# int3 text patching); the RCU stall timeout is raised to 120 s because
	# this machine, shared and busy, can starve the guest for half a minute,
	# which the kernel would report as a stall of its own.
	truncate -s 256M "$dir/scratch.img"
	mkfs.ext4 -q -F "$dir/scratch.img"
	truncate -s 16M "$dir/blk.img"
	disks="$disk"
	append="sr.blockdev=$blkdev"
	# A zoned namespace (8 zones of 8 MiB) for a guest newer than this machine.
	gmm=$(echo "$ver" | sed -n 's/^\([0-9]*\.[0-9]*\).*/\1/p')
	if [ "$KERNEL_DISK" = nvme ] && [ -n "$gmm" ] && [ "$gmm" != "$host_mm" ] &&
		[ "$(printf '%s\n%s\n' "$gmm" "$host_mm" | sort -V | tail -n 1)" = "$gmm" ]; then
		truncate -s 64M "$dir/zoned.img"
		disks="$disks -drive file=$dir/zoned.img,if=none,id=zoned,format=raw,discard=unmap"
		disks="$disks -device nvme-ns,drive=zoned,bus=nvme0,nsid=3,zoned=true,zoned.zone_size=8M"
		disks="$disks,zoned.zone_capacity=8M"
		append="$append sr.zoned=nvme-nsid:3"
	fi
	set +e
	# shellcheck disable=SC2086
	timeout -k 5 "$KERNEL_TIMEOUT" "$QEMU" -M q35 -accel tcg,thread=single -cpu max -smp 2 -m 1024 \
		-nographic -monitor none -no-reboot -net none \
		-kernel "$path" -initrd "$dir/initramfs.cpio" \
		-append "console=ttyS0 loglevel=5 panic=-1 rcupdate.rcu_cpu_stall_timeout=120 $append" \
		-serial "file:$dir/console.log" -serial "file:$dir/guest.log" \
		-drive "file=$dir/scratch.img,if=none,id=scratch,format=raw" \
		-drive "file=$dir/blk.img,if=none,id=blk,format=raw,discard=unmap" $disks \
		>"$dir/qemu.out" 2>&1
	rc=$?
	set -e
	rm -f "$dir/scratch.img" "$dir/blk.img" "$dir/zoned.img" "$dir/initramfs.cpio"
	echo "$rc" >"$dir/qemu.status"
	echo "$KERNEL_TIMEOUT" >"$dir/qemu.timeout"
	since "$t" >"$dir/boot.seconds"

}

t_boot=$(now)
n=0
while IFS="$(printf '\t')" read -r name path ver kdir; do
	runs="$runs $work/run/$name"
	boot_one "$name" "$path" "$ver" "$kdir" </dev/null &
	n=$((n + 1))
	if [ "$n" -ge "$KERNEL_JOBS" ]; then
		wait
		n=0
	fi
done <"$list"
wait
boot_t=$(since "$t_boot")

while IFS="$(printf '\t')" read -r name path ver kdir; do
	dir=$work/run/$name
	# The host runs the same programs, told by SR_KERNEL that it is the
	# guest's kernel, X.Y.Z as uname gave it inside.
	t=$(now)
	release=$(sed -n 's/^sr-init: release=\([^ ]*\) .*/\1/p' "$dir/guest.log" 2>/dev/null | head -n 1)
	gver=$(echo "$release" | sed -n 's/^\([0-9]*\.[0-9]*\(\.[0-9]*\)\{0,1\}\).*/\1/p')
	if [ -z "$gver" ]; then
		echo "the guest never reported its kernel release" >"$dir/host.error"
	elif [ "$(printf '%s\n%s\n' "$gver" "$host_ver" | sort -V | tail -n 1)" != "$host_ver" ]; then
		# SR_KERNEL simulates only older kernels: the guest is judged
		# against the spec instead (compare.py).
		echo "the guest runs $release, newer than this machine's $host_release" >"$dir/spec-only"
	else
		echo "$gver" >"$dir/simulated"
		scratch=$(mktemp -d)
		grep -v '^[[:space:]]*\(#\|$\)' "$manifest" | while read -r tname tmo host prog args; do
			[ "$host" = simulate ] || continue
			echo "==== sr-init begin $tname ===="
			s=$(now)
			set +e
			# shellcheck disable=SC2086
			(cd "$scratch" && SR_KERNEL=$gver timeout -k 5 "$tmo" "$bin/$prog" $args 2>&1)
			trc=$?
			set -e
			case $trc in
			124|137) st=timeout ;;
			*) st=exit:$trc ;;
			esac
			echo "==== sr-init end $tname status=$st ms=$(awk -v a="$s" -v b="$(now)" 'BEGIN { printf "%d", (b - a) * 1000 }') ===="
		done >"$dir/host.log"
		rm -rf "$scratch"
	fi
	sim_t=$(awk -v a="$sim_t" -v b="$(since "$t")" 'BEGIN { print a + b }')
done <"$list"
times="$times boot+guest=$(printf '%.1f' "$boot_t")s host-simulation=$(printf '%.1f' "$sim_t")s"

# --- verdict ------------------------------------------------------------------------------

t=$(now)
set +e
# shellcheck disable=SC2086
"$PYTHON" "$here/compare.py" "$manifest" $runs
rc=$?
set -e
phase compare "$t"
echo "check-kernels: times:$times (logs in $work/run)"
exit "$rc"
