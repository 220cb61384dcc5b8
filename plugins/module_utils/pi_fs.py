# -*- coding: utf-8 -*-
# Copyright: picluster.hpl contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Raspberry Pi OS images as file systems: their partitions, read and written without
booting or mounting anything.

A Raspberry Pi OS image is an MBR disk with a FAT boot partition (firmware, kernel,
``config.txt``, ``cmdline.txt``) and an ext4 root. Both are edited in place: FAT through
mtools (:class:`FatFS`), ext4 through debugfs from e2fsprogs (:class:`Ext4FS`), so
neither needs the kernel's VFAT or a loop mount, nor root. A netboot node's unpacked trees
(its TFTP boot directory and NFS root) are plain directories (:class:`DirFS`). All three
read and write the same way, so :mod:`pi_image` edits any of them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import shutil
import stat
import struct
import subprocess
import tempfile

from ansible_collections.picluster.hpl.plugins.module_utils.files import atomic_write

SECTOR = 512
FAT_TYPES = (0x01, 0x04, 0x06, 0x0b, 0x0c, 0x0e)
LINUX_TYPE = 0x83


class ImageError(Exception):
    """A problem with the image or the settings, worded for the person who can fix it."""


# --- partitions -------------------------------------------------------------------------

def partitions(path):
    """The primary partitions of an MBR disk image or device at ``path``.

    Returns a list of dicts: ``number``, ``type`` (the MBR type byte), ``offset`` and
    ``size`` in bytes. Raises ImageError when there is no MBR, or when the disk is GPT.
    """
    with open(path, 'rb') as handle:
        mbr = handle.read(SECTOR)
    if len(mbr) < SECTOR or mbr[510:512] != b'\x55\xaa':
        raise ImageError('%s has no MBR partition table; is it a Raspberry Pi OS image?' % path)
    found = []
    for number in range(4):
        entry = mbr[446 + 16 * number:446 + 16 * (number + 1)]
        ptype = entry[4]
        start, count = struct.unpack('<II', entry[8:16])
        if ptype == 0xee:
            raise ImageError('%s is a GPT disk; Raspberry Pi OS images are MBR' % path)
        if ptype and count:
            found.append({'number': number + 1, 'type': ptype,
                          'offset': start * SECTOR, 'size': count * SECTOR})
    return found


def pi_partitions(path):
    """(boot, root): the first FAT and the first Linux partition of a Pi OS image."""
    parts = partitions(path)
    boot = next((part for part in parts if part['type'] in FAT_TYPES), None)
    root = next((part for part in parts if part['type'] == LINUX_TYPE), None)
    if boot is None or root is None:
        raise ImageError('%s needs a FAT boot and a Linux root partition; it has types %s'
                         % (path, ', '.join('0x%02x' % part['type'] for part in parts) or 'none'))
    return boot, root


# --- file systems -----------------------------------------------------------------------

PACKAGES = {'debugfs': 'e2fsprogs', 'ssh-keygen': 'openssh-client'}


def tool(name):
    """The path of the program ``name`` (sbin included), or ImageError naming its package."""
    path = os.environ.get('PATH', '') + os.pathsep + '/usr/sbin:/sbin'
    found = shutil.which(name, path=path)
    if not found:
        raise ImageError('%s is not installed: install the %s package (apt install %s)'
                         % (name, PACKAGES.get(name, 'mtools'), PACKAGES.get(name, 'mtools')))
    return found


def _run(argv, data=None, env=None):
    proc = subprocess.run([tool(argv[0])] + list(argv[1:]), input=data, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=env, check=False)
    return proc.returncode, proc.stdout, proc.stderr.decode('utf-8', 'replace')


class DirFS(object):
    """A file system that is a plain directory (a netboot node's TFTP or NFS root)."""

    def __init__(self, root):
        self.root = root

    def _path(self, path):
        return os.path.join(self.root, path.lstrip('/'))

    def read(self, path):
        """The bytes of ``path``, or None when it does not exist."""
        try:
            with open(self._path(path), 'rb') as handle:
                return handle.read()
        except (IOError, OSError):
            return None

    def readlink(self, path):
        try:
            return os.readlink(self._path(path))
        except OSError:
            return None

    def exists(self, path):
        return os.path.lexists(self._path(path))

    def write(self, path, data, mode=0o644, owner=0):
        atomic_write(self._path(path), data, mode, owner)

    def mode(self, path):
        """The file's permission bits (None when there is no such file)."""
        try:
            return stat.S_IMODE(os.lstat(self._path(path)).st_mode)
        except OSError:
            return None

    def symlink(self, path, target):
        link = self._path(path)
        if os.path.lexists(link):
            os.remove(link)
        parent = os.path.dirname(link)
        if not os.path.isdir(parent):
            os.makedirs(parent, 0o755)
        os.symlink(target, link)

    def remove(self, path):
        if os.path.lexists(self._path(path)):
            os.remove(self._path(path))


class FatFS(object):
    """The FAT partition at ``offset`` bytes into an image, edited with mtools."""

    def __init__(self, image, offset):
        self.spec = '%s@@%d' % (image, offset)
        self.env = dict(os.environ, MTOOLS_SKIP_CHECK='1', MTOOLS_NO_VFAT='0')

    def read(self, path):
        code, out, dummy = _run(['mcopy', '-n', '-i', self.spec, '::' + path, '-'], env=self.env)
        return out if code == 0 else None

    def readlink(self, path):
        return None

    def exists(self, path):
        return _run(['mdir', '-b', '-i', self.spec, '::' + path], env=self.env)[0] == 0

    def write(self, path, data, mode=0o644, owner=0):
        parent = os.path.dirname(path.rstrip('/'))
        if parent not in ('', '/') and not self.exists(parent):
            _run(['mmd', '-D', 's', '-i', self.spec, '::' + parent], env=self.env)
        with tempfile.NamedTemporaryFile() as temp:
            temp.write(data)
            temp.flush()
            code, dummy, err = _run(['mcopy', '-o', '-n', '-i', self.spec, temp.name, '::' + path],
                                    env=self.env)
        if code:
            raise ImageError('cannot write %s to the FAT boot partition: %s' % (path, err.strip()))

    def symlink(self, path, target):
        raise ImageError('FAT has no symbolic links (%s)' % path)

    def remove(self, path):
        if self.exists(path):
            _run(['mdel', '-i', self.spec, '::' + path], env=self.env)

    def extract(self, dest):
        """Copy every file of the partition into the directory ``dest``."""
        code, dummy, err = _run(['mcopy', '-s', '-n', '-p', '-m', '-i', self.spec, '::*', dest],
                                env=self.env)
        if code:
            raise ImageError('cannot copy the boot partition to %s: %s' % (dest, err.strip()))


class Ext4FS(object):
    """The ext4 partition at ``offset`` bytes into an image, edited with debugfs."""

    def __init__(self, image, offset):
        self.spec = '%s?offset=%d' % (image, offset)

    def _debugfs(self, commands, write=False):
        argv = ['debugfs'] + (['-w'] if write else []) + ['-f', '-', self.spec]
        code, out, err = _run(argv, data='\n'.join(commands).encode('utf-8') + b'\n')
        if code:
            raise ImageError('debugfs could not open the root partition: %s' % err.strip())
        return out.decode('utf-8', 'replace'), err

    def _stat(self, path):
        """(type, mode, debugfs's whole answer), or None when ``path`` does not exist."""
        out, err = self._debugfs(['stat "%s"' % path])
        match = re.search(r'Type:\s+(\w+)\s+Mode:\s+(\d+)', out)
        return match and (match.group(1), int(match.group(2), 8), out)

    def read(self, path):
        info = self._stat(path)
        if not info or info[0] != 'regular':
            return None
        with tempfile.TemporaryDirectory() as temp:
            local = os.path.join(temp, 'file')
            self._debugfs(['dump "%s" %s' % (path, local)])
            with open(local, 'rb') as handle:
                return handle.read()

    def readlink(self, path):
        info = self._stat(path)
        if not info or info[0] != 'symlink':
            return None
        match = re.search(r'Fast link dest:\s*"(.*)"', info[2])
        if match:
            return match.group(1)
        with tempfile.TemporaryDirectory() as temp:
            local = os.path.join(temp, 'link')
            self._debugfs(['dump "%s" %s' % (path, local)])
            with open(local, 'rb') as handle:
                return handle.read().decode('utf-8')

    def exists(self, path):
        return bool(self._stat(path))

    def _mkdirs(self, parent):
        missing = []
        while parent not in ('', '/') and not self.exists(parent):
            missing.append(parent)
            parent = os.path.dirname(parent)
        return ['mkdir "%s"' % directory for directory in reversed(missing)]

    def write(self, path, data, mode=0o644, owner=0):
        with tempfile.TemporaryDirectory() as temp:
            local = os.path.join(temp, 'file')
            with open(local, 'wb') as handle:
                handle.write(data)
            commands = self._mkdirs(os.path.dirname(path))
            commands += ['rm "%s"' % path] if self.exists(path) else []
            commands += ['write %s "%s"' % (local, path),
                         'sif "%s" mode 0%o' % (path, stat.S_IFREG | mode),
                         'sif "%s" uid %d' % (path, owner), 'sif "%s" gid %d' % (path, owner)]
            self._debugfs(commands, write=True)
        if self.read(path) != data:
            raise ImageError('debugfs did not write %s into the root partition' % path)

    def symlink(self, path, target):
        commands = self._mkdirs(os.path.dirname(path))
        commands += ['rm "%s"' % path] if self.exists(path) else []
        self._debugfs(commands + ['symlink "%s" "%s"' % (path, target)], write=True)
        if self.readlink(path) != target:
            raise ImageError('debugfs did not link %s to %s in the root partition' % (path, target))

    def remove(self, path):
        if self.exists(path):
            self._debugfs(['rm "%s"' % path], write=True)

    def extract(self, dest):
        """Copy the whole file system, owners and modes kept, into the directory ``dest``."""
        out, err = self._debugfs(['rdump / "%s"' % dest])
        problems = [line for line in err.splitlines() if 'rdump' in line and 'error' in line.lower()]
        if problems:
            raise ImageError('cannot unpack the root partition to %s: %s' % (dest, problems[0]))


def open_image(path):
    """(boot, root) file systems of the Pi OS image at ``path``."""
    boot, root = pi_partitions(path)
    return FatFS(path, boot['offset']), Ext4FS(path, root['offset'])


# --- whole images -----------------------------------------------------------------------

def copy_sparse(src, dest, chunk=4 << 20):
    """Copy ``src`` to ``dest`` (through a temporary file), leaving all-zero blocks as holes."""
    temp = dest + '.partial'
    zero = b'\0' * chunk
    with open(src, 'rb') as inp, open(temp, 'wb') as out:
        while True:
            block = inp.read(chunk)
            if not block:
                break
            if block == zero[:len(block)]:
                out.seek(len(block), os.SEEK_CUR)
            else:
                out.write(block)
        out.truncate()
    shutil.copymode(src, temp)
    os.rename(temp, dest)
