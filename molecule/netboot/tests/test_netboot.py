"""Netboot conformance: from the probe container, what a Pi 4 bootloader does - a PXE DHCP
DISCOVER answered by the proxy, TFTP fetches of the node's boot files, a refused TFTP
upload, no answer for a MAC not in the inventory - and, from the host with libnfs, the
node's NFS root. Then the server's own state: exports, fresh host keys, fstab."""

import hashlib
import json
import os
import subprocess

import pytest

testinfra_hosts = ['probe']
SERVER = '10.77.0.10'
NODES = {'pi1': ('6a3b9c01', 'dc:a6:32:00:00:01'), 'pi2': ('6a3b9c02', 'dc:a6:32:00:00:02')}
PROBE = 'PYTHONPATH=/probe-lib python3 /probe/pxe_probe.py'
BOOT_FILES = ['start4.elf', 'fixup4.dat', 'kernel8.img', 'bcm2711-rpi-4-b.dtb', 'overlays/vc4-kms-v3d.dtbo']
IMAGE = os.path.join(os.environ.get('MOLECULE_EPHEMERAL_DIRECTORY', ''), 'images',
                     'raspios-bookworm-arm64-lite.img')
BOOT_OFFSET = 8192 * 512  # tests/support/make-pi-image.sh puts the boot partition here


def probe(host, command):
    result = host.run('%s %s' % (PROBE, command))
    return result.rc, json.loads(result.stdout or 'null'), result


def image_file(path):
    """A file of the image's boot partition, read on the host with mtools."""
    return subprocess.run(['mcopy', '-n', '-i', '%s@@%d' % (IMAGE, BOOT_OFFSET), '::' + path, '-'],
                          check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          env=dict(os.environ, MTOOLS_SKIP_CHECK='1')).stdout


def server(command):
    return subprocess.run(['docker', 'exec', 'pxe', 'sh', '-c', command], check=True,
                          stdout=subprocess.PIPE, universal_newlines=True).stdout


def nfs(tool, path):
    return subprocess.run([tool, 'nfs://%s%s' % (SERVER, path)], check=False, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=60)


@pytest.mark.parametrize('node', sorted(NODES))
def test_a_known_pi_gets_a_proxy_boot_offer(host, node):
    rc, answer, result = probe(host, 'dhcp --mac %s --interface eth0 --timeout 10' % NODES[node][1])
    assert rc == 0, result.stdout + result.stderr
    offer = answer['offer']
    assert offer['server_id'] == SERVER and offer['source'] == '%s:67' % SERVER
    assert offer['boot_menu'] == ['Raspberry Pi Boot']
    assert offer['vendor_class'] == 'PXEClient'
    # The client's own GUID comes back, as the PXE specification asks of a proxy.
    assert offer['client_guid'] == '00' + (b'RPi4' + bytes(6)).hex() + NODES[node][1].replace(':', '')
    # A proxy offer gives no address of its own: the LAN's DHCP server does that.
    assert offer['yiaddr'] == '0.0.0.0'


def test_a_pi_not_in_the_inventory_gets_no_offer(host):
    rc, answer, result = probe(host, 'dhcp --mac dc:a6:32:99:99:99 --interface eth0 --timeout 5')
    assert rc == 1 and answer['offer'] is None, result.stdout


def test_boot_files_come_over_tftp_unchanged(host):
    """As the Pi asks for them: its serial's directory, 1468-byte blocks, tsize."""
    expected = dict((path, image_file('/' + path)) for path in BOOT_FILES)
    for serial, dummy in NODES.values():
        rc, answer, result = probe(host, 'tftp-get --server %s --blksize 1468 %s' % (
            SERVER, ' '.join('%s/%s' % (serial, path) for path in BOOT_FILES)))
        assert rc == 0, result.stdout + result.stderr
        for path, fetched in zip(BOOT_FILES, answer['files']):
            assert fetched['path'] == '%s/%s' % (serial, path)
            assert fetched['size'] == fetched['tsize'] == len(expected[path]) and fetched['blksize'] == 1468
            assert fetched['sha256'] == hashlib.sha256(expected[path]).hexdigest()


def tftp_text(host, path):
    rc, answer, result = probe(host, 'tftp-get --server %s %s --output /tmp/fetched' % (SERVER, path))
    assert rc == 0, result.stdout + result.stderr
    return host.file('/tmp/fetched').content_string


def test_cmdline_mounts_the_nodes_own_nfs_root(host):
    for node, (serial, dummy) in NODES.items():
        cmdline = tftp_text(host, '%s/cmdline.txt' % serial)
        assert cmdline.count('\n') == 1
        assert 'root=/dev/nfs nfsroot=%s:/nfs/%s,vers=3,tcp rw ip=dhcp rootwait' % (SERVER, node) in cmdline
        assert 'PARTUUID' not in cmdline and 'systemd.run' not in cmdline


def test_config_txt_carries_the_nodes_settings(host):
    assert 'arm_freq=1800' in tftp_text(host, '6a3b9c01/config.txt')
    assert 'arm_freq' not in tftp_text(host, '6a3b9c02/config.txt')


def test_first_boot_secrets_are_not_served(host):
    rc, answer, result = probe(host, 'tftp-get --server %s 6a3b9c01/firstrun.sh' % SERVER)
    assert rc == 1 and answer['files'][0]['error']['name'] == 'File not found', result.stdout


def test_a_tftp_upload_is_refused(host):
    rc, answer, result = probe(host, 'tftp-put --server %s 6a3b9c01/config.txt' % SERVER)
    assert rc == 0 and answer['refused'], result.stdout
    assert 'arm_freq=1800' in tftp_text(host, '6a3b9c01/config.txt')


def test_nfs_root_is_listed_by_a_userspace_client(host):
    # pi2 has no known address: its root is exported to the cluster's subnet, this host's too.
    node = 'pi2'
    listing = nfs('nfs-ls', '/nfs/%s/sbin' % node)
    assert listing.returncode == 0 and b' init' in listing.stdout, listing.stdout
    fstab = nfs('nfs-cat', '/nfs/%s/etc/fstab' % node)
    assert fstab.returncode == 0 and b'proc' in fstab.stdout and b'PARTUUID' not in fstab.stdout
    record = json.loads(nfs('nfs-cat', '/nfs/%s/etc/picluster/image.json' % node).stdout)
    assert record['medium'] == 'nfs' and record['hostname'] == node and record['serial'] == NODES[node][0]


def test_a_root_exported_to_its_node_alone_is_refused_to_any_other_address(host):
    # pi1's address is known (netboot_address): its root, and the cluster's SSH key in it once
    # the benchmark has run, cannot be read from this host, on the same subnet.
    assert nfs('nfs-ls', '/nfs/pi1/sbin').returncode != 0
    assert nfs('nfs-cat', '/nfs/pi1/etc/fstab').returncode != 0
    assert server('test -s /nfs/pi1/etc/fstab && echo there').strip() == 'there'


def test_the_image_itself_is_not_exported(host):
    assert nfs('nfs-ls', '/srv/images').returncode != 0
    assert nfs('nfs-ls', '/nfs').returncode != 0


def test_each_node_has_fresh_ssh_host_keys(host):
    keys = [server('cat /nfs/%s/etc/ssh/ssh_host_ed25519_key.pub' % node) for node in sorted(NODES)]
    assert keys[0] != keys[1] and all('baked-into-image' not in key for key in keys)
    assert server('stat -c %a /nfs/pi1/etc/ssh/ssh_host_ed25519_key').strip() == '600'


def test_exports_are_limited_to_each_node_or_the_cluster_subnet(host):
    config = server('cat /etc/ganesha/ganesha.conf')
    assert config.count('Clients = 10.77.0.0/24;') == 1 and config.count('Clients = 10.77.0.31;') == 1
    assert config.count('Squash = No_Root_Squash;') == 2
    dnsmasq = server('cat /etc/dnsmasq.d/picluster-netboot.conf')
    assert 'interface=eth0\nbind-interfaces' in dnsmasq and 'port=0' in dnsmasq
    assert 'dhcp-range=10.77.0.0,proxy' in dnsmasq


def test_first_boot_files_are_in_the_nodes_root(host):
    assert 'hpc@laptop' in server('cat /nfs/pi1/boot/firmware/firstrun.sh')
    # The password hash is there, and root's alone (the NFS root is exported to the LAN).
    assert server('cut -d: -f2 /nfs/pi2/boot/firmware/userconf.txt').startswith('$6$picluster$')
    assert server('stat -c "%n %a %U" /nfs/pi2/boot/firmware/userconf.txt /nfs/pi2/boot/firmware/firstrun.sh') == (
        '/nfs/pi2/boot/firmware/userconf.txt 600 root\n/nfs/pi2/boot/firmware/firstrun.sh 700 root\n')
    assert server('readlink /nfs/pi1/etc/systemd/system/multi-user.target.wants/picluster-firstrun.service')
    assert server('cat /nfs/pi2/etc/hostname') == 'pi2\n'


def test_nothing_is_world_writable_under_the_tftp_root_or_the_nfs_roots(host):
    # Anyone on the LAN reads these trees; nobody but root may change what the nodes boot.
    # Sticky directories (/tmp) and device nodes are world-writable by design.
    writable = server('find /tftpboot /nfs -xdev -perm -0002 ! -type l ! -type c ! -type s '
                      '! \\( -type d -perm -1000 \\) -print')
    assert writable == ''
    assert server('stat -c "%a %U" /tftpboot /nfs') == '755 root\n700 root\n'


def test_a_nodes_files_are_not_readable_by_this_hosts_other_users(host):
    # The roots keep the nodes' user IDs, which on this host are other people's: only root
    # may go into /nfs. Here as nobody, the node's own files are refused.
    probe = "cat /nfs/pi2/etc/hostname && echo read"
    assert server("setpriv --reuid=nobody --regid=nogroup --clear-groups sh -c '%s' 2>&1; true" % probe).endswith(
        'Permission denied\n')
    assert server(probe) == 'pi2\nread\n'
