"""The SD card checks: each refusal says what to change, and a card that is fine passes."""

import pytest

from ansible_collections.picluster.hpl.plugins.module_utils import block_device

CARD = {'device': '/dev/sdb', 'exists': True, 'block': True, 'name': 'sdb', 'partition': False,
        'removable': True, 'size': 32 * 10 ** 9, 'mounts': [], 'holds_root': False, 'holders': []}
IMAGE = 2 * 10 ** 9


def refused(image_size=IMAGE, force=False, **facts):
    return block_device.refusals(dict(CARD, **facts), image_size, force)


def test_a_removable_card_that_is_free_and_big_enough_may_be_written():
    assert refused() == []


@pytest.mark.parametrize('facts, message', [
    ({'exists': False}, 'does not exist'),
    ({'block': False}, 'not a block device'),
    ({'holds_root': True, 'mounts': ['/']}, "holds this controller's root filesystem"),
    ({'mounts': ['/media/bootfs']}, 'mounted at /media/bootfs); unmount it first'),
    ({'mounts': ['swap']}, 'mounted at swap'),
    ({'holders': ['dm-0']}, 'held by dm-0'),
    ({'partition': True}, 'give the whole card'),
    ({'removable': False}, 'sd_image_device_force: true'),
    ({'size': 10 ** 9}, 'smaller than the image'),
])
def test_each_refusal_says_what_to_change(facts, message):
    reasons = refused(**facts)
    assert len(reasons) == 1 and message in reasons[0], reasons


def test_force_only_overrides_removable():
    assert refused(force=True, removable=False) == []
    assert refused(force=True, removable=False, mounts=['/mnt'])


def test_inspect_finds_this_machines_root_disk():
    # The device under / on this very machine is found as holding the root filesystem.
    uses, root_names = block_device.mounted_devices()
    checked = 0
    for name in root_names:
        if name.startswith(('loop', 'dm-')):
            continue
        info = block_device.inspect('/dev/' + name)
        if info.get('block'):
            assert info['holds_root'] and block_device.refusals(info, 1, force=True)
            checked += 1
    if not checked:
        pytest.skip('this machine\'s root is on no block device with a /dev node')
