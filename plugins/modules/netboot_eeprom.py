#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: picluster.hpl contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: netboot_eeprom
short_description: Set a Raspberry Pi's bootloader EEPROM for network boot, and record it
version_added: 0.2.0
description:
  - Reads the board's model, serial (the last 8 hex digits of C(/proc/cpuinfo)'s C(Serial),
    as the netboot server names its TFTP directory) and the wired interface's MAC, and
    returns them as the C(picluster_netboot) fact.
  - Refuses, changing nothing, on a machine that is not a Raspberry Pi with a bootloader
    EEPROM (Pi 4, 400, 5, Compute Module 4/5).
  - Reads the bootloader's current config with C(rpi-eeprom-config), sets C(BOOT_ORDER)
    (and C(TFTP_PREFIX), C(TFTP_PREFIX_STR), C(TFTP_IP) when given), and stages the new
    config with C(rpi-eeprom-config --apply); the bootloader takes it at the next reboot.
  - Records what it changed, with the values before and after, in C(record).
author:
  - picluster.hpl developers (@picluster-hpl)
attributes:
  check_mode:
    support: full
    description: Reads the board and its config and reports the change it would make.
  diff_mode:
    support: none
    description: The change is returned in C(changes).
options:
  boot_order:
    description: The C(BOOT_ORDER), read right to left; C(0xf21) tries the SD card, then the network, then repeats.
    type: str
    default: '0xf21'
  tftp_prefix:
    description: C(TFTP_PREFIX) - 0 a directory named by the serial, 1 C(tftp_prefix_str), 2 the MAC address.
    type: int
    choices: [0, 1, 2]
  tftp_prefix_str:
    description: C(TFTP_PREFIX_STR), the directory for C(tftp_prefix=1).
    type: str
  tftp_ip:
    description: C(TFTP_IP), a TFTP server to use instead of the one the DHCP answer names.
    type: str
  interface:
    description: The wired interface whose MAC the server's DHCP answers by.
    type: str
    default: eth0
  record:
    description: Where to record the change (JSON).
    type: path
    default: /var/lib/picluster/netboot.json
notes:
  - Needs C(rpi-eeprom-config) from Raspberry Pi OS's C(rpi-eeprom) package.
'''

EXAMPLES = r'''
- name: Boot from the SD card, then the network
  picluster.hpl.netboot_eeprom:
    boot_order: '0xf21'
  register: eeprom

- name: Network first, TFTP directories named by MAC
  picluster.hpl.netboot_eeprom:
    boot_order: '0xf12'
    tftp_prefix: 2
'''

RETURN = r'''
changes:
  description: Each setting changed, as C([before, after]).
  returned: always
  type: dict
  sample: {BOOT_ORDER: ["0xf41", "0xf21"]}
reboot_required:
  description: Whether a new config was staged for the next boot.
  returned: always
  type: bool
rpi_eeprom_config:
  description: The path of C(rpi-eeprom-config); null (in check mode only) when it is not installed.
  returned: always
  type: str
ansible_facts:
  description: Facts added.
  returned: always
  type: dict
  contains:
    picluster_netboot:
      description: The board's C(model), C(serial), C(mac), C(boot_order) and C(boot_order_means), and its C(tftp_directory).
      type: dict
'''

import json
import os
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.picluster.hpl.plugins.module_utils import netboot
from ansible_collections.picluster.hpl.plugins.module_utils.files import atomic_write


ARGUMENT_SPEC = dict(
    boot_order=dict(type='str', default='0xf21'),
    tftp_prefix=dict(type='int', choices=[0, 1, 2]),
    tftp_prefix_str=dict(type='str'),
    tftp_ip=dict(type='str'),
    interface=dict(type='str', default='eth0'),
    record=dict(type='path', default='/var/lib/picluster/netboot.json'),
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    wanted = (params['boot_order'], params['tftp_prefix'], params['tftp_prefix_str'], params['tftp_ip'])
    problems = netboot.check_settings(*wanted)
    if problems:
        module.fail_json(msg='; '.join(problems))
    board = netboot.identity('/', params['interface'])
    reason = netboot.refusal(board)
    if reason:
        module.fail_json(msg='%s: %s' % (os.uname()[1], reason), board=board)
    tool = eeprom_tool(module, board)
    code, current, err = module.run_command([tool])
    if code:
        module.fail_json(msg='rpi-eeprom-config could not read the bootloader config: %s' % err.strip(), board=board)
    text, changes = netboot.eeprom_config_with(current, netboot.eeprom_settings(*wanted))
    facts = dict(board, boot_order=params['boot_order'],
                 boot_order_means=netboot.describe_boot_order(params['boot_order']),
                 tftp_directory=netboot.tftp_directory(board, params['tftp_prefix'], params['tftp_prefix_str']))
    result = dict(changed=bool(changes), changes=changes, reboot_required=bool(changes), rpi_eeprom_config=tool,
                  ansible_facts=dict(picluster_netboot=facts))
    if changes and not module.check_mode:
        stage(module, tool, text, result)
        record = dict(facts, changes=changes, before=current, after=text,
                      staged_at=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()))
        atomic_write(params['record'], json.dumps(record, indent=2, sort_keys=True).encode('utf-8'))
    module.exit_json(**result)


def eeprom_tool(module, board):
    """rpi-eeprom-config's path; without it, check mode still reports the board, so that a
    play can install rpi-eeprom and come back."""
    tool = module.get_bin_path('rpi-eeprom-config', required=False, opt_dirs=['/usr/bin', '/usr/sbin'])
    if not tool:
        if module.check_mode:
            module.exit_json(changed=False, changes={}, reboot_required=False, rpi_eeprom_config=None,
                             ansible_facts=dict(picluster_netboot=dict(board)))
        module.fail_json(msg='rpi-eeprom-config is missing: install the rpi-eeprom package (Raspberry Pi OS)',
                         board=board)
    return tool


def stage(module, tool, text, result):
    """Hand the new bootloader config to rpi-eeprom-config, which stages it for the next boot."""
    with tempfile.NamedTemporaryFile('w', suffix='.conf', delete=False) as handle:
        handle.write(text)
    try:
        code, out, err = module.run_command([tool, '--apply', handle.name])
    finally:
        os.remove(handle.name)
    if code:
        module.fail_json(msg='rpi-eeprom-config --apply failed: %s' % (err or out).strip(), **result)


if __name__ == '__main__':
    main()
