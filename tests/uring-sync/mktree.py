#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Generated trees for the uring-sync tests.

    mktree.py odd DIR         every file type, odd names, modes, owners, times,
                              xattrs, ACLs, hard link groups, sparse files
    mktree.py small DIR       the same with small files only (for rsync to copy
                              again and again)
    mktree.py many DIR N      N files of 4 KiB in one directory
    mktree.py wide DIR D F    D directories of F small files each
    mktree.py deep DIR N      a chain of N nested directories, a file in each
    mktree.py sparse DIR      large files that are mostly holes
    mktree.py big DIR MiB     one file of MiB mebibytes
    mktree.py touch DIR       give every entry distinct nanosecond times
"""
import os
import random
import socket
import stat
import subprocess
import sys

ROOT = os.geteuid() == 0
rnd = random.Random(6)


def data(n):
    return rnd.randbytes(n)


def put(path, content, mode=None):
    with open(path, 'wb') as f:
        f.write(content)
    if mode is not None:
        os.chmod(path, mode)


def times(path, i):
    """Distinct atime and mtime, to the nanosecond."""
    a = 1_000_000_000 * (1_500_000_000 + 7919 * i) + (i * 104_729) % 1_000_000_000
    m = 1_000_000_000 * (1_400_000_000 + 6007 * i) + (i * 130_363 + 1) % 1_000_000_000
    os.utime(path, ns=(a, m), follow_symlinks=False)


def setfacl(*args):
    subprocess.run(['setfacl', *args], check=True)


def xattr(path, name, value, follow=True):
    os.setxattr(path, name, value, follow_symlinks=follow)


def touch_all(top):
    """Times last, deepest first, so that making entries does not move them."""
    entries = []
    for d, dirs, files in os.walk(top):
        for n in dirs + files:
            entries.append(os.path.join(d, n))
    entries.sort(key=lambda p: -p.count(b'/' if isinstance(p, bytes) else '/'))
    for i, p in enumerate(entries):
        times(p, i + 1)
    times(top, 0)


ODD_NAMES = [
    b'with space', b'new\nline', b'tab\there', b'\xff\xfe not utf-8', b'-rf', b'--help', b'-',
    b'x' * 255, b'\xe2\x98\x83 snowman', b'back\\slash', b'*glob?[x]', b' leading space',
    b'trailing space ', b'.hidden', b'..dots', b'.~us-0123456789abcdef',
]


def big_sparse(j):
    with open(j(b'sparse', b'holes'), 'wb') as f:
        f.write(data(4096))
        f.seek(30 << 20)
        f.write(data(70000))
        f.seek((100 << 20) - 4096)
        f.write(data(4096))
    with open(j(b'sparse', b'leading-hole'), 'wb') as f:
        f.seek(10 << 20)
        f.write(b'end')
    with open(j(b'sparse', b'all-hole'), 'wb') as f:
        f.truncate(64 << 20)


def odd(top, small=False):
    top = os.fsencode(top)
    if small:           # the large files stay, as small ones
        global data
        big = data
        data = lambda n: big(min(n, 70000))
    j = lambda *p: os.path.join(top, *p)
    os.makedirs(j(b'files'))
    put(j(b'files', b'empty'), b'')
    put(j(b'files', b'small'), b'hello\n')
    put(j(b'files', b'chunk'), data(512 << 10))
    put(j(b'files', b'chunk+1'), data((512 << 10) + 1))
    put(j(b'files', b'multi'), data(5 << 20 | 12345))
    put(j(b'files', b'zeros'), bytes(1 << 20))        # zeros, but allocated: must stay allocated
    put(j(b'files', b'direct'), data((16 << 20) + 1234))  # written with O_DIRECT, then a buffered tail
    put(j(b'files', b'setuid'), b'#!/bin/sh\n', 0o4755)
    put(j(b'files', b'setgid'), b'x', 0o2750)
    put(j(b'files', b'sticky'), b'x', 0o1644)
    # Unreadable by mode: as root only (nobody else could copy it; t_errors tries that).
    put(j(b'files', b'none'), b'unreadable by mode', 0o000 if ROOT else 0o400)
    put(j(b'files', b'readonly'), b'r', 0o444)
    os.makedirs(j(b'names'))
    for n in ODD_NAMES:
        put(j(b'names', n), n + b'\n')
    os.makedirs(j(b'names', b'dir with\nnewline', b'-sub'))
    put(j(b'names', b'dir with\nnewline', b'-sub', b'\x80'), b'deep odd')

    # Symlinks: relative, absolute, dangling, to a directory, long target.
    os.makedirs(j(b'links'))
    os.symlink(b'../files/small', j(b'links', b'rel'))
    os.symlink(b'/etc/hostname', j(b'links', b'abs'))
    os.symlink(b'does/not/exist', j(b'links', b'dangling'))
    os.symlink(b'../files', j(b'links', b'todir'))
    os.symlink(b'a/' * 900 + b'z', j(b'links', b'longtarget'))
    os.symlink(b'new\nline target', j(b'links', b'odd target'))

    # Special files.
    os.makedirs(j(b'special'))
    os.mkfifo(j(b'special', b'fifo'), 0o640)
    s = socket.socket(socket.AF_UNIX)
    s.bind(j(b'special', b'socket'))
    s.close()
    if ROOT:
        os.mknod(j(b'special', b'null'), stat.S_IFCHR | 0o666, os.makedev(1, 3))
        os.mknod(j(b'special', b'loop'), stat.S_IFBLK | 0o660, os.makedev(7, 200))

    # Hard link groups, across directories, of every linkable type.
    os.makedirs(j(b'hard', b'a'))
    os.makedirs(j(b'hard', b'b'))
    put(j(b'hard', b'a', b'one'), data(70000))
    os.link(j(b'hard', b'a', b'one'), j(b'hard', b'b', b'two'))
    os.link(j(b'hard', b'a', b'one'), j(b'hard', b'three'))
    put(j(b'hard', b'pair'), b'pair')
    os.link(j(b'hard', b'pair'), j(b'hard', b'b', b'pair2'))
    os.symlink(b'target', j(b'hard', b'sym'))
    os.link(j(b'hard', b'sym'), j(b'hard', b'b', b'sym2'), follow_symlinks=False)
    os.mkfifo(j(b'hard', b'fifo'))
    os.link(j(b'hard', b'fifo'), j(b'hard', b'a', b'fifo2'))

    # Extended attributes and ACLs.
    os.makedirs(j(b'xattr', b'acl-default'))
    put(j(b'xattr', b'plain'), b'x')
    xattr(j(b'xattr', b'plain'), b'user.one', b'1')
    xattr(j(b'xattr', b'plain'), b'user.empty', b'')
    xattr(j(b'xattr', b'plain'), b'user.binary', bytes(range(256)))
    try:        # ext4 keeps all of an inode's xattrs in one block (without ea_inode)
        xattr(j(b'xattr', b'plain'), b'user.large', data(60000))
    except OSError:
        xattr(j(b'xattr', b'plain'), b'user.large', data(1500))
    setfacl('-m', 'u:nobody:rw,g:daemon:r', j(b'xattr', b'plain'))
    put(j(b'xattr', b'acl-only'), b'y', 0o640)
    setfacl('-m', 'u:daemon:r', j(b'xattr', b'acl-only'))
    setfacl('-m', 'u:nobody:rwx', j(b'xattr', b'acl-default'))
    setfacl('-d', '-m', 'u:nobody:r,g:daemon:rx', j(b'xattr', b'acl-default'))
    put(j(b'xattr', b'acl-default', b'inherits'), b'z')   # gets the default ACL
    put(j(b'xattr', b'acl-default', b'stripped'), b'w')
    setfacl('-b', j(b'xattr', b'acl-default', b'stripped'))
    xattr(j(b'xattr'), b'user.on-a-dir', b'dir value')
    if ROOT:
        xattr(j(b'xattr', b'plain'), b'trusted.secret', b'root only')
        xattr(j(b'links', b'rel'), b'trusted.on-a-symlink', b'link xattr', follow=False)
        # security.capability, VFS_CAP_REVISION_2 with cap_net_raw permitted and effective.
        put(j(b'xattr', b'capable'), b'#!/bin/sh\n', 0o755)
        xattr(j(b'xattr', b'capable'), b'security.capability',
              bytes.fromhex('0100000200200000000000000000000000000000'))

    # Sparse files.
    os.makedirs(j(b'sparse'))
    if small:
        with open(j(b'sparse', b'holes'), 'wb') as f:
            f.write(data(4096))
            f.seek(1 << 20)
            f.write(data(4096))
    else:
        big_sparse(j)
    # Owners.
    if ROOT:
        os.makedirs(j(b'owners'))
        put(j(b'owners', b'1234'), b'o')
        os.chown(j(b'owners', b'1234'), 1234, 5678)
        put(j(b'owners', b'setuid-owned'), b's')
        os.chown(j(b'owners', b'setuid-owned'), 1000, 1000)
        os.chmod(j(b'owners', b'setuid-owned'), 0o6755)
        os.symlink(b'x', j(b'owners', b'link'))
        os.chown(j(b'owners', b'link'), 4321, 8765, follow_symlinks=False)
        os.mkfifo(j(b'owners', b'fifo'))
        os.chown(j(b'owners', b'fifo'), 65534, 65534)
        # A capability on a file of another owner: the copy's chown must come before it.
        put(j(b'owners', b'capable'), b'#!/bin/sh\n', 0o755)
        os.chown(j(b'owners', b'capable'), 1234, 5678)
        xattr(j(b'owners', b'capable'), b'security.capability',
              bytes.fromhex('0100000200200000000000000000000000000000'))
        os.chown(j(b'owners'), 2000, 3000)

    # Directories: empty, sticky, read-only with content, deep.
    os.makedirs(j(b'dirs', b'empty'))
    os.makedirs(j(b'dirs', b'sticky'))
    os.makedirs(j(b'dirs', b'readonly'))
    put(j(b'dirs', b'readonly', b'inside'), b'i')
    os.makedirs(j(b'dirs', *[b'd%d' % i for i in range(40)]))

    touch_all(top)
    os.chmod(j(b'dirs', b'sticky'), 0o1777)
    os.chmod(j(b'dirs', b'readonly'), 0o555)
    os.chmod(j(b'dirs', b'empty'), 0o2710)
    # chmod moved no times, but do them again to be sure of the ctime order.
    touch_all(top)


def many(top, n):
    os.makedirs(top, exist_ok=True)
    block = data(4096)
    for i in range(n):
        put(os.path.join(top, 'f%05d' % i), block[i % 4096:] + block[:i % 4096])


def wide(top, nd, nf):
    for d in range(nd):
        p = os.path.join(top, 'd%04d' % d)
        os.makedirs(p)
        for f in range(nf):
            put(os.path.join(p, 'f%d' % f), b'%d/%d\n' % (d, f) * (f + 1))
    touch_all(os.fsencode(top))


def deep(top, n):
    p = top
    for i in range(n):
        p = os.path.join(p, 'level%03d' % i)
        os.makedirs(p)
        put(os.path.join(p, 'file'), b'%d\n' % i)
    touch_all(os.fsencode(top))


def sparse(top):
    os.makedirs(top, exist_ok=True)
    with open(os.path.join(top, 'vm.img'), 'wb') as f:
        for i in range(8):
            f.seek(i * (256 << 20))
            f.write(data(65536))
        f.truncate(4 << 30)


def big(top, mib):
    os.makedirs(top, exist_ok=True)
    block = data(1 << 20)
    with open(os.path.join(top, 'big'), 'wb') as f:
        for i in range(mib):
            f.write(block[i:] + block[:i])


def main():
    kind, top = sys.argv[1], sys.argv[2]
    args = [int(a) for a in sys.argv[3:]]
    {'odd': odd, 'small': lambda t: odd(t, True), 'many': many, 'wide': wide, 'deep': deep, 'sparse': sparse, 'big': big,
     'touch': lambda t: touch_all(os.fsencode(t))}[kind](top, *args)


if __name__ == '__main__':
    main()
