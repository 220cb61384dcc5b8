"""A Pi's netboot identity and its bootloader EEPROM config, on real file trees."""

import pytest

from ansible_collections.picluster.hpl.plugins.module_utils import netboot
from test_node_info import PI4_CPUINFO, make_tree

# As `rpi-eeprom-config` prints a Pi 4's factory config.
FACTORY = '[all]\nBOOT_UART=0\nWAKE_ON_GPIO=1\nPOWER_OFF_ON_HALT=0\n\n# Boot Order Codes, from https://...\nBOOT_ORDER=0xf41\n'


def board(tmp_path, model='Raspberry Pi 4 Model B Rev 1.4\x00', cpuinfo=PI4_CPUINFO, mac='dc:a6:32:01:02:03\n'):
    return netboot.identity(make_tree(tmp_path, {'/proc/device-tree/model': model, '/proc/cpuinfo': cpuinfo,
                                                 '/sys/class/net/eth0/address': mac}))


def test_a_pi4_is_read_and_accepted(tmp_path):
    pi = board(tmp_path)
    assert pi == {'model': 'Raspberry Pi 4 Model B Rev 1.4', 'serial': 'a1b2c3d4', 'mac': 'dc:a6:32:01:02:03'}
    assert netboot.refusal(pi) is None
    assert netboot.tftp_directory(pi) == 'a1b2c3d4'
    assert netboot.tftp_directory(pi, 2) == 'dc-a6-32-01-02-03'


@pytest.mark.parametrize('model, message', [
    ('Raspberry Pi 3 Model B Plus Rev 1.3\x00', 'has no bootloader EEPROM'),
    ('QEMU KVM Virtual Machine', 'not a Raspberry Pi'),
])
def test_boards_that_cannot_netboot_are_refused(tmp_path, model, message):
    assert message in netboot.refusal(board(tmp_path, model=model))


def test_cm4_and_pi5_are_accepted(tmp_path):
    assert netboot.refusal(board(tmp_path / 'a', model='Raspberry Pi Compute Module 4 Rev 1.0')) is None
    assert netboot.refusal(board(tmp_path / 'b', model='Raspberry Pi 5 Model B Rev 1.0')) is None
    assert netboot.refusal(board(tmp_path / 'c', model='Raspberry Pi 400 Rev 1.0')) is None


def test_missing_mac_is_refused(tmp_path):
    assert 'MAC address' in netboot.refusal(board(tmp_path, mac=''))


def test_boot_order_is_replaced_in_place_and_compared_by_value():
    text, changes = netboot.eeprom_config_with(FACTORY, netboot.eeprom_settings('0xf21'))
    assert changes == {'BOOT_ORDER': ['0xf41', '0xf21']}
    assert text == FACTORY.replace('BOOT_ORDER=0xf41', 'BOOT_ORDER=0xf21')
    assert netboot.eeprom_config_with(text, netboot.eeprom_settings('0xF21')) == (text, {})


def test_new_keys_go_into_the_all_section():
    text, changes = netboot.eeprom_config_with('[all]\nBOOT_UART=0\n[pi4]\nBOOT_ORDER=0xf1\n',
                                               netboot.eeprom_settings('0xf21', tftp_prefix=2))
    assert text == '[all]\nBOOT_ORDER=0xf21\nTFTP_PREFIX=2\nBOOT_UART=0\n[pi4]\nBOOT_ORDER=0xf1\n'
    assert changes == {'BOOT_ORDER': [None, '0xf21'], 'TFTP_PREFIX': [None, '2']}


@pytest.mark.parametrize('args, message', [
    (('0xf14',), 'never tries the network'),
    (('f21',), 'hex digits'),
    (('0xf21', 1), 'set tftp_prefix_str'),
    (('0xf21', None, None, 'server'), 'IPv4'),
])
def test_bad_settings(args, message):
    problems = netboot.check_settings(*args)
    assert len(problems) == 1 and message in problems[0]


def test_boot_order_reads_right_to_left():
    assert netboot.describe_boot_order('0xf21') == 'SD card, then network, then restart'
