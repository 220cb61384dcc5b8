"""node_info reads real file trees laid out like a Pi, a netbooted Pi and a container."""

import os

import pytest

from ansible_collections.picluster.hpl.plugins.module_utils import node_info, peaks
from conftest import read_fixture

PI4_CPUINFO = ''.join(
    'processor\t: %d\nBogoMIPS\t: 108.00\nCPU implementer\t: 0x41\nCPU part\t: 0xd08\n\n' % i for i in range(4)
) + 'Hardware\t: BCM2835\nRevision\t: d03114\nSerial\t\t: 10000000a1b2c3d4\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n'


def make_tree(root, files):
    for path, text in files.items():
        full = os.path.join(str(root), path.lstrip('/'))
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, 'w') as handle:
            handle.write(text)
    return str(root)


def pi4(root, mounts, extra=None):
    files = {
        '/proc/cpuinfo': PI4_CPUINFO,
        '/proc/device-tree/model': 'Raspberry Pi 4 Model B Rev 1.4\x00',
        '/proc/meminfo': 'MemTotal:        7999920 kB\nMemFree:  100 kB\n',
        '/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq': '1800000\n',
        '/proc/mounts': mounts,
    }
    files.update(extra or {})
    return make_tree(root, files)


def test_pi4_on_sd_card(tmp_path):
    root = pi4(tmp_path, 'proc /proc proc rw 0 0\n/dev/mmcblk0p2 / ext4 rw,noatime 0 0\n',
               {'/sys/block/mmcblk0/device/type': 'SD\n'})
    node = node_info.gather(root)
    assert node['model'] == 'Raspberry Pi 4 Model B Rev 1.4'
    assert (node['cores'], node['cpu_part'], node['cpu_max_mhz']) == (4, '0xd08', 1800)
    assert (node['memtotal_mb'], node['memory_mb'], node['cgroup_memory_limit_mb']) == (7812, 7812, None)
    assert (node['boot_medium'], node['root_source']) == ('sd', '/dev/mmcblk0p2')
    assert node['serial'] == 'a1b2c3d4'
    assert node['peak']['gflops'] == pytest.approx(7.2)


def test_cm4_on_emmc(tmp_path):
    root = pi4(tmp_path, '/dev/mmcblk0p2 / ext4 rw 0 0\n', {'/sys/block/mmcblk0/device/type': 'MMC\n'})
    assert node_info.gather(root)['boot_medium'] == 'emmc'


def test_pi4_on_nfs_root(tmp_path):
    record = '{"medium": "nfs", "overclocks": {"arm_freq": 2000}, "firstboot": "firstrun"}'
    root = pi4(tmp_path, '192.168.1.10:/nfs/pi1 / nfs rw,vers=3,addr=192.168.1.10 0 0\n',
               {'/etc/picluster/image.json': record})
    node = node_info.gather(root)
    assert node['boot_medium'] == 'nfs' and node['root_fstype'] == 'nfs'
    assert node['overclocks'] == {'arm_freq': 2000} and node['image']['firstboot'] == 'firstrun'


def test_no_image_record(tmp_path):
    root = pi4(tmp_path, '/dev/mmcblk0p2 / ext4 rw 0 0\n', {'/etc/picluster/image.json': 'not json'})
    assert node_info.gather(root)['image'] is None and node_info.gather(root)['overclocks'] == {}


@pytest.mark.parametrize('source,fstype,expected', [
    ('/dev/sda2', 'ext4', 'usb'), ('/dev/nvme0n1p2', 'ext4', 'nvme'), ('/dev/vda', 'ext4', 'disk'),
    ('overlay', 'overlay', 'container'), ('server:/x', 'nfs4', 'nfs'), ('tmpfs', 'tmpfs', 'unknown'),
])
def test_boot_medium(source, fstype, expected):
    assert node_info.boot_medium(source, fstype) == expected


def test_container_memory_is_the_cgroup_limit(tmp_path):
    root = make_tree(tmp_path, {
        '/proc/cpuinfo': 'processor\t: 0\nmodel name\t: AMD EPYC\n\nprocessor\t: 1\nmodel name\t: AMD EPYC\n',
        '/proc/meminfo': 'MemTotal:       24683520 kB\n',
        '/sys/fs/cgroup/memory.max': '1073741824\n',
        '/proc/mounts': 'overlay / overlay rw 0 0\n',
        '/.dockerenv': '',
    })
    node = node_info.gather(root)
    assert (node['memtotal_mb'], node['cgroup_memory_limit_mb'], node['memory_mb']) == (24105, 1024, 1024)
    assert node['boot_medium'] == 'container' and node['model'] == 'AMD EPYC' and node['cores'] == 2
    assert node['peak']['gflops'] is None


UNLIMITED_V1 = '9223372036854771712\n'


@pytest.mark.parametrize('files,expected', [
    # cgroup v2, own namespace: the container's cgroup is the root of the view.
    ({'/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/memory.max': 'max\n'}, None),
    ({'/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/memory.max': '2147483648\n'}, 2048),
    # cgroup v2, host namespace: the full path, and a tighter parent wins.
    ({'/proc/self/cgroup': '0::/system.slice/docker-abc.scope\n',
      '/sys/fs/cgroup/system.slice/docker-abc.scope/memory.max': '2147483648\n',
      '/sys/fs/cgroup/system.slice/memory.max': '1073741824\n'}, 1024),
    # cgroup v1 with --cgroupns=host, as Docker runs containers on this project's machines.
    ({'/proc/self/cgroup': '9:name=systemd:/docker/abc\n4:memory:/docker/abc\n0::/\n',
      '/sys/fs/cgroup/memory/memory.limit_in_bytes': UNLIMITED_V1,
      '/sys/fs/cgroup/memory/docker/memory.limit_in_bytes': UNLIMITED_V1,
      '/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes': '536870912\n'}, 512),
    ({'/proc/self/cgroup': '4:memory:/process_api/xyz\n',
      '/sys/fs/cgroup/memory/memory.limit_in_bytes': UNLIMITED_V1}, None),
    ({}, None),
])
def test_cgroup_limit(tmp_path, files, expected):
    assert node_info.cgroup_limit_mb(make_tree(tmp_path, files)) == expected


def test_lscpu_is_asked_only_when_cpuinfo_names_no_vector_features(tmp_path):
    lscpu = read_fixture('cpu', 'epyc-zen5-vm.lscpu')
    bare = make_tree(tmp_path / 'bare', {'/proc/cpuinfo': 'processor\t: 0\n\nprocessor\t: 1\n'})
    node = node_info.gather(bare, arch='x86_64', lscpu=lambda: lscpu)
    # The flags come from lscpu (which names no clock here: no peak, and it says why).
    assert (node['peak']['vector_bits'], node['peak']['flops_per_cycle']) == (512, 32)
    assert 'but no clock' in node['peak']['explain']

    def never():
        raise AssertionError('lscpu was asked although /proc/cpuinfo has the flags')

    full = make_tree(tmp_path / 'full', {'/proc/cpuinfo': read_fixture('cpu', 'epyc-zen5-vm.cpuinfo')})
    assert node_info.gather(full, arch='x86_64', lscpu=never)['peak']['gflops'] == pytest.approx(83.0758)


def rk3588(root):
    """An RK3588 board: four Cortex-A55 at 1.8 GHz, then two pairs of Cortex-A76 at 2.4 GHz."""
    parts = ['0xd05'] * 4 + ['0xd0b'] * 4
    files = {
        '/proc/cpuinfo': ''.join('processor\t: %d\nFeatures\t: fp asimd evtstrm aes\nCPU implementer\t: 0x41\n'
                                 'CPU part\t: %s\n\n' % (i, part) for i, part in enumerate(parts)),
        '/proc/device-tree/model': 'Orange Pi 5\x00',
        '/proc/meminfo': 'MemTotal:        16000000 kB\n',
        '/proc/mounts': '/dev/mmcblk1p2 / ext4 rw 0 0\n',
    }
    for index in range(8):
        files['/sys/devices/system/cpu/cpu%d/cpufreq/cpuinfo_max_freq' % index] = '1800000\n' if index < 4 else '2400000\n'
    return make_tree(root, files)


def test_a_big_little_node_counts_its_fastest_cores_first(tmp_path):
    peak = node_info.gather(rk3588(tmp_path), arch='aarch64')['peak']
    # The fastest core is the node's per-core figure: 8 FLOP/cycle x 2.4 GHz.
    assert (peak['core'], peak['gflops']) == ('Cortex-A76', 19.2)
    assert [(kind['cores'], kind['core'], kind['gflops']) for kind in peak['core_types']] == [
        (4, 'Cortex-A76', 19.2), (4, 'Cortex-A55', 7.2)]
    assert '4 x Cortex-A55' in peak['explain']
    # Four ranks run on the A76s; eight on all of them.
    assert peaks.cluster_rpeak([{'name': 'opi5', 'ranks': 4, 'peak': peak}]) == 76.8
    assert peaks.cluster_rpeak([{'name': 'opi5', 'ranks': 8, 'peak': peak}]) == pytest.approx(105.6)


def test_intel_e_cores_count_half_a_p_core_a_cycle(tmp_path):
    flags = 'fpu sse2 pni ssse3 sse4_2 avx avx2 fma'
    cpuinfo = ''.join('processor\t: %d\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 154\n'
                      'model name\t: 12th Gen Intel(R) Core(TM) i7-1260P\nflags\t\t: %s\n\n' % (i, flags)
                      for i in range(16))
    files = {'/proc/cpuinfo': cpuinfo, '/sys/devices/cpu_atom/cpus': '8-15\n', '/proc/meminfo': 'MemTotal: 1 kB\n'}
    for index in range(16):
        files['/sys/devices/system/cpu/cpu%d/cpufreq/cpuinfo_max_freq' % index] = \
            '4700000\n' if index < 8 else '3400000\n'
    peak = node_info.gather(make_tree(tmp_path, files), arch='x86_64')['peak']
    assert [(kind['cores'], kind['flops_per_cycle'], kind['gflops']) for kind in peak['core_types']] == [
        (8, 16, 75.2), (8, 8, 27.2)]
    assert peak['core_types'][1]['core'].startswith('E-core')
    assert peaks.cluster_rpeak([{'name': 'nuc', 'ranks': 16, 'peak': peak}]) == pytest.approx(8 * 75.2 + 8 * 27.2)


def test_cpu_lists():
    assert node_info.cpu_list('0-3,8\n') == {0, 1, 2, 3, 8}
    assert node_info.cpu_list('') == set() and node_info.cpu_list('x-y') == set()


def test_cores_of_one_kind_have_no_kinds(tmp_path):
    # Only cpu0 names a clock here: the others share it (cpufreq's one policy for all four).
    peak = node_info.gather(pi4(tmp_path, '/dev/mmcblk0p2 / ext4 rw 0 0\n'))['peak']
    assert 'core_types' not in peak and peak['gflops'] == 7.2


def test_one_kind_of_core_at_several_clocks_is_one_kind_at_its_highest(tmp_path):
    # Turbo Boost Max or amd-pstate's preferred cores: the same core, some clocked higher.
    flags = 'fpu sse2 pni ssse3 sse4_2 avx avx2 fma'
    files = {'/proc/cpuinfo': ''.join('processor\t: %d\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 33\n'
                                      'flags\t\t: %s\n\n' % (i, flags) for i in range(4)),
             '/proc/meminfo': 'MemTotal: 1 kB\n'}
    for index, khz in enumerate((4900000, 4700000, 4900000, 4600000)):
        files['/sys/devices/system/cpu/cpu%d/cpufreq/cpuinfo_max_freq' % index] = '%d\n' % khz
    root = make_tree(tmp_path, files)
    peak = node_info.gather(root, arch='x86_64')['peak']
    assert 'core_types' not in peak and (peak['ghz'], peak['gflops']) == (4.9, 78.4)
    cpu = node_info.parse_cpuinfo(files['/proc/cpuinfo'])
    assert node_info.fastest_processor(node_info.each_processor(root, cpu)) == 0


def test_measurements_run_on_a_big_core_and_processors_keep_their_numbers(tmp_path):
    root = rk3588(tmp_path)
    cpu = node_info.parse_cpuinfo(open(os.path.join(root, 'proc', 'cpuinfo')).read())
    assert node_info.fastest_processor(node_info.each_processor(root, cpu)) == 4
    # Processor 5 offline: cpuinfo lists the others, and each_processor reads their own clocks.
    text = open(os.path.join(root, 'proc', 'cpuinfo')).read().split('\n\n')
    cpu = node_info.parse_cpuinfo('\n\n'.join(text[:5] + text[6:]))
    each = node_info.each_processor(root, cpu)
    assert [entry['processor'] for entry in each] == [0, 1, 2, 3, 4, 6, 7]
    assert [entry['cpufreq_max_mhz'] for entry in each] == [1800] * 4 + [2400] * 3
    assert node_info.fastest_processor([]) is None
