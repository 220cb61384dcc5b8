"""The netboot_client role on a machine that is not a Raspberry Pi with a bootloader EEPROM
(this one): it stops, saying why, before anything is installed or written."""

import os

import pytest

from helpers import LOCAL_INVENTORY, ROOT, ansible_env, run

pytestmark = pytest.mark.slow


def test_a_board_that_cannot_netboot_is_refused_and_nothing_changes(collections_dir, tmp_path):
    inventory = tmp_path / 'inventory.yml'
    inventory.write_text(LOCAL_INVENTORY)
    record = tmp_path / 'netboot.json'
    result = run(['ansible-playbook', '-i', str(inventory), os.path.join(ROOT, 'playbooks', 'netboot_client.yml'),
                  '-e', 'ansible_become=false'], ansible_env(collections_dir))
    assert result.returncode != 0
    assert 'is not a Raspberry Pi' in result.stdout or 'has no bootloader EEPROM' in result.stdout, result.stdout
    assert 'only a Pi 4, 400, 5 or Compute Module 4/5' in result.stdout
    # It stopped at the first task: nothing installed, nothing staged or recorded.
    assert 'Install rpi-eeprom-config' not in result.stdout
    assert not record.exists() and not os.path.exists('/var/lib/picluster/netboot.json')


def test_bad_boot_order_says_what_to_change(collections_dir, tmp_path):
    inventory = tmp_path / 'inventory.yml'
    inventory.write_text(LOCAL_INVENTORY)
    result = run(['ansible-playbook', '-i', str(inventory), os.path.join(ROOT, 'playbooks', 'netboot_client.yml'),
                  '-e', 'ansible_become=false', '-e', 'netboot_client_boot_order=0xf41'],
                 ansible_env(collections_dir))
    assert result.returncode != 0 and 'never tries the network (mode 2): use 0xf21' in result.stdout, result.stdout
