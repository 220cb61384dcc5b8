import pytest

from ansible_collections.picluster.hpl.plugins.module_utils import node_info, peaks
from conftest import read_fixture

PI_CPU = {'cpu implementer': '0x41', 'features': 'fp asimd evtstrm crc32 cpuid'}


def arm(part, mhz=None):
    return dict(PI_CPU, **{'cpu part': part, 'cpufreq_max_mhz': mhz})


@pytest.mark.parametrize('board,part,mhz,gflops,core', [
    ('Raspberry Pi 4 Model B Rev 1.1', '0xd08', None, 6.0, 'Cortex-A72'),
    ('Raspberry Pi 4 Model B Rev 1.4', '0xd08', 1800, 7.2, 'Cortex-A72'),
    ('Raspberry Pi Compute Module 4 Rev 1.0', '0xd08', 1500, 6.0, 'Cortex-A72'),
    ('Raspberry Pi 5 Model B Rev 1.0', '0xd0b', 2400, 19.2, 'Cortex-A76'),
    ('Raspberry Pi Compute Module 5 Rev 1.0', '0xd0b', None, 19.2, 'Cortex-A76'),
    ('Raspberry Pi 3 Model B Plus Rev 1.3', '0xd03', 1400, 5.6, 'Cortex-A53'),
    ('Raspberry Pi 3 Model B Rev 1.2', '0xd03', None, 4.8, 'Cortex-A53'),
])
def test_board_peaks(board, part, mhz, gflops, core):
    peak = peaks.peak_per_core(arm(part, mhz), 'aarch64', board)
    assert peak['gflops'] == pytest.approx(gflops)
    assert (peak['core'], peak['source']) == (core, 'board')
    assert peak['ghz_from'] == ('cpufreq maximum' if mhz else 'the board table')


def test_board_rpeak_matches_the_published_table():
    # 4 cores: Pi 3B+ 22.4, Pi 4 24.0 (28.8 at 1.8 GHz), Pi 5 76.8 GFLOPS.
    for board, part, mhz, rpeak in (('Raspberry Pi 3 Model B Plus', '0xd03', None, 22.4),
                                    ('Raspberry Pi 4 Model B', '0xd08', None, 24.0),
                                    ('Raspberry Pi 4 Model B', '0xd08', 1800, 28.8),
                                    ('Raspberry Pi 5 Model B', '0xd0b', None, 76.8)):
        node = {'name': 'x', 'ranks': 4, 'peak': peaks.peak_per_core(arm(part, mhz), 'aarch64', board)}
        assert peaks.cluster_rpeak([node]) == pytest.approx(rpeak)


def test_an_arm_core_by_its_part_number_and_one_not_known():
    n1 = peaks.peak_per_core(arm('0xd0c', 3000), 'aarch64')
    assert (n1['gflops'], n1['source'], n1['fma_units'], n1['fma_units_known']) == (24.0, 'cpu', 2, True)
    other = peaks.peak_per_core(dict(arm('0x022', 2000), **{'cpu implementer': '0x61'}), 'aarch64')
    assert (other['gflops'], other['fma_units'], other['fma_units_known']) == (8.0, 1, False)
    assert 'not known for this model: one assumed' in other['explain']


def test_no_clock_is_no_peak_and_says_what_to_set():
    peak = peaks.peak_per_core(arm('0xd0c'), 'aarch64')
    assert peak['gflops'] is None and peak['source'] == 'unknown' and peak['flops_per_cycle'] == 8
    assert 'set benchmark_rpeak_gflops_per_core' in peak['explain']


def test_the_override_wins():
    peak = peaks.peak_per_core(arm('0xd08', 1800), 'aarch64', 'Raspberry Pi 4 Model B', override_gflops=41.6)
    assert (peak['gflops'], peak['source']) == (41.6, 'override')


def cpu_of(name):
    cpu = node_info.parse_cpuinfo(read_fixture('cpu', name + '.cpuinfo'))
    return cpu


def test_emulated_an_arm_node_on_an_x86_host_has_no_peak():
    """qemu-user shows the host's /proc/cpuinfo to the arm64 containers the tests run."""
    peak = peaks.peak_per_core(cpu_of('epyc-zen5-vm'), 'aarch64')
    assert (peak['gflops'], peak['source']) == (None, 'emulated')
    assert 'x86 CPU (AMD EPYC)' in peak['explain'] and 'aarch64' in peak['explain']


def test_lscpu_fills_what_cpuinfo_lacks():
    cpu = node_info.parse_cpuinfo('processor\t: 0\n', read_fixture('cpu', 'epyc-zen5-vm.lscpu'))
    assert (cpu['vendor_id'], cpu['cpu family'], cpu['model'], cpu['model name']) == ('AuthenticAMD', '26', '2', 'AMD EPYC')
    assert 'avx512f' in cpu['flags']


# Recorded on real machines (tests/unit/fixtures/cpu/README.md): board or None, machine,
# GFLOPS per core, FLOP/cycle, vector bits, FMA, units known, clock from.
RECORDED = {
    'pi4-cortex-a72': ('Raspberry Pi 4 Model B Rev 1.1', 'aarch64', 6.0, 4, 128, True, True, 'the board table'),
    'pi5-cortex-a76': ('Raspberry Pi 5 Model B Rev 1.0', 'aarch64', 19.2, 8, 128, True, True, 'the board table'),
    'i5-7500-kaby-lake': (None, 'x86_64', 54.4, 16, 256, True, True, 'model name'),
    'xeon-gold-6140-skylake-sp': (None, 'x86_64', 73.6, 32, 512, True, True, 'model name'),
    'xeon-e5-2670v2-ivy-bridge': (None, 'x86_64', 20.0, 8, 256, False, True, 'model name'),
    # Not in the table: SSE2's two doubles, one add and one multiply a cycle, said so.
    'i5-m560-westmere': (None, 'x86_64', 10.68, 4, 128, False, False, 'model name'),
    'epyc-9654-zen4': (None, 'x86_64', 38.4, 16, 512, True, True, '/proc/cpuinfo cpu MHz'),
    'epyc-zen5-vm': (None, 'x86_64', 83.0758, 32, 512, True, True, '/proc/cpuinfo cpu MHz'),
}


@pytest.mark.parametrize('name', sorted(RECORDED))
def test_recorded_cpus(name):
    board, arch, gflops, flops, bits, fma, known, ghz_from = RECORDED[name]
    peak = peaks.peak_per_core(cpu_of(name), arch, board)
    assert peak['gflops'] == pytest.approx(gflops, abs=1e-3), peak['explain']
    assert (peak['flops_per_cycle'], peak['vector_bits'], peak['fma']) == (flops, bits, fma)
    assert (peak['fma_units_known'], peak['ghz_from']) == (known, ghz_from)
    assert ('%.2f GFLOPS per core' % gflops) in peak['explain']


def test_three_pi4_efficiency_is_44_percent():
    nodes = [{'name': n, 'ranks': 4, 'peak': peaks.peak_per_core(arm('0xd08'), 'aarch64', 'Raspberry Pi 4 Model B')}
             for n in 'abc']
    rpeak = peaks.cluster_rpeak(nodes)
    assert rpeak == 72.0
    assert peaks.efficiency(31.322, rpeak) == pytest.approx(0.435, abs=1e-3)


def test_unknown_node_makes_rpeak_unknown():
    nodes = [{'name': 'a', 'ranks': 4, 'peak': peaks.peak_per_core(arm('0xd08'), 'aarch64', 'Raspberry Pi 4 Model B')},
             {'name': 'b', 'ranks': 2, 'peak': peaks.peak_per_core(arm('0xd0c'), 'aarch64')}]
    assert peaks.cluster_rpeak(nodes) is None
    assert peaks.efficiency(10, None) is None


def test_a_cpu_from_lscpu_alone_takes_cpufreqs_maximum_over_the_nominal_clock():
    cpu = node_info.parse_cpuinfo('', read_fixture('cpu', 'xeon-e5-2670v2-ivy-bridge.lscpu'))
    peak = peaks.peak_per_core(cpu, 'x86_64')
    assert (peak['gflops'], peak['ghz_from'], peak['fma']) == (26.4, 'cpufreq maximum', False)
    gold = peaks.peak_per_core(node_info.parse_cpuinfo('', read_fixture('cpu', 'xeon-gold-6140-skylake-sp.lscpu')),
                               'x86_64')
    assert (gold['gflops'], gold['fma_units']) == (73.6, 2)


@pytest.mark.parametrize('name,flops', [
    ('Intel(R) Xeon(R) Silver 4114 CPU @ 2.20GHz', 16), ('Intel(R) Xeon(R) Gold 5118 CPU @ 2.30GHz', 16),
    ('Intel(R) Xeon(R) Gold 5122 CPU @ 3.60GHz', 32), ('Intel(R) Core(TM) i9-7900X CPU @ 3.30GHz', 32),
    ('Intel(R) Core(TM) i7-7800X CPU @ 3.50GHz', 16), ('Intel(R) Xeon(R) W-2145 CPU @ 3.70GHz', 32),
])
def test_avx512_units_on_skylake_sp_and_x(name, flops):
    peak = peaks.peak_per_core(dict(cpu_of('xeon-gold-6140-skylake-sp'), **{'model name': name}), 'x86_64')
    assert (peak['flops_per_cycle'], peak['fma_units']) == (flops, flops // 16)


def test_the_table_is_capped_by_what_the_flags_expose():
    """A VM that hides AVX-512 (or a Pentium without AVX) gets no more than its vectors allow."""
    hidden = dict(cpu_of('xeon-gold-6140-skylake-sp'))
    hidden['flags'] = ' '.join(f for f in hidden['flags'].split() if not f.startswith('avx512'))
    assert peaks.peak_per_core(hidden, 'x86_64')['flops_per_cycle'] == 16
    pentium = dict(cpu_of('i5-7500-kaby-lake'), flags='fpu sse sse2 pni ssse3 sse4_1 sse4_2')
    assert peaks.peak_per_core(pentium, 'x86_64')['flops_per_cycle'] == 4


def test_qemus_own_cpuinfo_is_emulated_and_odd_clocks_are_none():
    qemu = {'cpu implementer': '0x00', 'cpu part': '0x051', 'features': 'fp asimd', 'cpufreq_max_mhz': 4500}
    assert peaks.peak_per_core(qemu, 'aarch64')['source'] == 'emulated'
    for text in ('inf', '-1', 'nan', '0', '?'):
        assert node_info.parse_cpuinfo('', 'CPU max MHz: %s\n' % text).get('cpufreq_max_mhz') is None


def test_a_dgemm_above_the_peak_raises_the_clock_it_implies():
    """This machine: cpu MHz says 2.596 GHz, one core's DGEMM measured 86.0 GFLOPS."""
    peak = peaks.peak_per_core(cpu_of('epyc-zen5-vm'), 'x86_64')
    raised = peaks.at_least(peak, 86.0)
    assert (raised['gflops'], raised['ghz'], raised['source']) == (86.0, 2.6875, 'cpu')
    assert raised['ghz_from'] == 'at least, from DGEMM 86.0 GFLOPS on one core'
    assert 'the clock is at least 2.688 GHz' in raised['explain']
    # Below the peak, or from the board table, or overridden: as it was.
    assert peaks.at_least(peak, 50.0) is peak
    pi4 = peaks.peak_per_core(arm('0xd08'), 'aarch64', 'Raspberry Pi 4 Model B')
    assert peaks.at_least(pi4, 9.0) is pi4 and peaks.at_least(None, 9.0) is None
