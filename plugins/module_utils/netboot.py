# -*- coding: utf-8 -*-
# Copyright: picluster.hpl contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A Raspberry Pi's side of network boot: who it is (model, serial, MAC) and its bootloader
EEPROM settings.

A Pi 4, 400, 5 or Compute Module 4/5 keeps its bootloader in an EEPROM whose config holds
``BOOT_ORDER`` (read right to left: 0xf21 tries the SD card, then the network, then
repeats) and, for network boot, ``TFTP_PREFIX`` (0: a directory named by the serial, 1: a
fixed string ``TFTP_PREFIX_STR``, 2: the MAC address). Older boards have no EEPROM. The
netboot server names each node's TFTP directory by that serial (the last 8 hex digits of
/proc/cpuinfo's ``Serial``). All of it is read from files below ``root``, so it is tested on
real file trees.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.picluster.hpl.plugins.module_utils.node_info import parse_cpuinfo, read_text

# Boards whose bootloader lives in an EEPROM that rpi-eeprom-config can set.
EEPROM_BOARDS = ('Raspberry Pi 4 ', 'Raspberry Pi 400 ', 'Raspberry Pi Compute Module 4',
                 'Raspberry Pi 5 ', 'Raspberry Pi 500', 'Raspberry Pi Compute Module 5')
BOOT_ORDER_RE = re.compile(r'^0x[0-9a-fA-F]{1,8}$')
MODES = {'1': 'SD card', '2': 'network', '3': 'RPIBOOT', '4': 'USB mass storage',
         '5': 'BCM-USB mass storage', '6': 'NVMe', '7': 'HTTP', 'e': 'stop', 'f': 'restart'}


class NetbootError(Exception):
    """Why this node cannot be set up for network boot, worded for the person who can act."""


def identity(root='/', interface='eth0'):
    """The board's model, serial (8 hex digits, as its TFTP directory is named) and MAC."""
    model = (read_text(root, '/proc/device-tree/model') or '').rstrip('\0').strip()
    cpuinfo = parse_cpuinfo(read_text(root, '/proc/cpuinfo'))
    serial = (cpuinfo.get('serial') or '').lower()
    mac = (read_text(root, '/sys/class/net/%s/address' % interface) or '').strip().lower()
    return {'model': model or cpuinfo.get('model', ''), 'serial': serial[-8:] if serial else '',
            'mac': mac}


def refusal(board):
    """Why this board cannot be set up for network boot here, or None."""
    model = board.get('model', '')
    if not model.startswith('Raspberry Pi'):
        return ('this is not a Raspberry Pi (model %r): only a Pi 4, 400, 5 or Compute Module 4/5 '
                'has a bootloader EEPROM to set; leave this host out of the netboot group' % (model or 'unknown'))
    if not any((model + ' ').startswith(prefix) for prefix in EEPROM_BOARDS):
        return ('%s has no bootloader EEPROM, so its boot order cannot be set from Linux: network '
                'boot needs a Pi 4, 400, 5 or Compute Module 4/5 (boot this one from its SD card)' % model)
    if not re.match(r'^[0-9a-f]{8}$', board.get('serial', '')):
        return 'cannot read the serial number from /proc/cpuinfo (got %r)' % board.get('serial')
    if not re.match(r'^([0-9a-f]{2}:){5}[0-9a-f]{2}$', board.get('mac', '')):
        return 'cannot read the MAC address of the wired interface (got %r)' % board.get('mac')
    return None


def describe_boot_order(value):
    """0xf21 -> 'SD card, then network, then restart' (the EEPROM reads it right to left)."""
    digits = value.lower()[2:]
    return ', then '.join(MODES.get(digit, 'mode %s' % digit) for digit in reversed(digits))


def parse_eeprom_config(text):
    """{KEY: value} of the ``[all]`` part of a bootloader config (and what precedes any section)."""
    values, section = {}, 'all'
    for line in (text or '').splitlines():
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        if line.startswith('[') and line.endswith(']'):
            section = line[1:-1].strip().lower()
            continue
        key, sep, value = line.partition('=')
        if sep and section == 'all':
            values[key.strip()] = value.strip()
    return values


def eeprom_config_with(text, settings):
    """``text`` with each of ``settings`` set in its ``[all]`` part.

    Returns (new text, {key: [old, new]}) - the second empty when nothing changes. Values
    are compared as the bootloader does (hex and decimal numbers by value).
    """
    current = parse_eeprom_config(text)
    changes = {}
    for key, value in settings.items():
        if value is None:
            continue
        old = current.get(key)
        if old is None or _value(old) != _value(str(value)):
            changes[key] = [old, str(value)]
    if not changes:
        return text, {}
    lines, section, done = (text or '').splitlines(), 'all', set()
    for number, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith('[') and stripped.endswith(']'):
            section = stripped[1:-1].strip().lower()
            continue
        key = stripped.partition('=')[0].strip()
        if section == 'all' and key in changes and not stripped.startswith('#'):
            lines[number] = '%s=%s' % (key, changes[key][1])
            done.add(key)
    missing = ['%s=%s' % (key, changes[key][1]) for key in sorted(changes) if key not in done]
    if missing:
        # Keys go into the first [all] section, or at the top when there is none.
        at = next((n + 1 for n, line in enumerate(lines) if line.strip().lower() == '[all]'), 0)
        lines[at:at] = missing
    return '\n'.join(lines) + '\n', changes


def _value(text):
    try:
        return int(text, 0)
    except ValueError:
        return text


def check_settings(boot_order, tftp_prefix=None, tftp_prefix_str=None, tftp_ip=None):
    """Problems with the requested bootloader settings, each saying what to change."""
    problems = []
    if not BOOT_ORDER_RE.match(boot_order or ''):
        problems.append('boot_order %r: give hex digits like 0xf21 (SD card, then network, repeat)'
                        % boot_order)
    elif '2' not in boot_order[2:]:
        problems.append('boot_order %s never tries the network (mode 2): use 0xf21 (SD first) or '
                        '0xf12 (network first)' % boot_order)
    if tftp_prefix == 1 and not tftp_prefix_str:
        problems.append('TFTP_PREFIX 1 uses a fixed directory: set tftp_prefix_str too')
    if tftp_ip and not re.match(r'^\d{1,3}(\.\d{1,3}){3}$', tftp_ip):
        problems.append('tftp_ip %r: give the TFTP server\'s IPv4 address' % tftp_ip)
    return problems


def eeprom_settings(boot_order, tftp_prefix=None, tftp_prefix_str=None, tftp_ip=None):
    return {'BOOT_ORDER': boot_order, 'TFTP_PREFIX': tftp_prefix, 'TFTP_PREFIX_STR': tftp_prefix_str,
            'TFTP_IP': tftp_ip}


def tftp_directory(board, tftp_prefix=None, tftp_prefix_str=None):
    """The TFTP directory the bootloader will ask for, by its TFTP_PREFIX."""
    if tftp_prefix == 1:
        return tftp_prefix_str
    if tftp_prefix == 2:
        return board['mac'].replace(':', '-')
    return board['serial']
