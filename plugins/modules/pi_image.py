#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: picluster.hpl contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: pi_image
short_description: Customise a Raspberry Pi OS image for one node, without booting it
version_added: 0.2.0
description:
  - Makes one node's copy of a verified Raspberry Pi OS image (C(dest)), or unpacks it into
    a netboot node's NFS root and TFTP directory (C(root_dir), C(tftp_dir)), then customises
    it - hostname, first user with a hashed password and/or SSH keys, SSH, a static address
    or DHCP, locale, timezone, C(config.txt) settings.
  - Nothing is mounted. The FAT boot partition is edited with mtools and the ext4 root with
    debugfs (e2fsprogs), so neither the kernel's VFAT nor loop devices nor root are needed.
  - Plain files go straight into the root filesystem (C(/etc/hostname), C(/etc/hosts),
    C(/etc/timezone), C(/etc/default/locale), a NetworkManager keyfile for a static
    address, C(/etc/ssh/sshd_config.d/picluster.conf)). What needs the booted system goes
    into the first-boot files the image expects - C(userconf.txt) and C(firstrun.sh) on
    Raspberry Pi OS bookworm, cloud-init's C(user-data), C(network-config) and C(meta-data)
    on trixie. A record of what was done, including any overclocking, is written to
    C(/etc/picluster/image.json) on the node, where M(picluster.hpl.node_facts) reads it.
  - For netboot, the root gets fresh SSH host keys and an C(/etc/fstab) without SD card
    entries; the TFTP directory gets the boot partition (without first-boot files, which
    hold the password hash) and a C(cmdline.txt) that mounts C(nfs_server:nfs_export) as
    root.
  - Only files whose content differs are written, so a second run changes nothing.
author:
  - picluster.hpl developers (@picluster-hpl)
attributes:
  check_mode:
    support: full
    description: Reports what would change; copies, unpacks and writes nothing.
  diff_mode:
    support: none
    description: Lists changed files in C(changed_files) instead.
options:
  src:
    description: The verified, uncompressed Raspberry Pi OS image (C(.img)).
    type: path
    required: true
  dest:
    description:
      - This node's copy of the image, made from C(src) when missing or when C(src) has
        changed since (size or modification time), then customised.
      - Give either C(dest) or C(root_dir) and C(tftp_dir).
    type: path
  root_dir:
    description: Netboot - the node's NFS root directory, unpacked from C(src)'s root partition once.
    type: path
  tftp_dir:
    description: Netboot - the node's TFTP directory (C(/tftpboot/<serial>)).
    type: path
  nfs_server:
    description: Netboot - the NFS server's address, as the node reaches it.
    type: str
  nfs_export:
    description: Netboot - the export holding C(root_dir), as the node mounts it. Defaults to C(root_dir).
    type: str
  hostname:
    description: The node's hostname.
    type: str
    required: true
  user:
    description: The first user's name.
    type: str
    required: true
  password_hash:
    description:
      - The first user's password as a crypt(3) hash (for example from C(openssl passwd -6)).
        Leave it out for a user that logs in with SSH keys only.
    type: str
  authorized_keys:
    description: OpenSSH public keys that may log in as the first user.
    type: list
    elements: str
    default: []
  ssh:
    description: Enable the SSH server.
    type: bool
    default: true
  ssh_password_auth:
    description: Let SSH accept passwords as well as keys.
    type: bool
    default: false
  interface:
    description: The wired interface to configure.
    type: str
    default: eth0
  address:
    description: A static IPv4 address with prefix length (C(192.168.1.51/24)). Leave it out for DHCP.
    type: str
  gateway:
    description: The default gateway for a static address.
    type: str
  dns:
    description: Name servers for a static address.
    type: list
    elements: str
    default: []
  locale:
    description: The system locale, for example C(en_GB.UTF-8).
    type: str
  timezone:
    description: The time zone, for example C(Europe/London).
    type: str
  config_txt:
    description:
      - Settings for C(config.txt), kept in one managed block at its end (under C([all])).
      - Overclocking settings (C(arm_freq), C(over_voltage) and others) give a warning and
        are recorded; the original write-up's overclocked nodes crashed under HPL.
    type: dict
    default: {}
  firstboot:
    description:
      - The first-boot form. C(auto) reads the image's C(/etc/os-release) - bookworm takes
        C(firstrun), trixie and later C(cloud-init).
    type: str
    choices: [auto, firstrun, cloud-init]
    default: auto
  record:
    description: Extra facts to keep in the node's C(/etc/picluster/image.json) (for example the image's sha256).
    type: dict
    default: {}
notes:
  - Needs C(mtools) and C(e2fsprogs) (C(debugfs)); netboot also needs C(ssh-keygen).
'''

EXAMPLES = r'''
- name: Make pi1's SD card image
  picluster.hpl.pi_image:
    src: /var/cache/picluster/raspios-bookworm-arm64-lite.img
    dest: /var/cache/picluster/nodes/pi1.img
    hostname: pi1
    user: hpc
    authorized_keys:
      - "{{ lookup('ansible.builtin.file', '~/.ssh/id_ed25519.pub') }}"
    address: 192.168.1.51/24
    gateway: 192.168.1.1
    dns: [192.168.1.1]
    timezone: Europe/London
    locale: en_GB.UTF-8

- name: Unpack and customise pi2's netboot root and TFTP directory
  picluster.hpl.pi_image:
    src: /var/cache/picluster/raspios-bookworm-arm64-lite.img
    root_dir: /nfs/pi2
    tftp_dir: /tftpboot/6a3b9c01
    nfs_server: 192.168.1.10
    hostname: pi2
    user: hpc
    password_hash: "{{ vault_hpc_password_hash }}"
'''

RETURN = r'''
firstboot:
  description: The first-boot form used.
  returned: always
  type: str
  sample: firstrun
os_codename:
  description: The image's Debian codename.
  returned: always
  type: str
  sample: bookworm
changed_files:
  description: Files written or removed, as C(boot:/path), C(root:/path) or C(tftp:/path).
  returned: always
  type: list
  elements: str
  sample: ["boot:/userconf.txt", "root:/etc/hostname"]
copied:
  description: Whether the image was copied or unpacked afresh.
  returned: always
  type: bool
overclocks:
  description: The overclocking settings given in C(config_txt).
  returned: always
  type: dict
  sample: {arm_freq: 2000, over_voltage: 6}
'''

import os
import subprocess

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.picluster.hpl.plugins.module_utils.pi_fs import DirFS, ImageError, copy_sparse, open_image
from ansible_collections.picluster.hpl.plugins.module_utils.pi_image import (
    Change, apply, customise, fstab_without_sd, nfs_cmdline)
from ansible_collections.picluster.hpl.plugins.module_utils.pi_netboot import (
    load_stamp, save_stamp, source_stamp, sync_tftp, unpack)

SETTINGS = ('hostname', 'user', 'password_hash', 'authorized_keys', 'ssh', 'ssh_password_auth', 'interface',
            'locale', 'timezone', 'config_txt')


ARGUMENT_SPEC = dict(
    src=dict(type='path', required=True),
    dest=dict(type='path'),
    root_dir=dict(type='path'),
    tftp_dir=dict(type='path'),
    nfs_server=dict(type='str'),
    nfs_export=dict(type='str'),
    hostname=dict(type='str', required=True),
    user=dict(type='str', required=True),
    password_hash=dict(type='str', no_log=True),
    authorized_keys=dict(type='list', elements='str', default=[], no_log=False),
    ssh=dict(type='bool', default=True),
    ssh_password_auth=dict(type='bool', default=False),
    interface=dict(type='str', default='eth0'),
    address=dict(type='str'),
    gateway=dict(type='str'),
    dns=dict(type='list', elements='str', default=[]),
    locale=dict(type='str'),
    timezone=dict(type='str'),
    config_txt=dict(type='dict', default={}),
    firstboot=dict(type='str', default='auto', choices=['auto', 'firstrun', 'cloud-init']),
    record=dict(type='dict', default={}),
)


def main():
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        mutually_exclusive=[('dest', 'root_dir')],
        required_one_of=[('dest', 'root_dir')],
        required_together=[('root_dir', 'tftp_dir', 'nfs_server')],
        supports_check_mode=True,
    )
    params = module.params
    if not os.path.isfile(params['src']):
        module.fail_json(msg='the image %s does not exist; run the verify step first' % params['src'])
    netboot = bool(params['root_dir'])
    target = params['root_dir'] if netboot else params['dest']
    stamp_path, stamp = target.rstrip('/') + '.picluster.json', source_stamp(params['src'])
    fresh = load_stamp(stamp_path) != stamp or not os.path.exists(target)
    if fresh and module.check_mode:
        module.exit_json(changed=True, copied=True, changed_files=[], firstboot=params['firstboot'],
                         os_codename='', overclocks={})
    result = dict(changed=False, copied=fresh, changed_files=[])
    try:
        if fresh:
            make_target(params['src'], target, netboot)
        result.update(customise_target(params, target, netboot, module.check_mode))
        if fresh:
            save_stamp(stamp_path, stamp)
    except (ImageError, OSError, subprocess.CalledProcessError) as error:
        module.fail_json(msg='%s: %s' % (params['hostname'], error), **result)
    if result.get('overclocks'):
        module.warn('%s: config.txt overclocks (%s); the original write-up\'s overclocked Pis crashed '
                    'under HPL. Recorded in /etc/picluster/image.json on the node.'
                    % (params['hostname'], ', '.join('%s=%s' % item for item in result['overclocks'].items())))
    result['changed'] = bool(result['copied'] or result['changed_files'])
    module.exit_json(**result)


def make_target(src, target, netboot):
    """A fresh copy of the image (SD card) or its unpacked trees (netboot)."""
    parent = os.path.dirname(target.rstrip('/'))
    if parent and not os.path.isdir(parent):
        os.makedirs(parent, 0o755)
    if netboot:
        unpack(src, target)
    else:
        copy_sparse(src, target)


def customise_target(params, target, netboot, check_mode):
    """The node's settings applied to its copy; a netboot node's fstab without the SD card
    and its TFTP directory synced, with a cmdline.txt that mounts its NFS root."""
    settings = dict((key, params[key]) for key in SETTINGS)
    settings['network'] = dict(address=params['address'], gateway=params['gateway'], dns=params['dns'])
    record = dict(params['record'], medium='nfs' if netboot else 'sd', customised_by='picluster.hpl')
    if netboot:
        boot, root = DirFS(os.path.join(target, 'boot', 'firmware')), DirFS(target)
        original_cmdline = (boot.read('/cmdline.txt') or b'').decode('utf-8')
    else:
        boot, root = open_image(target)
    outcome = customise(boot, root, settings, firstboot=params['firstboot'], netboot=netboot,
                        record=record, check_mode=check_mode)
    if netboot:
        fstab = (root.read('/etc/fstab') or b'').decode('utf-8')
        outcome['changed_files'] += apply(boot, root, [Change('root', '/etc/fstab', fstab_without_sd(fstab), 0o644)],
                                          check_mode)
        cmdline = nfs_cmdline(original_cmdline, params['nfs_server'], params['nfs_export'] or params['root_dir'])
        outcome['changed_files'] += sync_tftp(target, params['tftp_dir'], cmdline, check_mode)
    return outcome


if __name__ == '__main__':
    main()
