"""The image customisation core: settings checks, what goes where, and the edits of
config.txt, cmdline.txt, fstab and hosts, on real directory trees."""

import json
import os
import struct
import subprocess

import pytest
import yaml

from ansible_collections.picluster.hpl.plugins.module_utils import pi_fs, pi_image, pi_netboot
from ansible_collections.picluster.hpl.plugins.module_utils.pi_fs import DirFS, ImageError

KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ2y4rUq6dsTf9mPJ0Jj4pPjJ5Rk2tWQ5h8nB0k2m1xZ hpc@laptop'
HASH = '$6$picluster$PvcZRo8Iap7LPKR/8eKewq9xRbHWbAdsPe1NM3Le2U7I.QC9Gy9LFYYcjBs1nVVLLkUUFOHME67UrOE6TyS/b.'
CMDLINE = 'console=serial0,115200 console=tty1 root=PARTUUID=5e3da7a1-02 rootfstype=ext4 fsck.repair=yes rootwait\n'


def settings(**overrides):
    base = {'hostname': 'pi1', 'user': 'hpc', 'authorized_keys': [KEY], 'password_hash': None,
            'network': {'address': None, 'gateway': None, 'dns': []}, 'locale': 'en_GB.UTF-8',
            'timezone': 'Europe/London', 'config_txt': {}}
    base.update(overrides)
    return base


def tree(tmp_path, codename='bookworm'):
    root, boot = tmp_path / 'root', tmp_path / 'root' / 'boot' / 'firmware'
    (root / 'etc').mkdir(parents=True)
    boot.mkdir(parents=True)
    (root / 'etc' / 'os-release').write_text('VERSION_CODENAME=%s\n' % codename)
    (root / 'etc' / 'hosts').write_text('127.0.0.1\tlocalhost\n127.0.1.1\traspberrypi\n')
    (root / 'etc' / 'fstab').write_text(
        'proc /proc proc defaults 0 0\nPARTUUID=5e3da7a1-01 /boot/firmware vfat defaults 0 2\n'
        'PARTUUID=5e3da7a1-02 / ext4 defaults,noatime 0 1\n# UUID=x /data ext4 defaults 0 2\n')
    (boot / 'cmdline.txt').write_text(CMDLINE)
    (boot / 'config.txt').write_text('dtparam=audio=on\n[cm4]\notg_mode=1\n[all]\n')
    return DirFS(str(boot)), DirFS(str(root))


@pytest.mark.parametrize('change, message', [
    ({'hostname': 'Pi_1'}, 'hostname'),
    ({'user': 'root'}, 'cannot be root'),
    ({'password_hash': 'raspberry'}, 'never the password itself'),
    ({'authorized_keys': [], 'password_hash': None}, 'nobody can log in'),
    ({'authorized_keys': ['not a key']}, 'not an OpenSSH public key'),
    ({'network': {'address': '192.168.1.51', 'gateway': None, 'dns': []}}, 'prefix length'),
    ({'network': {'address': '192.168.1.51/24', 'gateway': '10.0.0.1', 'dns': []}}, 'outside 192.168.1.0/24'),
    ({'network': {'address': None, 'gateway': '192.168.1.1', 'dns': []}}, 'need a static address'),
    ({'locale': 'english'}, 'en_GB.UTF-8'),
    ({'config_txt': {'arm freq': 1}}, 'not a config.txt option'),
    ({'config_txt': {'arm_freq': '1\ninit=/bin/sh'}}, 'single-line'),
])
def test_bad_settings_say_what_to_change(change, message):
    problems = pi_image.check_settings(settings(**change))
    assert len(problems) == 1 and message in problems[0], problems


def test_good_settings_have_no_problems():
    assert pi_image.check_settings(settings(password_hash=HASH, network={
        'address': '192.168.1.51/24', 'gateway': '192.168.1.1', 'dns': ['1.1.1.1']})) == []


def test_config_txt_block_is_replaced_and_removed():
    original = 'dtparam=audio=on\n[cm4]\notg_mode=1\n'
    once = pi_image.updated_config_txt(original, {'arm_freq': 1800, 'force_turbo': True})
    assert once.startswith(original) and once.endswith(
        '[all]\narm_freq=1800\nforce_turbo=1\n# END picluster.hpl managed settings\n')
    assert pi_image.updated_config_txt(once, {'arm_freq': 1800, 'force_turbo': True}) == once
    assert pi_image.updated_config_txt(once, {}) == original
    assert pi_image.overclocks({'arm_freq': 1800, 'dtparam': 'audio=on'}) == {'arm_freq': 1800}


def test_cmdline_edits_stay_one_line_and_replace_arguments():
    sd = pi_image.firstrun_cmdline(CMDLINE)
    assert sd.count('\n') == 1 and sd.strip().endswith('systemd.unit=kernel-command-line.target')
    assert pi_image.firstrun_cmdline(sd) == sd
    nfs = pi_image.nfs_cmdline(sd, '10.0.0.1', '/nfs/pi1')
    assert 'PARTUUID' not in nfs and 'rootfstype' not in nfs and 'systemd.run' not in nfs
    assert 'root=/dev/nfs nfsroot=10.0.0.1:/nfs/pi1,vers=3,tcp rw ip=dhcp rootwait' in nfs
    assert nfs.startswith('console=serial0,115200 console=tty1 ')


def test_fstab_loses_sd_entries_only():
    text = ('proc /proc proc defaults 0 0\nPARTUUID=1-01 /boot/firmware vfat defaults 0 2\n'
            '/dev/mmcblk0p2 / ext4 defaults 0 1\n# PARTUUID=kept-comment\ntmpfs /tmp tmpfs defaults 0 0\n')
    assert pi_image.fstab_without_sd(text) == ('proc /proc proc defaults 0 0\n# PARTUUID=kept-comment\n'
                                               'tmpfs /tmp tmpfs defaults 0 0\n')


def test_flavour_follows_the_image(tmp_path):
    dummy, root = tree(tmp_path / 'a', 'bookworm')
    assert pi_image.firstboot_flavour(root) == ('firstrun', 'bookworm')
    dummy, root = tree(tmp_path / 'b', 'trixie')
    assert pi_image.firstboot_flavour(root) == ('cloud-init', 'trixie')
    dummy, root = tree(tmp_path / 'c', 'buster')
    with pytest.raises(ImageError, match='too old'):
        pi_image.firstboot_flavour(root)


def test_netboot_tree_customisation_is_idempotent(tmp_path):
    boot, root = tree(tmp_path)
    wanted = settings(network={'address': '10.0.0.51/24', 'gateway': '10.0.0.1', 'dns': []},
                      config_txt={'over_voltage': 2})
    result = pi_image.customise(boot, root, wanted, netboot=True, record={'medium': 'nfs'})
    assert result['firstboot'] == 'firstrun' and result['overclocks'] == {'over_voltage': 2}
    assert 'boot:/firstrun.sh' in result['changed_files']
    # On a netboot tree cmdline.txt is left alone; a systemd unit runs firstrun.sh instead.
    assert root.read('/boot/firmware/cmdline.txt').decode() == CMDLINE
    assert os.readlink(str(tmp_path / 'root' / pi_image.FIRSTBOOT_WANTS.lstrip('/'))) == pi_image.FIRSTBOOT_UNIT
    assert (tmp_path / 'root' / pi_image.NM_CONNECTION.format('eth0').lstrip('/')).stat().st_mode & 0o777 == 0o600
    assert json.loads(root.read(pi_image.RECORD_PATH))['overclocks'] == {'over_voltage': 2}
    script = boot.read('/firstrun.sh').decode()
    subprocess.run(['bash', '-n'], input=script.encode(), check=True)
    assert pi_image.customise(boot, root, wanted, netboot=True, record={'medium': 'nfs'})['changed_files'] == []
    # Back to DHCP: the static address file goes.
    wanted['network'] = {'address': None, 'gateway': None, 'dns': []}
    changed = pi_image.customise(boot, root, wanted, netboot=True, record={'medium': 'nfs'})['changed_files']
    assert changed == ['root:' + pi_image.NM_CONNECTION.format('eth0')]


def test_cloud_init_files_are_yaml(tmp_path):
    boot, root = tree(tmp_path, 'trixie')
    pi_image.customise(boot, root, settings(password_hash=HASH, ssh_password_auth=True))
    data = yaml.safe_load(boot.read('/user-data'))
    assert data['users'][0]['passwd'] == HASH and data['users'][0]['lock_passwd'] is False
    assert data['ssh_pwauth'] is True and data['hostname'] == 'pi1'
    assert yaml.safe_load(boot.read('/network-config'))['network']['ethernets']['eth0']['dhcp4'] is True
    assert not boot.exists('/userconf.txt')


def test_customise_refuses_what_is_not_a_pi_image(tmp_path):
    boot, root = tree(tmp_path)
    os.remove(os.path.join(boot.root, 'cmdline.txt'))
    with pytest.raises(ImageError, match='no cmdline.txt'):
        pi_image.customise(boot, root, settings())


def mbr(entries, signature=b'\x55\xaa'):
    table = b''.join(struct.pack('<B3sB3sII', 0, b'\0' * 3, kind, b'\0' * 3, start, count)
                     for kind, start, count in entries)
    return b'\0' * 446 + table.ljust(64, b'\0') + signature


def test_partitions_are_read_from_the_mbr(tmp_path):
    image = tmp_path / 'disk.img'
    image.write_bytes(mbr([(0x0c, 8192, 1024), (0x83, 9216, 2048)]))
    boot, root = pi_fs.pi_partitions(str(image))
    assert (boot['offset'], boot['size'], root['offset']) == (8192 * 512, 1024 * 512, 9216 * 512)
    image.write_bytes(mbr([(0xee, 1, 100)]))
    with pytest.raises(ImageError, match='GPT'):
        pi_fs.partitions(str(image))
    image.write_bytes(mbr([(0x83, 2048, 100)]))
    with pytest.raises(ImageError, match='FAT boot and a Linux root'):
        pi_fs.pi_partitions(str(image))
    image.write_bytes(b'\0' * 512)
    with pytest.raises(ImageError, match='no MBR'):
        pi_fs.partitions(str(image))


def test_firstrun_leaves_the_cmdline_as_it_found_it(tmp_path):
    """The script's own clean-up, run for real on the cmdline.txt an SD card gets."""
    script = pi_image.firstrun_script(settings(password_hash=HASH))
    (cleanup,) = [line for line in script.splitlines() if line.startswith('sed -i')]
    cmdline = tmp_path / 'cmdline.txt'
    cmdline.write_text(pi_image.firstrun_cmdline(CMDLINE))
    subprocess.run(['bash', '-c', cleanup.replace('/boot/firmware/cmdline.txt', str(cmdline))], check=True)
    assert cmdline.read_text() == CMDLINE
    assert 'usermod --password "$password_hash"' in script and "password_hash='$6$picluster$" in script


def test_netboot_roots_do_not_swap_to_nfs(tmp_path):
    boot, root = tree(tmp_path)
    wants = tmp_path / 'root' / pi_image.SWAP_WANTS.lstrip('/')
    wants.parent.mkdir(parents=True)
    wants.symlink_to('/lib/systemd/system/dphys-swapfile.service')
    result = pi_image.customise(boot, root, settings(), netboot=True)
    assert 'root:' + pi_image.SWAP_WANTS in result['changed_files'] and not os.path.lexists(str(wants))
    assert 'unmanaged-devices=interface-name:eth0' in root.read(pi_image.NM_NFSROOT).decode()


def test_first_boot_files_come_from_the_plan_under_either_flavour():
    # The files a netboot node's TFTP directory must never serve: one holds the password hash.
    assert pi_netboot.firstboot_files() == {'ssh', 'userconf.txt', 'firstrun.sh', 'user-data', 'network-config',
                                            'meta-data'}


def test_tftp_sync_serves_the_boot_files_but_no_first_boot_file(tmp_path):
    firmware = tmp_path / 'root' / 'boot' / 'firmware'
    (firmware / 'overlays').mkdir(parents=True)
    for name, text in (('config.txt', 'arm_64bit=1\n'), ('start4.elf', 'elf'), ('overlays/x.dtbo', 'dtbo'),
                       ('cmdline.txt', 'root=/dev/mmcblk0p2\n'), ('userconf.txt', 'pi:$6$hash\n'),
                       ('firstrun.sh', '#!/bin/sh\n'), ('user-data', '#cloud-config\n')):
        (firmware / name).write_text(text)
    tftp = tmp_path / 'tftp'
    tftp.mkdir()
    (tftp / 'stale.bin').write_text('old')
    changed = pi_netboot.sync_tftp(str(tmp_path / 'root'), str(tftp), 'root=/dev/nfs\n', check_mode=False)
    served = sorted(str(path.relative_to(tftp)) for path in tftp.rglob('*') if path.is_file())
    assert served == ['cmdline.txt', 'config.txt', 'overlays/x.dtbo', 'start4.elf']
    assert (tftp / 'cmdline.txt').read_text() == 'root=/dev/nfs\n'
    assert 'tftp:/stale.bin' in changed and 'tftp:/userconf.txt' not in changed
    assert pi_netboot.sync_tftp(str(tmp_path / 'root'), str(tftp), 'root=/dev/nfs\n', check_mode=False) == []


@pytest.mark.parametrize('codename, secrets', [('bookworm', {'userconf.txt': 0o600, 'firstrun.sh': 0o700}),
                                               ('trixie', {'user-data': 0o600})])
def test_the_files_that_hold_the_password_hash_are_roots_alone(tmp_path, codename, secrets):
    boot, root = tree(tmp_path, codename)
    firmware = tmp_path / 'root' / 'boot' / 'firmware'
    pi_image.customise(boot, root, settings(password_hash=HASH), netboot=True)
    assert dict((name, (firmware / name).stat().st_mode & 0o777) for name in secrets) == secrets
    assert all(HASH in (firmware / name).read_text() for name in secrets if name != 'firstrun.sh')
    # A tree made before, world-readable, is put right, and says so.
    for name in secrets:
        (firmware / name).chmod(0o755)
    changed = pi_image.customise(boot, root, settings(password_hash=HASH), netboot=True)['changed_files']
    assert sorted(changed) == sorted('boot:/' + name for name in secrets)
    assert dict((name, (firmware / name).stat().st_mode & 0o777) for name in secrets) == secrets
