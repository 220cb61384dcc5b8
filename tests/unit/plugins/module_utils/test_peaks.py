import pytest

from ansible_collections.picluster.hpl.plugins.module_utils import peaks


@pytest.mark.parametrize('model,mhz,gflops,core', [
    ('Raspberry Pi 4 Model B Rev 1.1', None, 6.0, 'Cortex-A72'),
    ('Raspberry Pi 4 Model B Rev 1.4', 1800, 7.2, 'Cortex-A72'),
    ('Raspberry Pi Compute Module 4 Rev 1.0', 1500, 6.0, 'Cortex-A72'),
    ('Raspberry Pi 5 Model B Rev 1.0', 2400, 19.2, 'Cortex-A76'),
    ('Raspberry Pi Compute Module 5 Rev 1.0', None, 19.2, 'Cortex-A76'),
    ('Raspberry Pi 3 Model B Plus Rev 1.3', 1400, 5.6, 'Cortex-A53'),
    ('Raspberry Pi 3 Model B Rev 1.2', None, 4.8, 'Cortex-A53'),
])
def test_board_peaks(model, mhz, gflops, core):
    peak = peaks.peak_per_core(model, cpu_max_mhz=mhz)
    assert peak['gflops'] == pytest.approx(gflops)
    assert (peak['core'], peak['source']) == (core, 'board')


def test_board_rpeak_matches_the_published_table():
    # 4 cores: Pi 3B+ 22.4, Pi 4 24.0 (28.8 at 1.8 GHz), Pi 5 76.8 GFLOPS.
    for model, mhz, rpeak in (('Raspberry Pi 3 Model B Plus', None, 22.4), ('Raspberry Pi 4 Model B', None, 24.0),
                              ('Raspberry Pi 4 Model B', 1800, 28.8), ('Raspberry Pi 5 Model B', None, 76.8)):
        node = {'name': 'x', 'ranks': 4, 'peak': peaks.peak_per_core(model, cpu_max_mhz=mhz)}
        assert peaks.cluster_rpeak([node]) == pytest.approx(rpeak)


def test_arm_core_by_part_number_and_unknown_x86():
    assert peaks.peak_per_core('', cpu_part='0xd0c', cpu_max_mhz=3000)['gflops'] == 24.0
    unknown = peaks.peak_per_core('AMD EPYC', cpu_max_mhz=2600)
    assert unknown['gflops'] is None and unknown['source'] == 'unknown'
    assert peaks.peak_per_core('AMD EPYC', override_gflops=41.6)['source'] == 'override'


def test_three_pi4_efficiency_is_44_percent():
    nodes = [{'name': n, 'ranks': 4, 'peak': peaks.peak_per_core('Raspberry Pi 4 Model B')} for n in 'abc']
    rpeak = peaks.cluster_rpeak(nodes)
    assert rpeak == 72.0
    assert peaks.efficiency(31.322, rpeak) == pytest.approx(0.435, abs=1e-3)


def test_unknown_node_makes_rpeak_unknown():
    nodes = [{'name': 'a', 'ranks': 4, 'peak': peaks.peak_per_core('Raspberry Pi 4 Model B')},
             {'name': 'b', 'ranks': 2, 'peak': peaks.peak_per_core('AMD EPYC')}]
    assert peaks.cluster_rpeak(nodes) is None
    assert peaks.efficiency(10, None) is None
