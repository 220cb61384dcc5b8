# -*- coding: utf-8 -*-
# Copyright: picluster.hpl contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writing an image to an SD card, safely.

Before a byte is written the device is checked against what it would be a disaster to
overwrite: a device that is mounted (or used as swap, or under an LVM/RAID/dm device that
is), one that holds the controller's root filesystem, one that is not removable (unless
forced), one smaller than the image, a partition rather than a whole card. The facts come
from /sys and /proc (:func:`inspect`); the verdict is a pure function (:func:`refusals`).
Writing opens the device with O_EXCL, so the kernel also refuses a device in use, and
only that path is opened; the written bytes are read back from the device, not from the
page cache, and their hash compared with the image's.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import stat

from ansible_collections.picluster.hpl.plugins.module_utils.node_info import read_text

CHUNK = 4 << 20


def _read(path):
    return (read_text('/', path) or '').strip() or None


def _block_name(major_minor, sys_root='/sys'):
    """Kernel name (sda, mmcblk0p2, dm-0) of the block device numbered ``major:minor``."""
    link = os.path.join(sys_root, 'dev', 'block', major_minor)
    return os.path.basename(os.path.realpath(link)) if os.path.exists(link) else None


def _ancestors(name, sys_root='/sys'):
    """``name`` and every block device under it: its whole disk, and the slaves of a
    dm/md device, recursively (a root on LVM on the card names the card)."""
    found, queue = set(), [name]
    while queue:
        current = queue.pop()
        if not current or current in found:
            continue
        found.add(current)
        node = os.path.realpath(os.path.join(sys_root, 'class', 'block', current))
        if os.path.exists(os.path.join(node, 'partition')):
            queue.append(os.path.basename(os.path.dirname(node)))
        slaves = os.path.join(node, 'slaves')
        if os.path.isdir(slaves):
            queue.extend(os.listdir(slaves))
    return found


def mounted_devices(proc_root='/proc', sys_root='/sys'):
    """{disk or partition name: [mount points or 'swap']} for every block device in use,
    each use also credited to the disks under it; and the set of names under '/'."""
    uses, root_names = {}, set()
    for line in (_read(os.path.join(proc_root, 'self', 'mountinfo')) or '').splitlines():
        fields = line.split()
        if len(fields) < 5 or fields[2].startswith('0:'):
            continue
        name = _block_name(fields[2], sys_root)
        for ancestor in _ancestors(name, sys_root) if name else ():
            uses.setdefault(ancestor, []).append(fields[4])
            if fields[4] == '/':
                root_names.add(ancestor)
    for line in (_read(os.path.join(proc_root, 'swaps')) or '').splitlines()[1:]:
        device = line.split()[0] if line.split() else ''
        if device.startswith('/dev/'):
            for ancestor in _ancestors(os.path.basename(os.path.realpath(device)), sys_root):
                uses.setdefault(ancestor, []).append('swap')
    return uses, root_names


def inspect(device, proc_root='/proc', sys_root='/sys'):
    """What is known about ``device`` that decides whether it may be written."""
    info = {'device': device, 'exists': os.path.exists(device)}
    if not info['exists']:
        return info
    mode = os.stat(device).st_mode
    info['block'] = stat.S_ISBLK(mode)
    if not info['block']:
        return info
    rdev = os.stat(device).st_rdev
    name = _block_name('%d:%d' % (os.major(rdev), os.minor(rdev)), sys_root)
    node = os.path.realpath(os.path.join(sys_root, 'class', 'block', name or ''))
    info['name'] = name
    info['partition'] = os.path.exists(os.path.join(node, 'partition'))
    info['removable'] = _read(os.path.join(node, 'removable')) == '1'
    size = _read(os.path.join(node, 'size'))
    info['size'] = int(size) * 512 if size and size.isdigit() else None
    uses, root_names = mounted_devices(proc_root, sys_root)
    # The device itself, or any partition of it, in use.
    children = [entry for entry in (os.listdir(node) if os.path.isdir(node) else [])
                if os.path.exists(os.path.join(node, entry, 'partition'))]
    info['mounts'] = sorted(set(point for part in [name] + children for point in uses.get(part, [])))
    info['holds_root'] = bool(root_names & set([name] + children))
    holders = os.path.join(node, 'holders')
    info['holders'] = sorted(os.listdir(holders)) if os.path.isdir(holders) else []
    return info


def refusals(info, image_size, force=False):
    """Why ``device`` must not be written, each saying what to change; [] when it may be."""
    device = info['device']
    if not info.get('exists'):
        return ['%s does not exist; give the SD card\'s device (see lsblk)' % device]
    if not info.get('block'):
        return ['%s is not a block device; give the SD card\'s device, e.g. /dev/sdb' % device]
    reasons = []
    if info.get('holds_root'):
        reasons.append('%s holds this controller\'s root filesystem; it is not an SD card to '
                       'overwrite' % device)
    elif info.get('mounts'):
        reasons.append('%s is in use (mounted at %s); unmount it first'
                       % (device, ', '.join(info['mounts'])))
    if info.get('holders'):
        reasons.append('%s is held by %s (LVM, RAID or dm); release it first'
                       % (device, ', '.join(info['holders'])))
    if info.get('partition'):
        reasons.append('%s is a partition; give the whole card (e.g. /dev/sdb, not /dev/sdb1)' % device)
    if not info.get('removable') and not force:
        reasons.append('%s is not a removable device; if it really is the card to overwrite, '
                       'set sd_image_device_force: true' % device)
    if info.get('size') is not None and info['size'] < image_size:
        reasons.append('%s holds %d bytes, smaller than the image (%d bytes); use a card of at '
                       'least %.1f GB' % (device, info['size'], image_size, image_size / 1e9))
    return reasons


def _sha256(fd, length=None):
    """sha256 of what ``fd`` reads from its current offset: ``length`` bytes, or to the end.
    None when it ends before ``length``."""
    digest, remaining = hashlib.sha256(), length
    while remaining is None or remaining > 0:
        block = os.read(fd, CHUNK if remaining is None else min(CHUNK, remaining))
        if not block:
            break
        digest.update(block)
        if remaining is not None:
            remaining -= len(block)
    return digest.hexdigest() if not remaining else None


def sha256_file(path):
    """sha256 of a whole file, read in chunks."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return _sha256(fd)
    finally:
        os.close(fd)


def device_sha256(fd, length):
    """sha256 of the first ``length`` bytes of an open device, read past the page cache."""
    os.fsync(fd)
    if hasattr(os, 'posix_fadvise'):
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.lseek(fd, 0, os.SEEK_SET)
    return _sha256(fd, length)


def write_image(image, device):
    """Copy ``image`` onto ``device`` (opened O_EXCL), flush it, and return the sha256 of
    what the device then holds over the image's length."""
    flags = os.O_RDWR | getattr(os, 'O_EXCL', 0) | getattr(os, 'O_CLOEXEC', 0)
    fd = os.open(device, flags)
    try:
        with open(image, 'rb') as inp:
            while True:
                view = memoryview(inp.read(CHUNK))
                if not view:
                    break
                while view:
                    view = view[os.write(fd, view):]
        return device_sha256(fd, os.path.getsize(image))
    finally:
        os.close(fd)


def read_back(image_size, device):
    """sha256 of the device's first ``image_size`` bytes (opened O_EXCL, read only)."""
    fd = os.open(device, os.O_RDONLY | getattr(os, 'O_EXCL', 0))
    try:
        return device_sha256(fd, image_size)
    finally:
        os.close(fd)
