# -*- coding: utf-8 -*-
# Copyright: picluster.hpl contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Raspberry Pi OS images: read their partitions, edit them without booting or mounting.

A Raspberry Pi OS image is an MBR disk with a FAT boot partition (firmware, kernel,
``config.txt``, ``cmdline.txt``) and an ext4 root. Both are edited in place: FAT through
mtools, ext4 through debugfs (e2fsprogs), so neither needs the kernel's VFAT or a loop
mount, nor root. The same edits apply to a netboot node's unpacked trees (its TFTP boot
directory and NFS root), through :class:`DirFS`.

What a node gets, and where, is decided by :func:`plan`, a pure function tested on its
own: plain files go straight into the root filesystem (hostname, hosts, timezone, locale,
a static address, SSH settings); what needs the booted system (the first user, its keys,
``locale-gen``) goes into the first-boot files the image's own OS reads - ``userconf.txt``
and ``firstrun.sh`` on bookworm, cloud-init's ``user-data`` and ``network-config`` on
trixie.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import ipaddress
import json
import os
import re
import shlex
import shutil
import stat
import struct
import subprocess
import tempfile

SECTOR = 512
FAT_TYPES = (0x01, 0x04, 0x06, 0x0b, 0x0c, 0x0e)
LINUX_TYPE = 0x83
# config.txt settings that overclock or overvolt: the write-up's overclocked nodes crashed.
OVERCLOCK_KEYS = ('arm_freq', 'arm_freq_min', 'core_freq', 'core_freq_min', 'gpu_freq',
                  'over_voltage', 'over_voltage_delta', 'over_voltage_min', 'sdram_freq',
                  'force_turbo', 'h264_freq', 'isp_freq', 'v3d_freq', 'hevc_freq')
CONFIG_BEGIN = '# BEGIN picluster.hpl managed settings'
CONFIG_END = '# END picluster.hpl managed settings'
FIRSTRUN_ARGS = ('systemd.run=/boot/firmware/firstrun.sh systemd.run_success_action=reboot '
                 'systemd.unit=kernel-command-line.target')
# Where a record of each customisation is kept on the node (node_facts reads it).
RECORD_PATH = '/etc/picluster/image.json'
NM_CONNECTION = '/etc/NetworkManager/system-connections/picluster-{0}.nmconnection'
SWAP_WANTS = '/etc/systemd/system/multi-user.target.wants/dphys-swapfile.service'
NM_NFSROOT = '/etc/NetworkManager/conf.d/picluster-nfsroot.conf'
FIRSTBOOT_UNIT = '/etc/systemd/system/picluster-firstrun.service'
FIRSTBOOT_WANTS = '/etc/systemd/system/multi-user.target.wants/picluster-firstrun.service'
HOSTNAME_RE = re.compile(r'^(?!-)[a-z0-9-]{1,63}(?<!-)$')
USER_RE = re.compile(r'^[a-z_][a-z0-9_-]{0,31}$')
LOCALE_RE = re.compile(r'^[A-Za-z]{2,3}(_[A-Z]{2})?(\.[A-Za-z0-9-]+)?(@\w+)?$')
CONFIG_KEY_RE = re.compile(r'^[a-z][a-z0-9_]*$')


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
        target = self._path(path)
        parent = os.path.dirname(target)
        if not os.path.isdir(parent):
            os.makedirs(parent, 0o755)
        handle, temp = tempfile.mkstemp(dir=parent, prefix='.picluster-')
        with os.fdopen(handle, 'wb') as out:
            out.write(data)
        os.chmod(temp, mode)
        if os.geteuid() == 0:
            os.chown(temp, owner, owner)
        os.rename(temp, target)

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


# --- what to write ----------------------------------------------------------------------

def os_release(text):
    fields = {}
    for line in (text or '').splitlines():
        key, sep, value = line.partition('=')
        if sep:
            fields[key.strip()] = value.strip().strip('"\'')
    return fields


def firstboot_flavour(root, requested='auto'):
    """How the image's OS takes first-boot settings: ``firstrun`` or ``cloud-init``.

    Raspberry Pi OS bookworm reads ``userconf.txt`` and runs ``firstrun.sh``; trixie and
    later run cloud-init from ``user-data`` and ``network-config`` on the boot partition.
    """
    release = os_release((root.read('/etc/os-release') or b'').decode('utf-8', 'replace'))
    codename = release.get('VERSION_CODENAME', '')
    if requested != 'auto':
        return requested, codename
    if root.exists('/usr/bin/cloud-init') or codename not in ('', 'bookworm', 'bullseye'):
        if codename in ('buster', 'stretch'):
            raise ImageError('Raspberry Pi OS %s is too old: use a bookworm or trixie image' % codename)
        return 'cloud-init', codename
    if not codename:
        raise ImageError('the image has no /etc/os-release VERSION_CODENAME; set the first-boot '
                         'form explicitly (firstrun or cloud-init)')
    return 'firstrun', codename


def check_settings(settings):
    """Errors in a node's settings, each saying what to change; [] when all is well."""
    errors = []
    if not HOSTNAME_RE.match(settings.get('hostname') or ''):
        errors.append('hostname %r: use 1-63 lowercase letters, digits and dashes'
                      % settings.get('hostname'))
    if not USER_RE.match(settings.get('user') or ''):
        errors.append('user %r: use a lowercase Linux user name' % settings.get('user'))
    if settings.get('user') == 'root':
        errors.append('user: the first user cannot be root')
    password_hash = settings.get('password_hash') or ''
    if password_hash and not re.match(r'^\$(1|5|6|y|2[aby])\$\S+$', password_hash):
        errors.append('password_hash: give a crypt(3) hash (e.g. from "openssl passwd -6"), '
                      'never the password itself')
    keys = settings.get('authorized_keys') or []
    if not password_hash and not keys:
        errors.append('give the first user a password_hash or authorized_keys, or nobody can log in')
    for key in keys:
        if not re.match(r'^(ssh-|ecdsa-|sk-)\S+ [A-Za-z0-9+/=]+( .*)?$', key.strip()):
            errors.append('authorized key %r is not an OpenSSH public key line' % key[:40])
    network = settings.get('network') or {}
    if network.get('address'):
        try:
            interface = ipaddress.ip_interface(network['address'])
            if interface.network.prefixlen == interface.max_prefixlen:
                errors.append('address %s: give the prefix length, e.g. 192.168.1.51/24'
                              % network['address'])
            if network.get('gateway') and \
                    ipaddress.ip_address(network['gateway']) not in interface.network:
                errors.append('gateway %s is outside %s' % (network['gateway'], interface.network))
            for server in network.get('dns') or []:
                ipaddress.ip_address(server)
        except ValueError as error:
            errors.append('network: %s' % error)
    elif network.get('gateway') or network.get('dns'):
        errors.append('gateway and dns need a static address; leave all three empty for DHCP')
    locale = settings.get('locale')
    if locale and not LOCALE_RE.match(locale):
        errors.append('locale %r: use a form like en_GB.UTF-8' % locale)
    timezone = settings.get('timezone')
    if timezone and not re.match(r'^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$', timezone):
        errors.append('timezone %r: use an Area/City name like Europe/London' % timezone)
    for key, value in (settings.get('config_txt') or {}).items():
        if not CONFIG_KEY_RE.match(str(key)):
            errors.append('config.txt setting %r: not a config.txt option name' % key)
        if value is None or re.search(r'[\r\n]', str(value)):
            errors.append('config.txt setting %s: give a single-line value' % key)
    return errors


def overclocks(config_txt):
    """The overclocking/overvolting settings among ``config_txt``, sorted by name."""
    return dict((key, value) for key, value in sorted((config_txt or {}).items())
                if key in OVERCLOCK_KEYS)


def config_txt_value(value):
    if isinstance(value, bool):
        return '1' if value else '0'
    return str(value)


def updated_config_txt(text, settings):
    """``config.txt`` with one managed block, at the end under ``[all]``, holding ``settings``.

    The block is replaced on each run (an empty ``settings`` removes it), so settings
    taken out of the inventory leave the card too. The rest of the file is untouched.
    """
    lines = text.splitlines()
    if CONFIG_BEGIN in lines and CONFIG_END in lines[lines.index(CONFIG_BEGIN):]:
        begin = lines.index(CONFIG_BEGIN)
        end = lines.index(CONFIG_END, begin)
        lines = lines[:begin] + lines[end + 1:]
        while lines and not lines[-1].strip():
            lines.pop()
    if settings:
        lines += ['', CONFIG_BEGIN, '[all]']
        lines += ['%s=%s' % (key, config_txt_value(value)) for key, value in sorted(settings.items())]
        lines.append(CONFIG_END)
    return '\n'.join(lines) + '\n'


def cmdline_with(cmdline, add=(), drop=()):
    """A one-line ``cmdline.txt`` with arguments dropped (by key) and added (replacing)."""
    words = cmdline.split()
    keys = set(word.split('=', 1)[0] for word in add) | set(drop)
    words = [word for word in words if word.split('=', 1)[0] not in keys]
    return ' '.join(words + list(add)) + '\n'


def firstrun_cmdline(cmdline):
    return cmdline_with(cmdline, add=FIRSTRUN_ARGS.split())


def nfs_cmdline(cmdline, server, export):
    """The boot partition's ``cmdline.txt`` turned to mount ``server:export`` as root."""
    return cmdline_with(cmdline, add=['root=/dev/nfs', 'nfsroot=%s:%s,vers=3,tcp' % (server, export),
                                      'rw', 'ip=dhcp', 'rootwait'],
                        drop=['rootfstype', 'fsck.repair', 'init', 'resize', 'quiet',
                              'systemd.run', 'systemd.run_success_action', 'systemd.unit'])


def fstab_without_sd(text):
    """``/etc/fstab`` without the entries that mount the SD card (or any local block device
    by PARTUUID, UUID, LABEL or /dev path), for a node whose root is on NFS."""
    kept = []
    for line in text.splitlines():
        fields = line.split()
        if fields and not fields[0].startswith('#') and \
                re.match(r'^(PARTUUID=|UUID=|LABEL=|PARTLABEL=|/dev/(mmcblk|sd|nvme))', fields[0]):
            continue
        kept.append(line)
    return '\n'.join(kept) + '\n'


def hosts_with(text, hostname):
    """``/etc/hosts`` whose 127.0.1.1 line names ``hostname`` (as Debian's installer does)."""
    lines = [line for line in (text or '127.0.0.1\tlocalhost\n').splitlines()
             if not line.startswith('127.0.1.1')]
    return '\n'.join(lines + ['127.0.1.1\t%s' % hostname]) + '\n'


def locale_gen_with(text, locale):
    """``/etc/locale.gen`` with ``locale``'s line uncommented (added when missing)."""
    charset = locale.split('.', 1)[1] if '.' in locale else 'ISO-8859-1'
    wanted = '%s %s' % (locale, charset)
    lines = (text or '').splitlines()
    for number, line in enumerate(lines):
        if line.lstrip('# ').strip() == wanted:
            lines[number] = wanted
            break
    else:
        lines.append(wanted)
    return '\n'.join(lines) + '\n'


def nm_connection(interface, network):
    """A NetworkManager keyfile giving ``interface`` a static IPv4 address."""
    address = ipaddress.ip_interface(network['address'])
    lines = ['[connection]', 'id=picluster-%s' % interface, 'type=ethernet',
             'interface-name=%s' % interface, 'autoconnect=true', 'autoconnect-priority=100', '',
             '[ipv4]', 'method=manual', 'address1=%s%s' % (
                 address.with_prefixlen, ',' + network['gateway'] if network.get('gateway') else '')]
    if network.get('dns'):
        lines.append('dns=%s;' % ';'.join(network['dns']))
    lines += ['', '[ipv6]', 'method=auto', '']
    return '\n'.join(lines)


def cloud_network_config(interface, network):
    """cloud-init's ``network-config`` (version 2) for ``interface``: DHCP or static."""
    config = {'version': 2, 'ethernets': {interface: {}}}
    if network.get('address'):
        ethernet = {'dhcp4': False, 'addresses': [network['address']]}
        if network.get('gateway'):
            ethernet['routes'] = [{'to': 'default', 'via': network['gateway']}]
        if network.get('dns'):
            ethernet['nameservers'] = {'addresses': list(network['dns'])}
    else:
        ethernet = {'dhcp4': True, 'optional': True}
    config['ethernets'][interface] = ethernet
    # JSON is YAML, and needs no YAML library on the node.
    return 'network: %s\n' % json.dumps(config, indent=2, sort_keys=True)


def cloud_user_data(settings):
    """cloud-init's ``user-data``: hostname, the first user, SSH, locale and timezone."""
    user = {'name': settings['user'], 'shell': '/bin/bash',
            'groups': 'users,adm,dialout,audio,netdev,video,plugdev,cdrom,games,input,gpio,'
                      'spi,i2c,render,sudo',
            'sudo': 'ALL=(ALL) NOPASSWD:ALL',
            'lock_passwd': not settings.get('password_hash')}
    if settings.get('password_hash'):
        user['passwd'] = settings['password_hash']
    if settings.get('authorized_keys'):
        user['ssh_authorized_keys'] = [key.strip() for key in settings['authorized_keys']]
    data = {'hostname': settings['hostname'], 'manage_etc_hosts': True, 'users': [user],
            'enable_ssh': bool(settings.get('ssh', True)),
            'ssh_pwauth': bool(settings.get('ssh_password_auth'))}
    if settings.get('locale'):
        data['locale'] = settings['locale']
    if settings.get('timezone'):
        data['timezone'] = settings['timezone']
    return '#cloud-config\n' + json.dumps(data, indent=2, sort_keys=True) + '\n'


def firstrun_script(settings):
    """``firstrun.sh``: what must run on the booted node - the first user and its keys,
    ``locale-gen`` - after which it removes itself (and, on an SD card, its cmdline.txt
    arguments), as Raspberry Pi OS bookworm expects."""
    quote = shlex.quote
    keys = '\n'.join(key.strip() for key in settings.get('authorized_keys') or [])
    lines = [
        '#!/bin/bash',
        '# First boot of %s, written by picluster.hpl. Runs once, then removes itself.'
        % settings['hostname'],
        'set -u',
        'user=%s' % quote(settings['user']),
        "password_hash=%s" % quote(settings.get('password_hash') or '*'),
        'if ! getent passwd "$user" >/dev/null; then',
        '  if [ -x /usr/lib/userconf-pi/userconf ]; then',
        '    /usr/lib/userconf-pi/userconf "$user" "$password_hash"',
        '  else',
        '    useradd --create-home --shell /bin/bash --groups sudo "$user"',
        '  fi',
        'fi',
        '[ "$password_hash" = "*" ] || usermod --password "$password_hash" "$user"',
        'home=$(getent passwd "$user" | cut -d: -f6)',
        'group=$(id -gn "$user")',
    ]
    if keys:
        lines += [
            'install -d -m 0700 -o "$user" -g "$group" "$home/.ssh"',
            "cat > \"$home/.ssh/authorized_keys\" <<'PICLUSTER_KEYS'",
            keys,
            'PICLUSTER_KEYS',
            'chown "$user:$group" "$home/.ssh/authorized_keys"',
            'chmod 0600 "$home/.ssh/authorized_keys"',
        ]
    if settings.get('locale'):
        lines.append('command -v locale-gen >/dev/null && locale-gen')
    if settings.get('ssh', True):
        lines.append('systemctl enable ssh >/dev/null 2>&1 || true')
    lines += [
        'rm -f /boot/firmware/firstrun.sh /boot/firmware/userconf.txt',
        # Exactly the arguments that ran this script, so the next boot is a normal one.
        "sed -i %s /boot/firmware/cmdline.txt" % ' '.join(
            "-e 's| %s||'" % argument for argument in FIRSTRUN_ARGS.split()),
        'exit 0',
        '',
    ]
    return '\n'.join(lines)


FIRSTBOOT_UNIT_TEXT = '''[Unit]
Description=First boot of a picluster.hpl netboot node (user, SSH keys, locale)
ConditionPathExists=/boot/firmware/firstrun.sh
After=userconfig.service network.target
Before=ssh.service

[Service]
Type=oneshot
ExecStart=/bin/bash /boot/firmware/firstrun.sh

[Install]
WantedBy=multi-user.target
'''


def plan(settings, flavour, current, netboot=False):
    """What to write for one node: a list of (where, path, content, mode) and symlinks.

    ``where`` is ``boot`` or ``root``; content None means remove; a ``('root', path,
    ('symlink', target), None)`` entry links. ``current`` maps ``cmdline.txt``,
    ``config.txt``, ``hosts`` and ``locale.gen`` to their current text. On a netboot tree nothing reads ``cmdline.txt``
    from the root, so ``firstrun.sh`` is run by a systemd unit instead of ``systemd.run``.
    """
    changes = []
    hostname = settings['hostname']
    interface = settings.get('interface') or 'eth0'
    network = settings.get('network') or {}
    changes.append(('root', '/etc/hostname', hostname + '\n', 0o644))
    changes.append(('root', '/etc/hosts', hosts_with(current.get('hosts'), hostname), 0o644))
    ssh_config = 'PasswordAuthentication %s\n' % ('yes' if settings.get('ssh_password_auth') else 'no')
    changes.append(('root', '/etc/ssh/sshd_config.d/picluster.conf', ssh_config, 0o644))
    if settings.get('timezone'):
        changes.append(('root', '/etc/timezone', settings['timezone'] + '\n', 0o644))
        changes.append(('root', '/etc/localtime',
                        ('symlink', '/usr/share/zoneinfo/' + settings['timezone']), None))
    if settings.get('locale'):
        changes.append(('root', '/etc/default/locale', 'LANG=%s\n' % settings['locale'], 0o644))
        changes.append(('root', '/etc/locale.gen',
                        locale_gen_with(current.get('locale.gen'), settings['locale']), 0o644))
    # An empty "ssh" file on the boot partition makes Raspberry Pi OS enable sshd.
    changes.append(('boot', '/ssh', '' if settings.get('ssh', True) else None, 0o755))
    config = updated_config_txt(current.get('config.txt') or '', settings.get('config_txt') or {})
    changes.append(('boot', '/config.txt', config, 0o755))
    if netboot:
        # The kernel brought the interface up (ip=dhcp) and the root is mounted over it:
        # nothing in user space may reconfigure it. Nor can swap live on NFS.
        changes.append(('root', NM_NFSROOT, '[keyfile]\nunmanaged-devices=interface-name:%s\n' % interface,
                        0o644))
        changes.append(('root', SWAP_WANTS, None, None))
    if flavour == 'cloud-init':
        changes.append(('boot', '/user-data', cloud_user_data(settings), 0o755))
        changes.append(('boot', '/network-config', 'network:\n  config: disabled\n' if netboot
                        else cloud_network_config(interface, network), 0o755))
        instance = hashlib.sha256(json.dumps(settings, sort_keys=True).encode('utf-8')).hexdigest()
        changes.append(('boot', '/meta-data', 'instance-id: picluster-%s-%s\nlocal-hostname: %s\n'
                        % (hostname, instance[:12], hostname), 0o755))
    else:
        userconf = '%s:%s\n' % (settings['user'], settings.get('password_hash') or '*')
        changes.append(('boot', '/userconf.txt', userconf, 0o755))
        changes.append(('boot', '/firstrun.sh', firstrun_script(settings), 0o755))
        if netboot:
            changes.append(('root', FIRSTBOOT_UNIT, FIRSTBOOT_UNIT_TEXT, 0o644))
            changes.append(('root', FIRSTBOOT_WANTS, ('symlink', FIRSTBOOT_UNIT), None))
        else:
            changes.append(('boot', '/cmdline.txt', firstrun_cmdline(current.get('cmdline.txt') or ''),
                            0o755))
        connection = NM_CONNECTION.format(interface)
        changes.append(('root', connection, nm_connection(interface, network) if network.get('address')
                        else None, 0o600))
    return changes


def current_files(boot, root):
    """The current text of the files :func:`plan` edits rather than replaces."""
    found = {}
    for name, filesystem, path in (('cmdline.txt', boot, '/cmdline.txt'),
                                   ('config.txt', boot, '/config.txt'),
                                   ('hosts', root, '/etc/hosts'),
                                   ('locale.gen', root, '/etc/locale.gen')):
        data = filesystem.read(path)
        if data is not None:
            found[name] = data.decode('utf-8', 'replace')
    return found


def apply(boot, root, changes, check_mode=False):
    """Make each planned change that differs from what is there; returns what changed."""
    changed = []
    for where, path, content, mode in changes:
        filesystem = boot if where == 'boot' else root
        if isinstance(content, tuple):
            if filesystem.readlink(path) != content[1]:
                changed.append('%s:%s' % (where, path))
                if not check_mode:
                    filesystem.symlink(path, content[1])
        elif content is None:
            if filesystem.exists(path):
                changed.append('%s:%s' % (where, path))
                if not check_mode:
                    filesystem.remove(path)
        elif filesystem.read(path) != content.encode('utf-8'):
            changed.append('%s:%s' % (where, path))
            if not check_mode:
                filesystem.write(path, content.encode('utf-8'), mode)
    return changed


def customise(boot, root, settings, firstboot='auto', netboot=False, record=None, check_mode=False):
    """Apply ``settings`` to a node's boot and root file systems. Returns a dict: the
    first-boot form used, the OS codename, what changed, the overclocks set."""
    errors = check_settings(settings)
    if errors:
        raise ImageError('; '.join(errors))
    if boot.read('/cmdline.txt') is None:
        raise ImageError('the boot partition has no cmdline.txt; is it a Raspberry Pi OS image?')
    flavour, codename = firstboot_flavour(root, firstboot)
    changes = plan(settings, flavour, current_files(boot, root), netboot=netboot)
    result = {'firstboot': flavour, 'os_codename': codename,
              'overclocks': overclocks(settings.get('config_txt'))}
    if record is not None:
        document = dict(record, hostname=settings['hostname'], firstboot=flavour,
                        os_codename=codename, config_txt=settings.get('config_txt') or {},
                        overclocks=result['overclocks'])
        changes.append(('root', RECORD_PATH, json.dumps(document, indent=2, sort_keys=True) + '\n',
                        0o644))
    result['changed_files'] = apply(boot, root, changes, check_mode)
    return result


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
