"""The parser against real xhpl and hpcc output captured on this project's machines
(tests/unit/fixtures/README.md says how each was made)."""

import pytest

from ansible_collections.picluster.hpl.plugins.module_utils import hpl_dat
from ansible_collections.picluster.hpl.plugins.module_utils.hpl_output import decode_variant, parse_hpl_output
from conftest import read_fixture


def parse(name):
    return parse_hpl_output(read_fixture('hpl', name + '.out'))


def test_single_passed_run():
    parsed = parse('single_passed')
    assert parsed['status'] == 'passed' and parsed['errors'] == []
    assert parsed['summary'] == {'finished': 1, 'passed': 1, 'failed': 0, 'skipped': 0, 'unchecked': 0}
    (row,) = parsed['results']
    assert row == {
        'tv': 'WR11C2R4', 'pmap': 'row', 'depth': 1, 'bcast': '1rM', 'rfact': 'crout', 'ndiv': 2,
        'pfact': 'right', 'nbmin': 4, 'n': 4032, 'nb': 192, 'p': 1, 'q': 2, 'time_s': 0.59,
        'gflops': 74.16, 'residual': pytest.approx(0.0025423), 'status': 'passed',
    }
    assert parsed['best'] == row
    assert 'hpcc' not in parsed


@pytest.mark.parametrize('name,rows', [('matrix_sweep', 192), ('matrix_sweep_colmajor', 288)])
def test_test_matrix_every_row_checked(name, rows):
    parsed = parse(name)
    assert len(parsed['results']) == rows == parsed['summary']['finished'] == parsed['summary']['passed']
    assert parsed['status'] == 'passed'
    assert all(r['status'] == 'passed' and 0 < r['residual'] < 16 for r in parsed['results'])
    assert parsed['best']['gflops'] == max(r['gflops'] for r in parsed['results'])
    # The rows cover what the HPL.dat beside the output asked for.
    asked = hpl_dat.parse_hpl_dat(read_fixture('hpl', name + '.dat'))
    assert hpl_dat.count_tests(asked) == rows
    seen = parsed['results']
    assert set(r['n'] for r in seen) == set(asked['ns'])
    assert set(r['nb'] for r in seen) == set(asked['nbs'])
    assert set((r['p'], r['q']) for r in seen) == set(tuple(g) for g in asked['grids'])
    assert set(r['bcast'] for r in seen) == set(asked['bcasts'])
    assert set(r['pfact'] for r in seen) == set(asked['pfacts'])
    assert set(r['rfact'] for r in seen) == set(asked['rfacts'])
    assert set(r['nbmin'] for r in seen) == set(asked['nbmins'])
    assert set(r['depth'] for r in seen) == set(asked['depths'])
    assert set(r['pmap'] for r in seen) == {asked['pmap']}


def test_multi_digit_nbmin_and_column_major():
    rows = parse('matrix_sweep_colmajor')['results']
    row = next(r for r in rows if r['tv'] == 'WC11L3C16')
    assert (row['pmap'], row['rfact'], row['ndiv'], row['pfact'], row['nbmin']) == ('column', 'left', 3, 'crout', 16)


def test_failed_residual_with_exit_code_zero_is_a_failure():
    assert read_fixture('hpl', 'failed_residual.exitcode').strip() == '0'
    parsed = parse('failed_residual')
    assert parsed['status'] == 'failed'
    assert [r['status'] for r in parsed['results']] == ['failed', 'failed']
    assert parsed['summary']['failed'] == 2 and parsed['summary']['passed'] == 0
    assert all(r['residual'] > 0 for r in parsed['results'])
    assert parsed['best'] is None


def test_unchecked_run():
    parsed = parse('unchecked')
    assert parsed['status'] == 'unchecked'
    assert [(r['nb'], r['status'], r['residual']) for r in parsed['results']] == [
        (64, 'unchecked', None), (128, 'unchecked', None)]
    assert parsed['summary'] == {'finished': 2, 'passed': 0, 'failed': 0, 'skipped': 0, 'unchecked': 2}


def test_need_more_processes():
    parsed = parse('need_processes')
    assert parsed['status'] == 'error' and parsed['results'] == [] and parsed['summary'] is None
    assert parsed['errors'][:2] == [
        'HPL ERROR in HPL_pdinfo (process 0, line 438): Need at least 4 processes for these tests',
        'HPL ERROR in HPL_pdinfo (process 0, line 31): Illegal input in file HPL.dat. Exiting ...',
    ]
    assert '1 MPI process returned a non-zero exit code' in parsed['errors']


def test_illegal_input():
    parsed = parse('illegal_input')
    assert parsed['status'] == 'error'
    assert parsed['errors'][0] == 'HPL ERROR in HPL_pdinfo (process 0, line 386): Value of NB less than 1'


def test_mpi_launch_failure_is_readable():
    parsed = parse('mpi_slots')
    assert parsed['status'] == 'error'
    assert parsed['errors'] == [
        'mpirun: not enough slots for 8 ranks: list more slots in the hostfile, or ask for fewer ranks']


def test_interrupted_run_keeps_what_was_measured():
    parsed = parse('interrupted')
    assert parsed['summary'] is None and parsed['status'] == 'incomplete'
    assert [(r['n'], r['status']) for r in parsed['results']] == [(2016, 'passed')]
    assert parsed['best']['gflops'] == 57.88


def test_skipped_test_makes_the_run_incomplete():
    parsed = parse('skipped_memory')
    assert parsed['status'] == 'incomplete'
    assert parsed['summary']['skipped'] == 1 and parsed['summary']['passed'] == 1
    assert any('Memory allocation failed' in e for e in parsed['errors'])


def test_hpcc_output():
    parsed = parse_hpl_output(read_fixture('hpcc', 'hpccoutf.txt'))
    assert parsed['status'] == 'passed'
    (row,) = parsed['results']
    assert (row['n'], row['nb'], row['p'], row['q'], row['status']) == (4032, 192, 1, 2, 'passed')
    # PTRANS's own "Finished 5 tests" block must not leak into HPL's summary.
    assert parsed['summary'] == {'finished': 1, 'passed': 1, 'failed': 0, 'skipped': 0, 'unchecked': 0}
    hpcc = parsed['hpcc']
    assert (hpcc['HPL_N'], hpcc['HPL_NB'], hpcc['HPL_nprow'], hpcc['HPL_npcol']) == (4032, 192, 1, 2)
    assert isinstance(hpcc['HPL_Tflops'], float) and hpcc['HPL_Tflops'] > 0
    assert hpcc['CommWorldProcs'] == 2 and hpcc['VersionRelease'] == 'f'
    for key in ('StarDGEMM_Gflops', 'StarSTREAM_Triad', 'AvgPingPongLatency_usec',
                'RandomlyOrderedRingBandwidth_GBytes', 'PTRANS_GBs', 'MPIRandomAccess_GUPs', 'MPIFFT_Gflops'):
        assert isinstance(hpcc[key], (int, float)), key


def test_hpcc_failed_residual():
    parsed = parse_hpl_output(read_fixture('hpcc', 'hpccoutf_failed.txt'))
    assert parsed['status'] == 'failed'
    assert parsed['results'][0]['status'] == 'failed'
    assert parsed['summary']['failed'] == 1


def test_hpl_23_rows_and_garbage():
    # HPL 2.3 prints the same row; the fixtures come from HPL 2.0 (hpcc 1.5.0's hpl/).
    text = ('WR11C2R4       32768   192     3     4             765.43             3.1322e+01\n'
            'HPL_pdgesv() start time Mon Jan  1 00:00:00 2024\n\n'
            '||Ax-b||_oo/(eps*(||A||_oo*||x||_oo+||b||_oo)*N)=   2.72836945e-03 ...... PASSED\n')
    parsed = parse_hpl_output(text)
    assert parsed['results'][0]['gflops'] == 31.322 and parsed['results'][0]['status'] == 'passed'
    assert parse_hpl_output('')['status'] == 'error'
    assert parse_hpl_output('random words\nWR11 not a row\n')['results'] == []
    with pytest.raises(TypeError):
        parse_hpl_output(42)


@pytest.mark.parametrize('tv,expected', [
    ('WR11C2R4', ('row', 1, '1rM', 'crout', 2, 'right', 4)),
    ('WC13L2C16', ('column', 1, '2rM', 'left', 2, 'crout', 16)),
    ('WR05R3L2', ('row', 0, 'LnM', 'right', 3, 'left', 2)),
])
def test_decode_variant(tv, expected):
    decoded = decode_variant(tv)
    assert tuple(decoded[k] for k in ('pmap', 'depth', 'bcast', 'rfact', 'ndiv', 'pfact', 'nbmin')) == expected


def test_decode_variant_refuses_nonsense():
    with pytest.raises(ValueError, match='not an HPL T/V code'):
        decode_variant('WR16C2R4')


@pytest.mark.parametrize('name, reason, status, rows', [
    ('single_passed', None, 'passed', 1),
    ('failed_residual', 'residual_failed', 'failed', 2),
    ('unchecked', 'unchecked', 'unchecked', 2),
    ('need_processes', 'hpl_error', 'error', 0),
    ('illegal_input', 'hpl_error', 'error', 0),
    ('skipped_memory', 'hpl_error', 'incomplete', 1),
    ('mpi_slots', 'mpi_slots', 'error', 0),
    ('interrupted', 'incomplete', 'incomplete', 1),
    ('oom_killed', 'rank_killed', 'error', 0),
    ('daemon_lost', 'daemon_lost', 'incomplete', 1),
    ('slurm_cancelled', 'job_cancelled', 'incomplete', 1),
    ('slurm_timeout', 'timeout', 'incomplete', 1),
])
def test_every_fault_has_a_named_reason(name, reason, status, rows):
    parsed = parse(name)
    assert (parsed['reason'], parsed['status'], len(parsed['results'])) == (reason, status, rows)
    assert [fault['message'] for fault in parsed['faults']] == parsed['errors']
    assert (reason is None) == (parsed['faults'] == [])


def test_a_rank_killed_for_memory_says_so():
    parsed = parse('oom_killed')
    assert 'rank 0 was killed (signal 9), most often for want of memory: lower benchmark_memory_fraction' in parsed['errors']
    assert [fault['reason'] for fault in parsed['faults']] == ['rank_failed', 'rank_killed']


def test_a_lost_node_is_named_and_what_it_measured_is_kept():
    parsed = parse('daemon_lost')
    lost = [fault for fault in parsed['faults'] if fault['reason'] == 'daemon_lost']
    assert lost == [{'reason': 'daemon_lost', 'message': 'mpirun lost node 127.0.0.2 during the run: '
                     'check that it is up, powered and on the network'}]
    assert [(row['n'], row['status']) for row in parsed['results']] == [(2016, 'passed')]
    assert parsed['best']['n'] == 2016


def test_no_output_at_all_is_no_result():
    parsed = parse_hpl_output('')
    assert parsed['reason'] == 'no_result' and parsed['errors'] == ['the run printed no result']
