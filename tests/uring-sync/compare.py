#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Compare two trees the way the uring-sync tests need, beyond rsync -aHAXn.

    compare.py SRC DST [--no-atime] [--partial] [--no-owner]
    compare.py --snapshot DIR

--snapshot prints inode, ctime, mtime, mode, owner and size of every entry:
two snapshots are equal when nothing was changed, replaced or touched.

Checks that DST has exactly SRC's entries (no leftover temporaries), with the
same type, mode, owner, size, content (hashed), symlink target, device number,
mtime and atime to the nanosecond, extended attributes (ACLs included), hard
link groups, and that a sparse file kept its holes.

--no-atime   do not compare atimes (after a rerun: reading a directory or a
             symlink may move its atime)
--partial    DST is what an interrupted run left: it may lack entries, but
             every regular file it has must be complete and equal
--no-owner   do not compare owners (runs without root)
"""
import errno
import os
import stat
import sys


def extents(fd, size):
    """Data extents of a file (SEEK_DATA/SEEK_HOLE), or all of it."""
    out, pos = [], 0
    try:
        while pos < size:
            data = os.lseek(fd, pos, os.SEEK_DATA)
            hole = min(os.lseek(fd, data, os.SEEK_HOLE), size)
            out.append((data, hole))
            pos = hole
    except OSError as e:
        if e.errno != errno.ENXIO:
            return [(0, size)]
    return out


def same_content(pa, pb, size):
    """Equal bytes; where both files have holes they are equal zeros, so
    only the union of their data extents is read."""
    with open(pa, 'rb') as a, open(pb, 'rb') as b:
        spans = sorted(extents(a.fileno(), size) + extents(b.fileno(), size))
        pos = 0
        for start, end in spans:
            start = max(start, pos)
            while start < end:
                n = min(end - start, 1 << 20)
                a.seek(start)
                b.seek(start)
                if a.read(n) != b.read(n):
                    return False
                start += n
            pos = max(pos, end)
    return True


def walk(top):
    """Every entry lstat'ed before it is listed or read, and no symlink
    followed (os.walk follows them to look for directories): under relatime
    the first read of a fresh copy moves its atime."""
    out = {b'.': os.lstat(top)}
    stack = [b'']
    while stack:
        rel = stack.pop()
        for name in os.listdir(os.path.join(top, rel) if rel else top):
            p = os.path.join(rel, name) if rel else name
            out[p] = os.lstat(os.path.join(top, p))
            if stat.S_ISDIR(out[p].st_mode):
                stack.append(p)
    return out


def xattrs(path):
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return {}
    return {n: os.getxattr(path, n, follow_symlinks=False) for n in sorted(names)}


def main():
    args = [a for a in sys.argv[1:] if not a.startswith('--')]
    flags = set(a for a in sys.argv[1:] if a.startswith('--'))
    if '--snapshot' in flags:
        top = os.fsencode(args[0])
        for p, st in sorted(walk(top).items()):
            print(repr(p), st.st_ino, st.st_ctime_ns, st.st_mtime_ns, oct(st.st_mode), st.st_uid, st.st_gid,
                  st.st_size, st.st_nlink)
        return
    src, dst = os.fsencode(args[0]), os.fsencode(args[1])
    atime = '--no-atime' not in flags
    partial = '--partial' in flags
    owner = '--no-owner' not in flags
    s, d = walk(src), walk(dst)
    bad = []

    def say(p, what):
        bad.append('%s: %s' % (os.fsdecode(p).encode('unicode_escape').decode(), what))

    for p in sorted(set(d) - set(s)):
        say(p, 'in DST only' + (' (a leftover temporary)' if os.path.basename(p).startswith(b'.~us-') else ''))
    if not partial:
        for p in sorted(set(s) - set(d)):
            say(p, 'missing in DST')
    sgroups, dgroups = {}, {}
    for p in sorted(set(s) & set(d)):
        a, b = s[p], d[p]
        sp, dp = os.path.join(src, p), os.path.join(dst, p)
        if stat.S_IFMT(a.st_mode) != stat.S_IFMT(b.st_mode):
            say(p, 'type %o != %o' % (stat.S_IFMT(a.st_mode), stat.S_IFMT(b.st_mode)))
            continue
        if stat.S_ISREG(a.st_mode):
            if a.st_size != b.st_size:
                say(p, 'size %d != %d' % (a.st_size, b.st_size))
            elif not same_content(sp, dp, a.st_size):
                say(p, 'content differs')
            if a.st_blocks * 512 < a.st_size and b.st_blocks > a.st_blocks + 16:
                say(p, 'holes lost: %d blocks, source %d' % (b.st_blocks, a.st_blocks))
            if a.st_blocks >= (a.st_size + 511) // 512 and b.st_blocks * 512 < b.st_size:
                say(p, 'holes made where the source has data')
        if partial:
            continue
        if stat.S_ISLNK(a.st_mode) and os.readlink(sp) != os.readlink(dp):
            say(p, 'symlink target differs')
        if stat.S_ISCHR(a.st_mode) or stat.S_ISBLK(a.st_mode):
            if a.st_rdev != b.st_rdev:
                say(p, 'device number differs')
        if not stat.S_ISLNK(a.st_mode) and stat.S_IMODE(a.st_mode) != stat.S_IMODE(b.st_mode):
            say(p, 'mode %o != %o' % (stat.S_IMODE(a.st_mode), stat.S_IMODE(b.st_mode)))
        if owner and (a.st_uid, a.st_gid) != (b.st_uid, b.st_gid):
            say(p, 'owner %d:%d != %d:%d' % (a.st_uid, a.st_gid, b.st_uid, b.st_gid))
        if a.st_mtime_ns != b.st_mtime_ns:
            say(p, 'mtime %d != %d' % (a.st_mtime_ns, b.st_mtime_ns))
        if atime and a.st_atime_ns != b.st_atime_ns:
            say(p, 'atime %d != %d' % (a.st_atime_ns, b.st_atime_ns))
        xa, xb = xattrs(sp), xattrs(dp)
        if xa != xb:
            say(p, 'xattrs differ: %s != %s' % (sorted(xa), sorted(xb)))
        if not stat.S_ISDIR(a.st_mode) and a.st_nlink > 1:
            sgroups.setdefault((a.st_dev, a.st_ino), set()).add(p)
            dgroups.setdefault((b.st_dev, b.st_ino), set()).add(p)
        if not stat.S_ISDIR(a.st_mode) and a.st_nlink != b.st_nlink:
            say(p, 'link count %d != %d' % (a.st_nlink, b.st_nlink))
    if sorted(map(sorted, sgroups.values())) != sorted(map(sorted, dgroups.values())):
        say(b'.', 'hard link groups differ')
    if bad:
        print('\n'.join(bad[:30]) + ('\n... %d more' % (len(bad) - 30) if len(bad) > 30 else ''))
        sys.exit(1)


if __name__ == '__main__':
    main()
