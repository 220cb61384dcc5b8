"""Results directories for the report's tests, made of recorded HPL runs.

Each document is built by the results module from a recorded HPL output
(tests/unit/fixtures/hpl), as the benchmark builds it from a real run, for a cluster of two
Pi 4s: an SD-card run, an NFS-root sweep (two NBs, two grids) after each node ran alone
(pi2 a fifth slower), a run tainted by an under-voltage, and a failed residual, each with
the conditions its nodes' samplers report; with a side-by-side benchmark table recorded on this
project's test machine (tests/unit/fixtures/bench).
"""

import datetime
import glob
import json
import os
import shutil

from ansible_collections.picluster.hpl.plugins.module_utils import conditions, results

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'unit', 'fixtures')
PI4 = {'ansible_architecture': 'aarch64', 'ansible_processor_vcpus': 4, 'ansible_memtotal_mb': 7812,
       'ansible_distribution': 'Debian', 'ansible_distribution_version': '12.8',
       'picluster_hpl_node': {'model': 'Raspberry Pi 4 Model B Rev 1.4', 'memory_mb': 7812, 'cores': 4,
                              'peak': {'gflops': 6.0, 'source': 'board'}}}
# (recorded output, minute past 03:00 on 2026-11-24, boot medium, pi2's throttling flags
# during the run: 0x1 is under-voltage now, 0x10000 since boot)
RUNS = (('single_passed', 0, 'sd', 0), ('matrix_sweep', 10, 'nfs', 0), ('single_passed', 20, 'nfs', 0x1),
        ('failed_residual', 30, 'nfs', 0))


def sampler_report(before=0, after=0, during=0, other=0.0, measured=10.0, vcgencmd=True):
    """One node's sampler report, as roles/benchmark/files/picluster-hpl-conditions.py writes
    it: ``before``, ``after`` and ``during`` are vcgencmd get_throttled's values."""
    def sample(throttled, temp):
        return {'time': 0, 'governors': ['performance'], 'freq_mhz': [1800.0, 1800.0], 'load': [0.1, 0.2, 0.3],
                'temp_c': temp, 'temp_source': 'vcgencmd' if vcgencmd else 'thermal_zone',
                'throttled': throttled if vcgencmd else None}
    return {'samples': 6, 'before': sample(before, 45.0), 'after': sample(after, 61.5), 'governors': ['performance'],
            'freq_mhz': [1500.0, 1800.0], 'temp_c_max': 63.0, 'throttled_any': during if vcgencmd else 0,
            'load_max': 4.2, 'other_cpu_seconds': other, 'measured_seconds': measured, 'steal_cpu_seconds': 0.0,
            'other_top': [['stress-ng', other]] if other else [], 'final': True}


def _read(*parts):
    with open(os.path.join(FIXTURES, *parts)) as handle:
        return handle.read()


def run_document(fixture, minute, boot_medium='sd', hosts=('pi1', 'pi2'), throttled=None, alone=False):
    """The results document of a recorded HPL run on ``hosts``, with the conditions the
    sampler reports when ``throttled`` (the last host's flags during the run) is given, and
    with ``alone``, each node's run alone (the last one a fifth slower)."""
    node = dict(PI4, picluster_hpl_node=dict(PI4['picluster_hpl_node'], boot_medium=boot_medium))
    nodes = dict((name, results.node_from_facts(name, node)) for name in hosts)
    now = datetime.datetime(2026, 11, 24, 3, minute, 0, tzinfo=datetime.timezone.utc)
    run = {'output': _read('hpl', fixture + '.out'), 'hosts': list(hosts), 'hpl_dat': _read('hpl', fixture + '.dat'),
           'mpi': {'name': 'openmpi', 'version': '4.1.4'}}
    if alone:
        single = _read('hpl', 'single_passed.out')
        run['per_node'] = dict((name, single) for name in hosts)
        run['per_node'][hosts[-1]] = single.replace('7.416e+01', '5.933e+01')
    document = results.build_document(run, nodes, now=now)
    if throttled is not None:
        reports = dict((name, sampler_report()) for name in hosts)
        reports[hosts[-1]] = sampler_report(during=throttled, after=throttled << conditions.SINCE_BOOT)
        gflops = document['best']['gflops'] if document['best'] else None
        document['conditions'] = conditions.summarise(reports, 7.5, gflops)
    return document


def write_results(directory, bench=True):
    """Write the recorded runs (and the bench table) into ``directory``; their documents."""
    documents = [run_document(fixture, minute, medium, throttled=flags, alone=fixture == 'matrix_sweep')
                 for fixture, minute, medium, flags in RUNS]
    for document in documents:
        with open(os.path.join(str(directory), 'hpl-%s.json' % document['id']), 'w') as handle:
            json.dump(document, handle)
    if bench:
        os.makedirs(os.path.join(str(directory), 'bench'), exist_ok=True)
        for path in glob.glob(os.path.join(FIXTURES, 'bench', 'bench-*.json')):
            shutil.copy(path, os.path.join(str(directory), 'bench'))
    return documents
