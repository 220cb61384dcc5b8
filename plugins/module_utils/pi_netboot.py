# -*- coding: utf-8 -*-
# Copyright: picluster.hpl contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A network-booted node's trees: its NFS root, unpacked from the image, and its TFTP
directory, which serves the boot partition to the Pi's bootloader.

The NFS root is unpacked once per image (a stamp beside it records which image), with SSH
host keys of its own. The TFTP directory mirrors the root's ``boot/firmware`` except the
first-boot files, which the node reads from its own root and which hold its password
hash; which files those are comes from :func:`pi_image.plan` itself.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess
import tempfile

from ansible_collections.picluster.hpl.plugins.module_utils.files import atomic_write
from ansible_collections.picluster.hpl.plugins.module_utils.pi_fs import DirFS, open_image, tool
from ansible_collections.picluster.hpl.plugins.module_utils.pi_image import plan

# What the firmware reads from the boot partition over TFTP; cmdline.txt is the node's own
# (its NFS root), written by sync_tftp.
FIRMWARE_FILES = ('config.txt', 'cmdline.txt')


def firstboot_files():
    """The boot-partition files that :func:`plan` writes for a node's first boot, under
    either first-boot flavour: never served over TFTP."""
    settings = {'hostname': 'node', 'user': 'pi', 'ssh': True}
    found = set()
    for flavour in ('firstrun', 'cloud-init'):
        for change in plan(settings, flavour, {}, netboot=True):
            name = change.path.lstrip('/')
            if change.where == 'boot' and name not in FIRMWARE_FILES:
                found.add(name)
    return frozenset(found)


def source_stamp(src):
    """What identifies the image a tree was made from."""
    info = os.stat(src)
    return {'src': os.path.abspath(src), 'size': info.st_size, 'mtime': int(info.st_mtime)}


def load_stamp(path):
    try:
        with open(path) as handle:
            return json.load(handle)
    except (IOError, OSError, ValueError):
        return None


def save_stamp(path, stamp):
    atomic_write(path, json.dumps(stamp, sort_keys=True).encode('utf-8'))


def unpack(src, root_dir):
    """The image's root partition into ``root_dir``, its boot partition into
    ``root_dir``/boot/firmware (where the node's first-boot services look), and fresh SSH
    host keys in place of any the image carries. The tree appears whole or not at all."""
    boot, root = open_image(src)
    temp = tempfile.mkdtemp(prefix='.unpack-', dir=os.path.dirname(root_dir.rstrip('/')))
    try:
        root.extract(temp)
        firmware = _directory(os.path.join(temp, 'boot', 'firmware'))
        boot.extract(firmware)
        ssh_dir = _directory(os.path.join(temp, 'etc', 'ssh'))
        for name in os.listdir(ssh_dir):
            if name.startswith('ssh_host_'):
                os.remove(os.path.join(ssh_dir, name))
        subprocess.check_call([tool('ssh-keygen'), '-A', '-f', temp], stdout=subprocess.DEVNULL)
        if os.path.isdir(root_dir):
            shutil.rmtree(root_dir)
        os.rename(temp, root_dir)
        os.chmod(root_dir, 0o755)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise


def _directory(path):
    if not os.path.isdir(path):
        os.makedirs(path, 0o755)
    return path


def sync_tftp(root_dir, tftp_dir, cmdline, check_mode):
    """The node's boot files, first-boot files left out, into ``tftp_dir``, with
    ``cmdline`` as its cmdline.txt; anything else there is removed. Returns what changed."""
    source = DirFS(os.path.join(root_dir, 'boot', 'firmware'))
    never = firstboot_files() | {'cmdline.txt'}
    wanted = dict((path, source.read(path)) for path in _files(source.root) if path not in never)
    wanted['cmdline.txt'] = cmdline.encode('utf-8')
    target = DirFS(tftp_dir)
    changed = []
    for path, data in sorted(wanted.items()):
        if target.read(path) != data:
            changed.append('tftp:/' + path)
            if not check_mode:
                target.write(path, data, 0o644)
    for path in _files(tftp_dir):
        if path not in wanted:
            changed.append('tftp:/' + path)
            if not check_mode:
                os.remove(os.path.join(tftp_dir, path))
    return changed


def _files(directory):
    """Every file under ``directory``, as a path relative to it."""
    for top, dummy, files in os.walk(directory):
        for name in files:
            yield os.path.relpath(os.path.join(top, name), directory)
