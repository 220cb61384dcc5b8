"""The sd_image role for real: a Raspberry Pi OS-shaped image (built here, FAT boot + ext4
root) is verified against its pin, customised per node and written to a loop device; the
device is read back with the system's own tools (sfdisk, mtools, debugfs), and every
refusal is proven to leave the devices untouched."""

import hashlib
import json
import os
import subprocess

import pytest
import yaml

from helpers import ROOT, ansible_env, run

pytestmark = pytest.mark.slow
MAKE_IMAGE = os.path.join(ROOT, 'tests', 'support', 'make-pi-image.sh')
PLAYBOOK = os.path.join(ROOT, 'playbooks', 'sd_image.yml')
KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ2y4rUq6dsTf9mPJ0Jj4pPjJ5Rk2tWQ5h8nB0k2m1xZ hpc@laptop'
# openssl passwd -6 -salt picluster raspberry
PASSWORD_HASH = '$6$picluster$PvcZRo8Iap7LPKR/8eKewq9xRbHWbAdsPe1NM3Le2U7I.QC9Gy9LFYYcjBs1nVVLLkUUFOHME67UrOE6TyS/b.'
MIB = 1024 * 1024


def sh(*argv, **kwargs):
    return subprocess.run(argv, check=True, stdout=subprocess.PIPE, universal_newlines=True, **kwargs).stdout


def sha256(path, length=None):
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        digest.update(handle.read(length) if length else handle.read())
    return digest.hexdigest()


class Loop(object):
    """A loop device over a file of ``size`` random-ish bytes; detached at the end."""

    def __init__(self, path, size):
        with open(path, 'wb') as handle:
            handle.write(os.urandom(MIB) * (size // MIB))
        self.file = path
        self.device = sh('losetup', '--find', '--show', path).strip()

    def sha256(self):
        return sha256(self.device)

    def detach(self):
        subprocess.run(['losetup', '-d', self.device], check=False)


@pytest.fixture(scope='module')
def images(tmp_path_factory):
    directory = tmp_path_factory.mktemp('images')
    made = {}
    for codename in ('bookworm', 'trixie'):
        image = directory / ('raspios-%s-arm64-lite.img' % codename)
        subprocess.run([MAKE_IMAGE, str(image), codename], check=True)
        subprocess.run(['xz', '--keep', '-0', '-T1', str(image)], check=True)
        made[codename] = {'img': str(image), 'xz': str(image) + '.xz',
                          'img_sha256': sha256(str(image)), 'xz_sha256': sha256(str(image) + '.xz')}
    return made


@pytest.fixture(scope='module')
def loops(tmp_path_factory):
    directory = tmp_path_factory.mktemp('devices')
    made = {'card': Loop(str(directory / 'card'), 256 * MIB),
            'bystander': Loop(str(directory / 'bystander'), 256 * MIB),
            'small': Loop(str(directory / 'small'), 64 * MIB)}
    yield made
    for loop in made.values():
        loop.detach()


def inventory(path, images, **overrides):
    common = {
        'sd_image_url': 'file://' + images['bookworm']['xz'],
        'sd_image_sha256': images['bookworm']['xz_sha256'],
        'sd_image_cache_dir': str(path / 'cache'),
        'sd_image_user': 'hpc',
        'sd_image_authorized_keys': [KEY],
        'sd_image_timezone': 'Europe/Berlin',
        'sd_image_locale': 'de_DE.UTF-8',
    }
    common.update(overrides)
    hosts = {
        'pi1': {'sd_image_address': '192.168.1.51/24', 'sd_image_gateway': '192.168.1.1',
                'sd_image_dns': ['192.168.1.1'], 'sd_image_config_txt': {'arm_freq': 2000, 'over_voltage': 6}},
        'pi2': {'sd_image_password_hash': PASSWORD_HASH, 'sd_image_ssh_password_auth': True},
    }
    with open(str(path / 'inventory.yml'), 'w') as handle:
        yaml.safe_dump({'cluster': {'hosts': hosts, 'vars': common}}, handle)
    return str(path / 'inventory.yml')


def play(collections_dir, inventory_path, *args):
    return run(['ansible-playbook', '-i', inventory_path, PLAYBOOK] + list(args), ansible_env(collections_dir))


def fat(device, offset, path, binary=False):
    out = subprocess.run(['mcopy', '-n', '-i', '%s@@%d' % (device, offset), '::' + path, '-'], check=True,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         env=dict(os.environ, MTOOLS_SKIP_CHECK='1')).stdout
    return out if binary else out.decode('utf-8')


def ext4(device, offset, command):
    return sh('/sbin/debugfs', '-R', command, '%s?offset=%d' % (device, offset), stderr=subprocess.DEVNULL)


def partitions(device):
    table = json.loads(sh('sfdisk', '--json', device))['partitiontable']
    return [part['start'] * 512 for part in table['partitions']], table['id']


def test_images_are_made_per_node_and_written_to_the_card(collections_dir, tmp_path, images, loops):
    card, bystander = loops['card'], loops['bystander']
    untouched = bystander.sha256()
    path = inventory(tmp_path, images)
    result = play(collections_dir, path, '--limit', 'pi1', '-e', 'sd_image_device=' + card.device,
                  '-e', 'sd_image_device_force=true')
    assert result.returncode == 0, result.stdout
    assert 'overclocks (arm_freq=2000, over_voltage=6)' in result.stdout
    node_image = str(tmp_path / 'cache' / 'nodes' / 'pi1.img')
    size = os.path.getsize(node_image)
    assert sha256(card.device, size) == sha256(node_image)
    assert bystander.sha256() == untouched

    # Read the card back with the system's tools: every customisation is on it.
    (boot, root), disk_id = partitions(card.device)
    assert disk_id == '0x5e3da7a1'
    assert fat(card.device, boot, '/userconf.txt') == 'hpc:*\n'
    assert fat(card.device, boot, '/ssh') == ''
    cmdline = fat(card.device, boot, '/cmdline.txt')
    assert 'systemd.run=/boot/firmware/firstrun.sh' in cmdline and 'root=PARTUUID=5e3da7a1-02' in cmdline
    assert cmdline.count('\n') == 1
    firstrun = fat(card.device, boot, '/firstrun.sh')
    assert KEY in firstrun and "user=hpc" in firstrun
    subprocess.run(['bash', '-n'], input=firstrun, universal_newlines=True, check=True)
    config = fat(card.device, boot, '/config.txt')
    assert config.startswith('# For more options') and 'arm_freq=2000\nover_voltage=6\n' in config
    assert ext4(card.device, root, 'cat /etc/hostname') == 'pi1\n'
    assert '127.0.1.1\tpi1' in ext4(card.device, root, 'cat /etc/hosts')
    assert ext4(card.device, root, 'cat /etc/timezone') == 'Europe/Berlin\n'
    assert 'Europe/Berlin' in ext4(card.device, root, 'stat /etc/localtime')
    assert ext4(card.device, root, 'cat /etc/default/locale') == 'LANG=de_DE.UTF-8\n'
    assert '\nde_DE.UTF-8 UTF-8\n' in ext4(card.device, root, 'cat /etc/locale.gen')
    assert ext4(card.device, root, 'cat /etc/ssh/sshd_config.d/picluster.conf') == 'PasswordAuthentication no\n'
    connection = ext4(card.device, root, 'cat /etc/NetworkManager/system-connections/picluster-eth0.nmconnection')
    assert 'address1=192.168.1.51/24,192.168.1.1' in connection and 'dns=192.168.1.1;' in connection
    assert 'Mode:  0600' in ext4(card.device, root, 'stat /etc/NetworkManager/system-connections/'
                                                    'picluster-eth0.nmconnection')
    record = json.loads(ext4(card.device, root, 'cat /etc/picluster/image.json'))
    assert record['medium'] == 'sd' and record['image_sha256'] == images['bookworm']['xz_sha256']
    assert record['overclocks'] == {'arm_freq': 2000, 'over_voltage': 6}
    # The firmware came through byte for byte.
    original = fat(images['bookworm']['img'], boot, '/start4.elf', binary=True)
    assert len(original) > 65536 and fat(card.device, boot, '/start4.elf', binary=True) == original

    # The second run changes nothing, the card included.
    again = play(collections_dir, path, '--limit', 'pi1', '-e', 'sd_image_device=' + card.device,
                 '-e', 'sd_image_device_force=true')
    assert again.returncode == 0 and 'changed=0' in again.stdout, again.stdout

    # pi2 (DHCP, password login) was not asked for a card; its image differs where it should.
    # At the most verbose, no output shows its password hash.
    result = play(collections_dir, path, '-vvv')
    assert result.returncode == 0, result.stdout
    assert PASSWORD_HASH not in result.stdout and PASSWORD_HASH.split('$')[3] not in result.stdout
    pi2 = str(tmp_path / 'cache' / 'nodes' / 'pi2.img')
    assert fat(pi2, boot, '/userconf.txt') == 'hpc:%s\n' % PASSWORD_HASH
    assert ext4(pi2, root, 'cat /etc/hostname') == 'pi2\n'
    assert ext4(pi2, root, 'cat /etc/ssh/sshd_config.d/picluster.conf') == 'PasswordAuthentication yes\n'
    assert 'File not found' in subprocess.run(
        ['/sbin/debugfs', '-R', 'stat /etc/NetworkManager/system-connections/picluster-eth0.nmconnection',
         '%s?offset=%d' % (pi2, root)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        universal_newlines=True, check=False).stdout
    assert '[cm4]' in fat(pi2, boot, '/config.txt') and 'BEGIN picluster' not in fat(pi2, boot, '/config.txt')
    # Both file systems are still clean.
    subprocess.run(['/sbin/e2fsck', '-fn', '%s?offset=%d' % (pi2, root)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_trixie_images_get_cloud_init(collections_dir, tmp_path, images):
    path = inventory(tmp_path, images, sd_image_url='', sd_image_path=images['trixie']['img'],
                     sd_image_sha256=images['trixie']['img_sha256'])
    result = play(collections_dir, path, '--limit', 'pi1')
    assert result.returncode == 0, result.stdout
    node_image = str(tmp_path / 'cache' / 'nodes' / 'pi1.img')
    (boot, root), dummy = partitions(node_image)
    user_data = fat(node_image, boot, '/user-data')
    assert user_data.startswith('#cloud-config\n')
    data = yaml.safe_load(user_data)
    assert data['hostname'] == 'pi1' and data['timezone'] == 'Europe/Berlin'
    assert data['users'][0]['name'] == 'hpc' and data['users'][0]['ssh_authorized_keys'] == [KEY]
    assert data['users'][0]['lock_passwd'] is True and data['ssh_pwauth'] is False
    network = yaml.safe_load(fat(node_image, boot, '/network-config'))['network']
    assert network['ethernets']['eth0']['addresses'] == ['192.168.1.51/24']
    assert network['ethernets']['eth0']['routes'] == [{'to': 'default', 'via': '192.168.1.1'}]
    assert 'instance-id: picluster-pi1-' in fat(node_image, boot, '/meta-data')
    # cloud-init images don't get Raspberry Pi OS bookworm's first-boot files.
    assert 'systemd.run' not in fat(node_image, boot, '/cmdline.txt')
    assert subprocess.run(['mdir', '-i', '%s@@%d' % (node_image, boot), '::userconf.txt'],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
                          env=dict(os.environ, MTOOLS_SKIP_CHECK='1')).returncode != 0


@pytest.mark.parametrize('case', ['not removable', 'mounted', 'too small', 'wrong checksum', 'two nodes',
                                  'plain password', 'password in the URL'])
def test_refusals_touch_nothing(collections_dir, tmp_path, images, loops, case):
    card, small, bystander = loops['card'], loops['small'], loops['bystander']
    before = {name: loop.sha256() for name, loop in loops.items()}
    path = inventory(tmp_path, images)
    args = ['--limit', 'pi1', '-e', 'sd_image_device=' + card.device, '-e', 'sd_image_device_force=true']
    mount_point = tmp_path / 'mnt'
    expected = {
        'not removable': '%s is not a removable device' % card.device,
        'mounted': 'is in use (mounted at %s)' % mount_point,
        'too small': 'smaller than the image',
        'wrong checksum': 'does not match the pinned sd_image_sha256 ' + '0' * 64,
        'two nodes': 'run with --limit <node>',
        'plain password': 'never the password itself',
        'password in the URL': 'file://***@localhost/',
    }[case]
    if case == 'not removable':
        args = args[:4]
    elif case == 'mounted':
        subprocess.run(['mkfs.ext4', '-q', '-F', bystander.device], check=True)
        before['bystander'] = bystander.sha256()
        mount_point.mkdir()
        subprocess.run(['mount', '-o', 'ro,noload', bystander.device, str(mount_point)], check=True)
        args[3] = 'sd_image_device=' + bystander.device
    elif case == 'too small':
        args[3] = 'sd_image_device=' + small.device
    elif case == 'wrong checksum':
        path = inventory(tmp_path, images, sd_image_sha256='0' * 64)
    elif case == 'two nodes':
        args = args[2:]
    elif case == 'plain password':
        path = inventory(tmp_path, images, sd_image_password_hash='raspberry')
    elif case == 'password in the URL':
        path = inventory(tmp_path, images, sd_image_sha256='0' * 64,
                         sd_image_url='file://hpc:s3cret-pw@localhost' + images['bookworm']['xz'])
        args.append('-vvv')
    try:
        result = play(collections_dir, path, *args)
    finally:
        if case == 'mounted':
            subprocess.run(['umount', str(mount_point)], check=True)
    assert result.returncode != 0
    assert expected in result.stdout, result.stdout[-3000:]
    assert 's3cret-pw' not in result.stdout
    assert {name: loop.sha256() for name, loop in loops.items()} == before
    # Nothing was made for any node either.
    assert not os.path.exists(str(tmp_path / 'cache' / 'nodes'))
