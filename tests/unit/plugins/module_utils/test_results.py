import datetime
import json
import os

import jsonschema
import pytest

from ansible_collections.picluster.hpl.plugins.module_utils import hpl_output, peaks, results
from conftest import ROOT, read_fixture

NOW = datetime.datetime(2026, 11, 24, 3, 0, 0, tzinfo=datetime.timezone.utc)
with open(os.path.join(ROOT, 'schemas', 'hpl_results.schema.json')) as handle:
    SCHEMA = json.load(handle)
PI4 = {'ansible_architecture': 'aarch64', 'ansible_processor_vcpus': 4, 'ansible_memtotal_mb': 7812,
       'ansible_distribution': 'Debian', 'ansible_distribution_version': '12.8', 'ansible_kernel': '6.6.51+rpt-rpi-v8',
       'picluster_hpl_node': {'model': 'Raspberry Pi 4 Model B Rev 1.4', 'boot_medium': 'nfs', 'memory_mb': 7812,
                              'cores': 4, 'peak': {'gflops': 6.0, 'source': 'board'}}}


def document(run, nodes=None):
    doc = results.build_document(run, nodes or {}, now=NOW)
    jsonschema.validate(doc, SCHEMA)
    return doc


def test_pi_cluster_document():
    nodes = dict((name, results.node_from_facts(name, PI4)) for name in ('pi1', 'pi2', 'pi3'))
    sizing = {'n': 4032, 'nb': 192, 'p': 1, 'q': 2, 'bounding_node': 'pi3',
              'nodes': [{'name': 'pi1', 'ranks': 1}, {'name': 'pi2', 'ranks': 1}, {'name': 'pi3', 'ranks': 0}]}
    doc = document({'output': read_fixture('hpl', 'single_passed.out'), 'hosts': ['pi1', 'pi2', 'pi3'],
                    'hpl_dat': read_fixture('hpl', 'single_passed.dat'), 'sizing': sizing}, nodes)
    assert doc['id'] == '20261124T030000Z-pi1'
    assert [n['boot_medium'] for n in doc['nodes']] == ['nfs'] * 3 and doc['boot_medium'] == 'nfs'
    assert doc['nodes'][0]['model'] == 'Raspberry Pi 4 Model B Rev 1.4' and doc['nodes'][0]['arch'] == 'aarch64'
    assert doc['nodes'][0]['os'] == 'Debian 12.8'
    # Rpeak counts cores that run a rank: 2 ranks x 6.0 GFLOPS.
    assert doc['rpeak_gflops'] == 12.0 and doc['rpeak_source'] == 'nodes'
    assert doc['efficiency'] == pytest.approx(74.16 / 12.0, abs=1e-4)
    assert doc['dgemm_gflops'] is None and doc['efficiency_vs_dgemm'] is None
    assert 'of Rpeak 12.0 GFLOPS' in results.headline(doc)
    assert doc['output'] == read_fixture('hpl', 'single_passed.out')


def test_hpcc_document_measures_against_dgemm():
    doc = document({'output': read_fixture('hpcc', 'hpccoutf.txt'), 'hosts': ['x86']})
    hpcc = doc['hpcc']
    assert doc['dgemm_gflops'] == pytest.approx(hpcc['StarDGEMM_Gflops'] * 2, abs=1e-3)
    assert doc['efficiency_vs_dgemm'] == pytest.approx(doc['best']['gflops'] / doc['dgemm_gflops'], abs=1e-4)
    assert doc['rpeak_gflops'] is None and 'Rpeak unknown' in results.headline(doc)
    assert '% of DGEMM' in results.headline(doc)


def test_error_run_document():
    doc = document({'output': read_fixture('hpl', 'need_processes.out'), 'hosts': ['pi1']})
    assert doc['status'] == 'error' and doc['best'] is None and doc['top500'] is None
    assert doc['reason'] == 'hpl_error'
    assert results.headline(doc).startswith('HPL run 20261124T030000Z-pi1: no result, hpl_error (HPL ERROR in HPL_pdinfo')


def test_a_run_record_without_output_is_refused():
    with pytest.raises(ValueError, match="'output'"):
        results.build_document({'hosts': ['a']}, {})


def test_boot_medium_of_the_cluster_is_one_field():
    node = dict(PI4['picluster_hpl_node'], boot_medium='sd', overclocks={'arm_freq': 2000})
    sd = dict(PI4, picluster_hpl_node=node)
    nodes = {'pi1': results.node_from_facts('pi1', PI4), 'pi2': results.node_from_facts('pi2', sd)}
    doc = document({'output': read_fixture('hpl', 'single_passed.out'), 'hosts': ['pi1', 'pi2']}, nodes)
    assert doc['boot_medium'] == 'mixed'
    assert doc['nodes'][1]['overclocks'] == {'arm_freq': 2000} and doc['nodes'][0]['overclocks'] == {}
    doc = document({'output': read_fixture('hpl', 'single_passed.out'), 'hosts': ['x']})
    assert doc['boot_medium'] is None


def test_a_node_without_a_peak_says_why_in_the_headline():
    emulated = dict(PI4, picluster_hpl_node=dict(PI4['picluster_hpl_node'], peak={
        'gflops': None, 'source': 'emulated', 'explain': 'emulated: /proc/cpuinfo describes an x86 CPU'}))
    nodes = {'pi1': results.node_from_facts('pi1', emulated)}
    doc = document({'output': read_fixture('hpl', 'single_passed.out'), 'hosts': ['pi1']}, nodes)
    assert doc['nodes'][0]['peak']['source'] == 'emulated' and doc['rpeak_gflops'] is None
    assert "Rpeak unknown (pi1: emulated, its CPU is the host's)" in results.headline(doc)
    clockless = dict(PI4, picluster_hpl_node=dict(PI4['picluster_hpl_node'], peak=peaks.peak_per_core(
        {'cpu implementer': '0x41', 'cpu part': '0xd0c', 'features': 'fp asimd'}, 'aarch64')))
    doc = document({'output': read_fixture('hpl', 'single_passed.out'), 'hosts': ['pi1']},
                   {'pi1': results.node_from_facts('pi1', clockless)})
    assert 'but no clock' in results.headline(doc) and 'set benchmark_rpeak_gflops_per_core' in results.headline(doc)


def test_dgemm_from_the_nodes_and_a_slow_kernel_is_named_with_what_to_try():
    zen5 = peaks.peak_per_core({'vendor_id': 'AuthenticAMD', 'cpu family': '26', 'model': '2', 'cpu mhz': '2596.12',
                                'flags': 'sse2 avx avx2 fma avx512f'}, 'x86_64')
    facts = {'ansible_architecture': 'x86_64', 'picluster_hpl_node': {'cores': 2, 'peak': zen5},
             'picluster_hpl_blas': {'kernel': 'Prescott', 'source': 'node environment', 'library_kernel': 'Cooperlake',
                                    'reason': 'OPENBLAS_CORETYPE=Prescott is set on the node', 'dgemm_gflops': 9.0,
                                    'emulated': False}}
    sizing = {'n': 4032, 'nb': 192, 'p': 1, 'q': 2, 'nodes': [{'name': 'x86', 'ranks': 2}]}
    blas = {'name': 'openblas', 'version': '0.3.21', 'kernel': 'Prescott', 'kernel_source': 'node environment'}
    doc = document({'output': read_fixture('hpl', 'single_passed.out'), 'hosts': ['x86'], 'sizing': sizing,
                    'blas': blas}, {'x86': results.node_from_facts('x86', facts)})
    assert (doc['dgemm_gflops'], doc['dgemm_source']) == (18.0, 'nodes')
    assert doc['rpeak_gflops'] == pytest.approx(2 * 83.0758, abs=1e-3)
    assert doc['nodes'][0]['blas_kernel']['kernel'] == 'Prescott'
    (warning,) = doc['warnings']
    assert warning.startswith('x86: DGEMM 9.0 GFLOPS on one core is 11% of its peak 83.1, with the Prescott kernel')
    assert 'the node sets OPENBLAS_CORETYPE itself' in warning and 'let blas_openblas_coretype=auto choose' in warning
    line = results.headline(doc)
    assert ', openblas 0.3.21 kernel Prescott (node environment).' in line and line.endswith(warning)


def test_a_fast_kernel_gives_no_warning():
    entry = {'name': 'pi1', 'peak': {'gflops': 7.2}, 'blas_kernel': {'dgemm_gflops': 5.1, 'source': 'library'}}
    assert results.slow_blas([entry]) == []
    assert 'no faster kernel was found' in results.slow_blas([dict(entry, blas_kernel={'dgemm_gflops': 2.0})])[0]
    blis = results.slow_blas([dict(entry, blas_kernel={'name': 'blis', 'dgemm_gflops': 2.0, 'source': 'forced'})])[0]
    assert 'blas_blis_arch forces it: try auto' in blis


def test_the_fastest_kernel_measured_raises_the_clock_a_slow_one_is_judged_against():
    """As measured on a Zen 4 VM whose cpu MHz is its nominal 2.596 GHz: Prescott forced, 20.8
    GFLOPS on one core, is half the nominal peak, but 39 % of what the library's own kernel,
    53.6 GFLOPS, shows the core does."""
    zen4 = peaks.peak_per_core({'vendor_id': 'AuthenticAMD', 'cpu family': '25', 'model': '17', 'cpu mhz': '2596.144',
                                'flags': 'sse2 avx avx2 fma avx512f'}, 'x86_64')
    blas = {'kernel': 'Prescott', 'source': 'forced', 'library_kernel': 'Cooperlake', 'dgemm_gflops': 20.815,
            'library_dgemm_gflops': 53.648, 'probes': {'Prescott': {'dgemm_gflops': 20.815}, 'bad': None}}
    entry = dict(results.node_from_facts('x86', {'ansible_architecture': 'x86_64', 'picluster_hpl_blas': blas,
                                                 'picluster_hpl_node': {'cores': 2, 'peak': zen4}}), ranks=2)
    assert entry['peak']['gflops'] == 53.648 and 'at least 3.353 GHz' in entry['peak']['explain']
    (warning,) = results.slow_blas([entry])
    assert 'is 39% of its peak 53.6, with the Prescott kernel (forced)' in warning
    assert results.fastest_dgemm({'dgemm_gflops': True, 'probes': {'x': {'dgemm_gflops': float('nan')}}}) is None


def test_a_run_that_confirms_a_search_carries_it():
    output = read_fixture('hpl', 'single_passed.out')
    row = dict(hpl_output.parse_hpl_output(output)['results'][0], stage='nb_grid')
    tuning = {'n': row['n'], 'seconds': 1.5, 'budget_seconds': 60.0, 'rows': [row], 'winner': row,
              'stages': [{'stage': 'nb_grid', 'what': 'NB and the grid', 'tests': 1, 'skipped': None}]}
    doc = document({'output': output, 'hosts': ['pi1'], 'tuning': tuning})
    assert doc['tuning'] == tuning
    assert 'tuning' not in document({'output': output, 'hosts': ['pi1']})
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(dict(doc, tuning={'n': 1}), SCHEMA)


def test_each_node_alone_names_the_weak_ones():
    fast = read_fixture('hpl', 'single_passed.out')
    slow = fast.replace('7.416e+01', '5.933e+01')
    alone = results.per_node({'pi1': fast, 'pi2': fast, 'pi3': slow, 'pi4': read_fixture('hpl', 'illegal_input.out')},
                             seconds=12.5)
    assert [(node['name'], node['gflops'], node['status']) for node in alone['nodes']] == [
        ('pi1', 74.16, 'passed'), ('pi2', 74.16, 'passed'), ('pi3', 59.33, 'passed'), ('pi4', None, 'error')]
    # The median of the three that passed; pi3 is 20 % below it, pi4 gave no result.
    assert alone['median_gflops'] == 74.16 and alone['weak'] == ['pi3', 'pi4'] and alone['seconds'] == 12.5
    assert alone['nodes'][0]['n'] == 4032 and alone['nodes'][3]['errors']
    doc = document({'output': fast, 'hosts': ['pi1'], 'per_node': {'pi1': fast, 'pi3': slow}})
    assert doc['per_node']['weak'] == ['pi3']
    # Of two, the median is their mean, 66.745: pi3 is 11 % below it.
    assert ', alone: pi1 74.16, pi3 59.33 GFLOPS; pi3 11 % below the median (check its cooling' in results.headline(doc)


def test_nodes_that_gave_no_result_alone_are_weak_even_without_a_median():
    alone = results.per_node({'pi1': '', 'pi2': read_fixture('hpl', 'illegal_input.out')})
    assert alone['median_gflops'] is None and alone['weak'] == ['pi1', 'pi2']


def test_the_schema_knows_every_reason():
    assert SCHEMA['$defs']['reason']['enum'] == list(hpl_output.REASONS)


@pytest.mark.parametrize('fixture, run, reason, named', [
    ('daemon_lost', {'lost': ['pi3'], 'rc': 205}, 'daemon_lost', 'lost pi3 during the run'),
    ('interrupted', {'message': 'Timeout exceeded'}, 'timeout', 'stopped at benchmark_timeout'),
    ('oom_killed', {'rc': 137}, 'rank_killed', 'want of memory'),
    ('single_passed', {'rc': 0}, None, None),
    ('failed_residual', {'rc': 0}, 'residual_failed', 'FAILED'),
])
def test_a_run_that_went_wrong_names_why_and_keeps_what_it_measured(fixture, run, reason, named):
    doc = document(dict(run, output=read_fixture('hpl', fixture + '.out'), hosts=['pi1', 'pi2', 'pi3']))
    assert doc['reason'] == reason
    assert (named is None and doc['errors'] == []) or any(named in error for error in doc['errors'])
    assert doc['errors'] == [fault['message'] for fault in doc['faults']]
    parsed = hpl_output.parse_hpl_output(read_fixture('hpl', fixture + '.out'))
    assert doc['results'] == parsed['results'] and doc['best'] == parsed['best']
    if doc['best'] and reason not in (None, 'residual_failed'):
        assert '(%s)' % reason in results.headline(doc)


def test_a_non_zero_exit_that_nothing_explains_is_named():
    doc = document({'output': read_fixture('hpl', 'single_passed.out'), 'hosts': ['pi1'], 'rc': 3})
    assert doc['reason'] == 'mpirun_failed' and doc['errors'] == ['mpirun exited with 3: see its output']


def test_a_node_mpirun_named_as_lost_is_named_once():
    # mpirun names the node by its hostfile address (127.0.0.2 in the capture), the play by
    # its inventory name.
    sizing = {'nodes': [{'name': 'pi1', 'address': '127.0.0.1'}, {'name': 'pi3', 'address': '127.0.0.2'}]}
    doc = document({'output': read_fixture('hpl', 'daemon_lost.out'), 'hosts': ['pi1', 'pi3'], 'lost': ['pi3'],
                    'rc': 205, 'sizing': sizing})
    assert [fault for fault in doc['faults'] if fault['reason'] == 'daemon_lost'] == [{
        'reason': 'daemon_lost',
        'message': 'mpirun lost node 127.0.0.2 during the run: check that it is up, powered and on the network'}]


def test_every_node_lost_is_named():
    text = read_fixture('hpl', 'daemon_lost.out')
    lost = text[text.index('ORTE has lost'):text.index('therefore will terminate the job.')]
    doc = document({'output': text + lost.replace('127.0.0.2', 'pi2'), 'hosts': ['pi1', 'pi2', 'pi3'],
                    'lost': ['pi2', 'pi3', 'pi4'], 'rc': 205})
    assert [error.split(' during')[0] for error in doc['errors'] if 'lost' in error] == [
        'mpirun lost node 127.0.0.2', 'mpirun lost node pi2', 'lost pi3, pi4']


SLURM_JOB = ('JobId=7 JobName=hpl-x UserId=hpl(1001) JobState={state} Reason={reason} ExitCode=0:15 '
             'TimeLimit=00:05:00 Partition=cluster NodeList=pi[1-3] BatchHost=pi1 NumNodes=3')


@pytest.mark.parametrize('state, reason, said', [
    ('TIMEOUT', 'timeout', 'Slurm stopped job 7 at its time limit'),
    ('CANCELLED', 'job_cancelled', 'Slurm cancelled job 7 before it ended'),
    ('NODE_FAIL', 'daemon_lost', 'Slurm ended job 7 when a node failed'),
    ('OUT_OF_MEMORY', 'rank_killed', 'Slurm killed job 7 for want of memory'),
])
def test_a_slurm_job_that_ended_early_is_named_with_what_it_measured(state, reason, said):
    text = read_fixture('hpl', 'interrupted.out')
    doc = document({'output': text, 'hosts': ['pi1'], 'rc': 0, 'slurm': SLURM_JOB.format(state=state, reason='None')})
    assert doc['reason'] == reason and said in ' '.join(doc['errors'])
    assert doc['slurm']['job_id'] == '7' and doc['slurm']['state'] == state and doc['slurm']['nodes'] == 'pi[1-3]'
    assert doc['results'] == hpl_output.parse_hpl_output(text)['results'] and doc['results']
    jsonschema.validate(doc, SCHEMA)


def test_slurms_own_line_and_its_record_name_one_fault():
    text = read_fixture('hpl', 'interrupted.out') + (
        '\nslurmstepd: error: *** JOB 7 ON pi1 CANCELLED AT 2026-12-05T17:01:02 DUE TO TIME LIMIT ***\n')
    doc = document({'output': text, 'hosts': ['pi1'], 'slurm': SLURM_JOB.format(state='TIMEOUT', reason='TimeLimit')})
    assert [fault['reason'] for fault in doc['faults']].count('timeout') == 1 and doc['reason'] == 'timeout'
    assert doc['slurm']['reason'] == 'TimeLimit'


def test_a_job_slurm_forgot_is_null_and_the_run_still_recorded():
    doc = document({'output': read_fixture('hpl', 'single_passed.out'), 'hosts': ['pi1'], 'slurm': ''})
    assert doc['slurm'] is None and doc['status'] == 'passed' and doc['reason'] is None
    jsonschema.validate(doc, SCHEMA)


@pytest.mark.parametrize('name, reason, state', [
    ('cancelled', 'job_cancelled', 'CANCELLED'),
    ('timeout', 'timeout', 'TIMEOUT'),
])
def test_a_real_slurm_job_ended_early_is_named_with_its_first_test(name, reason, state):
    with open(os.path.join(ROOT, 'tests', 'unit', 'fixtures', 'slurm', 'job_%s.txt' % name)) as handle:
        record = handle.read()
    doc = document({'output': read_fixture('hpl', 'slurm_%s.out' % name), 'hosts': ['pi1', 'pi2', 'pi3'],
                    'rc': 143, 'slurm': record})
    assert doc['reason'] == reason and doc['slurm']['state'] == state and doc['slurm']['nodes'] == 'pi[1-3]'
    # Slurm's own line and its record name one fault, not two.
    assert [fault['reason'] for fault in doc['faults']].count(reason) == 1, doc['faults']
    assert [(row['n'], row['status']) for row in doc['results']] == [(576, 'passed')]
    assert doc['status'] == 'incomplete'
    jsonschema.validate(doc, SCHEMA)


def test_srun_saying_a_rank_was_killed_or_failed_is_named():
    text = read_fixture('hpl', 'interrupted.out') + (
        'slurmstepd: error: Detected 1 oom_kill event in StepId=9.0. Some of the step tasks have been OOM Killed.\n'
        'srun: error: pi3: task 2: Killed\nsrun: error: pi2: tasks 1,4: Exited with exit code 3\n')
    doc = document({'output': text, 'hosts': ['pi1'], 'rc': 137, 'command': 'sbatch --wait job.sh'})
    assert doc['reason'] == 'rank_killed'
    assert 'rank 2 on pi3 was killed (signal 9)' in ' '.join(doc['errors'])
    assert 'rank 1,4 on pi2 exited with 3' in ' '.join(doc['errors'])
    assert 'Slurm saw 1 rank(s) killed for want of memory' in ' '.join(doc['errors'])


def test_a_slurm_jobs_exit_that_nothing_explains_is_named_as_the_jobs():
    doc = document({'output': read_fixture('hpl', 'single_passed.out'), 'hosts': ['pi1'], 'rc': 1,
                    'command': 'sbatch --wait --parsable job.sh'})
    assert doc['errors'] == ['the Slurm job exited with 1: see its output']


def test_each_node_records_which_atlas_it_ran():
    tuned = {'kind': 'tuned', 'key': 'arm64-bookworm-atlas3.10.3-13-arm-0x41-0xd08', 'built': '2026-11-02T07:00:00Z',
             'node': 'pi1'}
    facts = {name: {'ansible_architecture': 'aarch64',
                    'picluster_hpl_blas': {'name': 'atlas', 'kernel': kernel, 'source': 'library', 'reason': 'ATLAS',
                                           'emulated': False, 'build': build}}
             for name, kernel, build in (('pi1', 'tuned', tuned), ('pi2', 'generic', {'kind': 'generic'}))}
    doc = document({'output': read_fixture('hpl', 'single_passed.out'), 'hosts': ['pi1', 'pi2']},
                   dict((name, results.node_from_facts(name, fact)) for name, fact in facts.items()))
    assert [node['blas_kernel']['build'] for node in doc['nodes']] == [tuned, {'kind': 'generic'}]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(dict(doc, nodes=[dict(doc['nodes'][0], blas_kernel={'build': {'kind': 'fast'}})]), SCHEMA)
