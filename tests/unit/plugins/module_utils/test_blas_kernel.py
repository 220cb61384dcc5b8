import json
import os
import subprocess
import sys

import pytest

from ansible_collections.picluster.hpl.plugins.module_utils import blas_kernel

ZEN5 = {'flags': 'sse2 pni ssse3 sse4_2 avx avx2 fma avx512f avx512cd avx512bw avx512dq avx512vl avx512_bf16'}
HASWELL = {'flags': 'sse2 pni ssse3 sse4_2 avx avx2 fma'}
PI4 = {'cpu implementer': '0x41', 'cpu part': '0xd08', 'features': 'fp asimd evtstrm crc32 cpuid'}


def test_candidates_follow_the_flags_and_the_arm_part():
    assert blas_kernel.candidates(ZEN5)[:3] == ['Cooperlake', 'SkylakeX', 'Haswell']
    assert blas_kernel.candidates(HASWELL)[0] == 'Haswell' and 'SkylakeX' not in blas_kernel.candidates(HASWELL)
    assert blas_kernel.candidates(PI4) == ['CORTEXA72', 'ARMV8']
    assert blas_kernel.candidates({'cpu implementer': '0x61', 'features': 'fp asimd'}) == ['ARMV8']
    assert blas_kernel.candidates(dict(ZEN5, vendor_id='AuthenticAMD'), 'blis')[:3] == ['skx', 'zen', 'haswell']
    assert blas_kernel.candidates(PI4, 'blis') == ['cortexa57']
    assert blas_kernel.better_than('generic', dict(HASWELL, vendor_id='GenuineIntel'), 'blis') == ['haswell', 'sandybridge', 'penryn']


def test_only_kernels_better_than_the_librarys_choice_are_tried():
    assert blas_kernel.better_than('Prescott', ZEN5) == ['Cooperlake', 'SkylakeX', 'Haswell']
    assert blas_kernel.better_than('SkylakeX', ZEN5) == ['Cooperlake']
    assert blas_kernel.better_than('Cooperlake', ZEN5) == []
    assert blas_kernel.better_than('ARMV8', PI4) == ['CORTEXA72'] and blas_kernel.better_than('CORTEXA72', PI4) == []


LIBRARY = {'corename': 'Prescott', 'dgemm_correct': True, 'dgemm_gflops': 24.0}


def probe(name, gflops, correct=True, offered=True):
    return {'corename': name if offered else 'Prescott', 'offered': offered, 'dgemm_correct': correct,
            'dgemm_gflops': gflops, 'value': name}


def test_auto_keeps_the_first_better_kernel_that_is_right_and_faster():
    probes = {'Cooperlake': probe('Cooperlake', 200.0, correct=False), 'SkylakeX': probe('SkylakeX', 118.0),
              'Haswell': probe('Haswell', 64.0)}
    chosen = blas_kernel.choose('auto', None, LIBRARY, probes)
    assert (chosen['kernel'], chosen['source'], chosen['environment']) == ('SkylakeX', 'auto', {'OPENBLAS_CORETYPE': 'SkylakeX'})
    assert 'the library chose Prescott' in chosen['reason'] and '4.9x faster' in chosen['reason']


def test_auto_keeps_the_library_when_nothing_is_faster_and_says_why():
    probes = {'SkylakeX': probe('SkylakeX', 24.5), 'Haswell': probe('Haswell', 90.0, offered=False),
              'Sandybridge': {'failed': 'exit -11: '}}
    chosen = blas_kernel.choose('auto', None, LIBRARY, probes)
    assert (chosen['kernel'], chosen['source'], chosen['environment']) == ('Prescott', 'library', {})
    assert 'SkylakeX was not faster' in chosen['reason'] and 'Haswell is not in this library' in chosen['reason']
    assert 'Sandybridge failed (exit -11' in chosen['reason']


def test_the_nodes_own_setting_is_honoured_whatever_is_asked():
    for setting in ('auto', 'library', 'SkylakeX'):
        chosen = blas_kernel.choose(setting, 'Prescott', LIBRARY, {})
        assert (chosen['kernel'], chosen['source']) == ('Prescott', 'node environment')
        assert chosen['environment'] == {'OPENBLAS_CORETYPE': 'Prescott'}


def test_library_and_forced():
    assert blas_kernel.choose('library', None, LIBRARY, {})['environment'] == {}
    forced = blas_kernel.choose('Haswell', None, LIBRARY, {'Haswell': probe('Haswell', 10.0)})
    assert (forced['kernel'], forced['source'], forced['environment']) == ('Haswell', 'forced', {'OPENBLAS_CORETYPE': 'Haswell'})


LIBBLAS = [path for path in ('/usr/lib/x86_64-linux-gnu/libblas.so.3', '/usr/lib/aarch64-linux-gnu/libblas.so.3')
           if os.path.exists(path)]


@pytest.mark.skipif(not LIBBLAS, reason='no libblas.so.3 on this machine (the site tests install OpenBLAS)')
def test_the_probe_reports_the_kernel_the_library_runs_with_this_machines_own_setting():
    """As the machine is set up: OPENBLAS_CORETYPE, where it sets one, is passed on as it is."""
    found = json.loads(subprocess.check_output([sys.executable, '-c', blas_kernel.PROBE, LIBBLAS[0], '200'],
                                               env=dict(os.environ, OPENBLAS_NUM_THREADS='1')))
    assert found['dgemm_correct'] is True and found['dgemm_gflops'] > 0
    if 'OpenBLAS' in found.get('config', ''):
        assert found['corename'] and found['corename'] in found['config']
        if os.environ.get('OPENBLAS_CORETYPE'):
            assert found['corename'].lower() == os.environ['OPENBLAS_CORETYPE'].lower()


def test_blis_is_chosen_by_its_configurations_number():
    library = {'corename': 'generic', 'dgemm_correct': True, 'dgemm_gflops': 12.0, 'arches': ['skx', 'generic']}
    skx = dict(probe('skx', 95.0), value=0)
    chosen = blas_kernel.choose('auto', None, library, {'skx': skx}, 'BLIS_ARCH_TYPE')
    assert (chosen['kernel'], chosen['environment']) == ('skx', {'BLIS_ARCH_TYPE': '0'})
    own = blas_kernel.choose('auto', '3', library, {}, 'BLIS_ARCH_TYPE')
    assert own['source'] == 'node environment' and own['environment'] == {'BLIS_ARCH_TYPE': '3'}


def test_a_decision_is_kept_only_for_the_same_library_file_cpu_and_setting():
    stat = os.stat_result((0o644, 0, 0, 1, 0, 0, 4096, 0, 1700000000.5, 0))
    zen5 = dict(ZEN5, vendor_id='AuthenticAMD', model='2', processors=2)
    key = blas_kernel.decision_key('/usr/lib/libblas.so.3', stat, zen5, 'openblas', 'auto')
    chosen = blas_kernel.choose('auto', None, LIBRARY, {'Cooperlake': probe('Cooperlake', 118.0)})
    record = json.loads(json.dumps({'key': key, 'decided': '2026-12-04', 'chosen': chosen,
                                    'library_kernel': 'Prescott', 'probes': {}}))
    assert blas_kernel.recall(record, key, LIBRARY) == record
    assert 'compared on 2026-12-04 and kept' in blas_kernel.kept_reason(record)
    # The library chooses another kernel than it did: it changed, so compare again.
    assert blas_kernel.recall(record, key, dict(LIBRARY, corename='SkylakeX')) is None
    upgraded = os.stat_result((0o644, 0, 0, 1, 0, 0, 4100, 0, 1700000000, 0))
    for other in (blas_kernel.decision_key('/usr/lib/libblas.so.3', upgraded, zen5, 'openblas', 'auto'),
                  blas_kernel.decision_key('/usr/lib/libblas.so.3', stat, dict(zen5, model='17'), 'openblas', 'auto'),
                  blas_kernel.decision_key('/usr/lib/libblas.so.3', stat, dict(HASWELL, vendor_id='AuthenticAMD',
                                                                               model='2'), 'openblas', 'auto'),
                  blas_kernel.decision_key('/usr/lib/libblas.so.3', stat, zen5, 'openblas', 'library')):
        assert blas_kernel.recall(record, other, LIBRARY) is None
    # More processors, or a flag no kernel depends on (a microcode update), is the same CPU.
    same = dict(zen5, processors=4, flags=zen5['flags'] + ' md_clear')
    assert blas_kernel.decision_key('/usr/lib/libblas.so.3', stat, same, 'openblas', 'auto') == key
    broken = [None, [], {'key': key}, dict(record, chosen='Cooperlake'), dict(record, decided=None),
              dict(record, chosen=dict(chosen, environment=None)), dict(record, chosen={'kernel': 'Cooperlake'})]
    for record in broken:
        assert blas_kernel.recall(record, key, LIBRARY) is None
