# -*- coding: utf-8 -*-
# Copyright: picluster.hpl contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a Raspberry Pi OS node gets written into its image (or its netboot trees).

The file systems themselves (an image's FAT and ext4 partitions, a netboot node's
directories) are in :mod:`pi_fs`. What a node gets, and where, is decided by :func:`plan`, a pure function tested on its
own: plain files go straight into the root filesystem (hostname, hosts, timezone, locale,
a static address, SSH settings); what needs the booted system (the first user, its keys,
``locale-gen``) goes into the first-boot files the image's own OS reads - ``userconf.txt``
and ``firstrun.sh`` on bookworm, cloud-init's ``user-data`` and ``network-config`` on
trixie.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import hashlib
import ipaddress
import json
import re
import shlex

from ansible_collections.picluster.hpl.plugins.module_utils.pi_fs import ImageError

# One planned change: ``where`` is ``boot`` or ``root``; ``content`` is the text, None to
# remove the file, or ``('symlink', target)``; ``mode`` the file's mode.
Change = collections.namedtuple('Change', 'where path content mode')
# Files that hold the first user's password hash.
SECRET_MODE = 0o600

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
    """What to write for one node: a list of :data:`Change` (files, removals, symlinks).

    ``current`` maps ``cmdline.txt``, ``config.txt``, ``hosts`` and ``locale.gen`` to their
    current text. On a netboot tree nothing reads ``cmdline.txt`` from the root, so
    ``firstrun.sh`` is run by a systemd unit instead of ``systemd.run``.
    """
    changes = []
    hostname = settings['hostname']
    interface = settings.get('interface') or 'eth0'
    network = settings.get('network') or {}
    changes.append(Change('root', '/etc/hostname', hostname + '\n', 0o644))
    changes.append(Change('root', '/etc/hosts', hosts_with(current.get('hosts'), hostname), 0o644))
    ssh_config = 'PasswordAuthentication %s\n' % ('yes' if settings.get('ssh_password_auth') else 'no')
    changes.append(Change('root', '/etc/ssh/sshd_config.d/picluster.conf', ssh_config, 0o644))
    if settings.get('timezone'):
        changes.append(Change('root', '/etc/timezone', settings['timezone'] + '\n', 0o644))
        changes.append(Change('root', '/etc/localtime',
                              ('symlink', '/usr/share/zoneinfo/' + settings['timezone']), None))
    if settings.get('locale'):
        changes.append(Change('root', '/etc/default/locale', 'LANG=%s\n' % settings['locale'], 0o644))
        changes.append(Change('root', '/etc/locale.gen',
                              locale_gen_with(current.get('locale.gen'), settings['locale']), 0o644))
    # An empty "ssh" file on the boot partition makes Raspberry Pi OS enable sshd.
    changes.append(Change('boot', '/ssh', '' if settings.get('ssh', True) else None, 0o755))
    config = updated_config_txt(current.get('config.txt') or '', settings.get('config_txt') or {})
    changes.append(Change('boot', '/config.txt', config, 0o755))
    if netboot:
        # The kernel brought the interface up (ip=dhcp) and the root is mounted over it:
        # nothing in user space may reconfigure it. Nor can swap live on NFS.
        changes.append(Change('root', NM_NFSROOT, '[keyfile]\nunmanaged-devices=interface-name:%s\n' % interface,
                              0o644))
        changes.append(Change('root', SWAP_WANTS, None, None))
    if flavour == 'cloud-init':
        # The first-boot files hold the password hash: root's alone where modes exist (a
        # netboot root; the FAT boot partition of a card has none).
        changes.append(Change('boot', '/user-data', cloud_user_data(settings), SECRET_MODE))
        changes.append(Change('boot', '/network-config', 'network:\n  config: disabled\n' if netboot
                              else cloud_network_config(interface, network), 0o755))
        instance = hashlib.sha256(json.dumps(settings, sort_keys=True).encode('utf-8')).hexdigest()
        changes.append(Change('boot', '/meta-data', 'instance-id: picluster-%s-%s\nlocal-hostname: %s\n'
                              % (hostname, instance[:12], hostname), 0o755))
    else:
        userconf = '%s:%s\n' % (settings['user'], settings.get('password_hash') or '*')
        changes.append(Change('boot', '/userconf.txt', userconf, SECRET_MODE))
        changes.append(Change('boot', '/firstrun.sh', firstrun_script(settings), SECRET_MODE | 0o100))
        if netboot:
            changes.append(Change('root', FIRSTBOOT_UNIT, FIRSTBOOT_UNIT_TEXT, 0o644))
            changes.append(Change('root', FIRSTBOOT_WANTS, ('symlink', FIRSTBOOT_UNIT), None))
        else:
            changes.append(Change('boot', '/cmdline.txt', firstrun_cmdline(current.get('cmdline.txt') or ''),
                                  0o755))
        connection = NM_CONNECTION.format(interface)
        changes.append(Change('root', connection, nm_connection(interface, network) if network.get('address')
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
        elif filesystem.read(path) != content.encode('utf-8') or _mode_differs(filesystem, path, mode):
            changed.append('%s:%s' % (where, path))
            if not check_mode:
                filesystem.write(path, content.encode('utf-8'), mode)
    return changed


def _mode_differs(filesystem, path, mode):
    """Whether a file that holds what it should has other permissions than planned (only
    where the file system keeps them: a directory tree does, a FAT partition does not)."""
    current = filesystem.mode(path) if mode is not None and hasattr(filesystem, 'mode') else None
    return current is not None and current != mode


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
        changes.append(Change('root', RECORD_PATH, json.dumps(document, indent=2, sort_keys=True) + '\n',
                              0o644))
    result['changed_files'] = apply(boot, root, changes, check_mode)
    return result
