"""site.yml for real on this machine: packages installed, HPL built or from hpcc, run as
the unprivileged user, and the JSON it leaves behind. These change the machine (packages,
the hpl user, alternatives) as the README's run command does."""

import csv
import datetime
import functools
import glob
import hashlib
import http.server
import io
import json
import os
import pwd
import re
import subprocess
import sys
import threading
import time

import pytest
import yaml
from PIL import Image

from ansible_collections.picluster.hpl.plugins.module_utils import atlas, bench, blas_kernel, hpl_dat, results
from ansible_collections.picluster.hpl.plugins.module_utils import sizing as sizing_core
import browser
from helpers import ROOT, ansible_env, documents, install_built_collection, key_value, run, vcgencmd_stand_in
from report_fixtures import run_document, write_results

pytestmark = pytest.mark.slow
INSTALL = os.path.join(ROOT, 'tests', 'integration', 'playbooks', 'install.yml')
INSTALL_PLAYS = ('Prepare the nodes', 'MPI from the distribution', 'BLAS from the distribution',
                 "HPL, built or from Debian's hpcc")
MULTIARCH = {'x86_64': 'x86_64-linux-gnu', 'aarch64': 'aarch64-linux-gnu'}[os.uname().machine]


def playbook(args, results_dir, collections_dir, json_output=False):
    """ansible-playbook on inventory/local.yml; with json_output, the per-task JSON report."""
    extra = {'ANSIBLE_STDOUT_CALLBACK': 'ansible.posix.json'} if json_output else {}
    result = run(['ansible-playbook'] + list(args), ansible_env(collections_dir, results_dir=results_dir, **extra))
    if not json_output:
        return result, None
    return result, json_report(result.stdout)


def json_report(stdout):
    """ansible.posix.json's report in the output (the hpl_results callback's lines may stand
    around it)."""
    report, _end = json.JSONDecoder().raw_decode(stdout[stdout.index('{\n'):])
    return report


def task_results(report, task_name=None, plays=None):
    """(play, task, outcome) for every task run; task names without their role prefix."""
    for play in report['plays']:
        if plays and play['play']['name'] not in plays:
            continue
        for task in play['tasks']:
            name = task['task']['name'].split(' : ', 1)[-1]
            if task_name is None or name == task_name:
                for host, outcome in task['hosts'].items():
                    yield play['play']['name'], name, outcome


def refused_install(args, tmp_path, collections_dir):
    """Run the install playbook, which must fail: its report, and (task, message) of every
    task that failed."""
    result, report = playbook([INSTALL] + args, tmp_path, collections_dir, json_output=True)
    assert result.returncode != 0
    failed = [(task, outcome.get('msg', '')) for play, task, outcome in task_results(report) if outcome.get('failed')]
    return report, failed


def apt_arguments(report, task_name):
    """The apt module's arguments in the one run of that task."""
    ((play, task, outcome),) = task_results(report, task_name)
    return outcome['invocation']['module_args']


def extra_vars(**values):
    """-e key=value for each value, as users type them: every run here checks that options
    given as text mean what they say (tests/integration/test_role_options.py checks each one)."""
    args = []
    # Ansible's own check of a role's arguments refuses the text null for a number: a
    # null goes as JSON, as a user must give it.
    nulls = dict((name, None) for name, value in values.items() if value is None)
    if nulls:
        args += ['-e', json.dumps(nulls)]
    for name, value in sorted(values.items()):
        if value is not None:
            args += ['-e', '%s=%s' % (name, key_value(value))]
    return args


class MpiProcesses(object):
    """The (user, command) of every MPI launcher and rank that ps shows while the block runs."""
    LAUNCHERS = ('mpirun', 'mpiexec', 'orterun')  # and their .openmpi, .mpich, .hydra names
    COMMANDS = ('orted', 'hydra_pmi_proxy', 'xhpl', 'hpcc')

    def __enter__(self):
        self.seen, self._stop = set(), threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self.seen

    def _watch(self):
        # This machine's own processes: not the emulated cluster's, which other tests may
        # run beside this one, in containers with users of their own.
        ours = os.readlink('/proc/self/ns/pid').strip('pid:[]')
        while not self._stop.wait(0.5):
            listing = subprocess.run(['ps', '-eo', 'pidns=,user:32=,comm='], stdout=subprocess.PIPE,
                                     universal_newlines=True, check=False).stdout
            for namespace, user, command in (line.split(None, 2) for line in listing.splitlines()
                                             if len(line.split(None, 2)) == 3):
                command = command.strip()
                if namespace == ours and command.split('.')[0] in self.LAUNCHERS:
                    self.seen.add((user, 'mpirun'))
                elif namespace == ours and command in self.COMMANDS:
                    self.seen.add((user, command))

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def test_run_command_benchmarks_this_machine(tmp_path):
    """The README's run command: xhpl built from the HPL in Debian's hpcc source, the
    package archive its only source, most of the run spent in HPL. A stand-in vcgencmd
    reports an under-voltage, as a Pi on a weak supply does: the run is marked tainted."""
    # Under-voltage and throttled, now and since boot.
    weak_supply = vcgencmd_stand_in(tmp_path, 0x50005, 71.3)
    results_dir = tmp_path / 'results'
    started = time.time()
    with MpiProcesses() as seen:
        result = run([os.path.join(ROOT, 'run')] + extra_vars(benchmark_max_seconds=45, benchmark_vcgencmd=weak_supply,
                                                              benchmark_power_watts=150),
                     ansible_env(os.path.join(ROOT, '.cache', 'collections'), results_dir=results_dir))
    elapsed = time.time() - started
    # ps while it ran: mpirun and every rank ran as the unprivileged user, never as root.
    assert {'mpirun', 'xhpl'} <= set(command for _user, command in seen), seen
    assert set(user for user, _command in seen) == {'hpl'}, seen
    assert result.returncode == 0, result.stdout[-5000:]
    assert 'no role of picluster.hpl reads it' not in result.stdout
    (doc,) = documents(results_dir)
    print('first run: %.0f s, %.2f GFLOPS, %.1f%% of DGEMM %.1f GFLOPS, %.0f s in the solve'
          % (elapsed, doc['best']['gflops'], 100 * doc['efficiency_vs_dgemm'], doc['dgemm_gflops'],
             doc['best']['time_s']))

    assert doc['status'] == 'passed' and doc['best']['gflops'] > 0
    assert all(row['status'] == 'passed' and row['residual'] < 16 for row in doc['results'])
    sizing, best = doc['sizing'], doc['best']
    # The run used exactly what hpl_params chose, for every core of this machine.
    assert (best['n'], best['nb'], best['p'], best['q']) == (sizing['n'], sizing['nb'], sizing['p'], sizing['q'])
    assert sizing['n'] % sizing['nb'] == 0 and sizing['nb'] == 192  # OpenBLAS's default
    assert sizing['p'] * sizing['q'] == sizing['ranks'] == os.cpu_count()
    assert sizing['bounding_node'] == 'localhost' and sizing['limited_by'] == 'max_seconds'
    assert doc['hpl_dat']['ns'] == [sizing['n']] and doc['hpl_dat']['threshold'] == 16.0

    hpl = doc['hpl']
    assert (hpl['method'], hpl['version'], hpl['build']['source_sha256']) == (
        'hpcc_source', '2.0', '0a6fef7ab9f3347e549fed65ebb98234feea9ee18aea0c8f59baefbe3cf7ffb8')
    assert hpl['binary'].startswith('/home/hpl/hpl/hpl-2.0-hpcc-') and hpl['binary'].endswith('/bin/picluster/xhpl')
    mpirun = subprocess.run(['mpirun', '--version'], stdout=subprocess.PIPE, universal_newlines=True, check=True)
    assert doc['mpi']['name'] == 'openmpi' and doc['mpi']['version'] in mpirun.stdout
    assert doc['blas']['name'] == 'openblas' and doc['blas']['version'].startswith('0.3.')
    assert doc['nodes'][0]['arch'] == os.uname().machine and doc['nodes'][0]['ranks'] == os.cpu_count()
    # One node, so the cluster's boot medium is its own: here a container or a disk,
    # never an SD card or NFS.
    in_container = os.path.exists('/.dockerenv') or os.path.exists('/run/.containerenv')
    assert doc['boot_medium'] == doc['nodes'][0]['boot_medium'] == ('container' if in_container else 'disk')
    assert doc['nodes'][0]['overclocks'] == {}
    # xhpl alone: the run's time is its one solve's, not HPC Challenge's other tests.
    assert 'hpcc' not in doc and 'HPLinpack 2.0' in doc['output']
    # A third of DGEMM or more, unless the tests beside it took the cores (the arm64 cluster
    # installing its packages under emulation took four fifths once): the sampler says so.
    other_cores = doc['conditions']['nodes']['localhost']['other_cores']
    assert doc['efficiency_vs_dgemm'] < 1.2 and (doc['efficiency_vs_dgemm'] > 0.3 or other_cores > 0.5), (
        doc['efficiency_vs_dgemm'], other_cores)
    assert doc['top500']['summary'].startswith('%.2f GFLOPS' % best['gflops'])
    # Tainted by the stand-in's flags (and perhaps by the tests running beside it, which
    # take CPU from it: the sampler names them if so).
    reasons = doc['conditions']['tainted']
    assert reasons[:2] == ['localhost: under-voltage during the run', 'localhost: throttled during the run']
    assert all(reason.startswith('localhost: other processes used') for reason in reasons[2:])
    assert 'HPL PASSED, TAINTED (%s): %.2f GFLOPS' % ('; '.join(reasons), best['gflops']) in ' '.join(
        result.stdout.split())
    node = doc['conditions']['nodes']['localhost']
    assert node['samples'] >= 2 and node['temp_c'] == {'before': 71.3, 'after': 71.3, 'max': 71.3,
                                                       'source': 'vcgencmd'}
    assert node['throttled'] == {'before': 0x50005, 'after': 0x50005, 'during': 0x5}
    assert 0 < node['load']['max'] and node['other_cores'] is not None
    assert doc['conditions']['gflops_per_watt'] == round(best['gflops'] / 150, 4)
    check_peak_and_kernel(doc, result.stdout)
    # Before the run, how long it takes and when it ends (from the calibration of the time
    # budget); while it runs, a line per poll with the time gone against it.
    console = ' '.join(result.stdout.split())
    assert re.search(r'1 test, about \d+ s at [0-9.]+ GFLOPS \(from the calibration\), ending about '
                     r'\d\d:\d\d:\d\d', console), console[-5000:]
    assert re.search(r'localhost: HPL running: \d+ s of about \d+ s', result.stdout), result.stdout[-5000:]

    # mpirun ran as the unprivileged user, in a run directory of its own.
    run_dir = doc["run"]
    outputs = glob.glob('/home/hpl/benchmark/*/mpirun.log')
    assert outputs and all(os.stat(path).st_uid == pwd.getpwnam('hpl').pw_uid for path in outputs)
    assert run_dir['rc'] == 0
    check_report(results_dir, doc)


def check_report(results_dir, doc):
    """./report on this run beside recorded ones (an SD-card run, an NFS-root sweep, a
    tainted run, a side-by-side table), opened as a person opens it: in a real browser."""
    recorded = write_results(results_dir)
    made = run([os.path.join(ROOT, 'report'), str(results_dir)], ansible_env(os.path.join(ROOT, '.cache', 'collections')))
    assert made.returncode == 0, made.stdout
    out = results_dir / 'report'
    with open(str(out / 'results.csv')) as handle:
        lines = [line for line in csv.DictReader(handle) if line['run_id'] == doc['id']]
    assert [(float(line['gflops']), int(line['n'])) for line in lines] == [
        (row['gflops'], row['n']) for row in doc['results']]
    assert lines[0]['tainted'] == '; '.join(doc['conditions']['tainted'])
    # This run is tainted: the best is a recorded one, and this run is a highlighted row.
    best = max((r for r in recorded if r['best'] and not r['conditions']['tainted']), key=lambda r: r['best']['gflops'])
    page = (out / 'index.html').read_text()
    assert '<strong>%s GFLOPS on 2 nodes (pi1,pi2), run %s.' % (best['best']['gflops'], best['id']) in page
    # Marked: this tainted run, the recorded one, and the weak node of the runs alone.
    assert page.count('<tr class="tainted">') == 3
    seen = browser.look_at(str(out / 'index.html'))
    print('report: %d charts, errors %s' % (len(seen['images']), seen['errors']))
    assert seen['title'] == 'HPL results' and seen['errors'] == []
    assert len(seen['images']) == 8 and all(image['complete'] and image['width'] > 0 for image in seen['images'])
    # Not a blank page: charts and tables in many colours.
    assert len(Image.open(io.BytesIO(seen['screenshot'])).convert('RGB').getcolors(1 << 24)) > 200


def file_digest(path):
    """The file's sha256, or None when there is none."""
    if not os.path.exists(path):
        return None
    with open(path, 'rb') as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def library_probe(library):
    """What the BLAS reports of itself in this machine's own environment (its own
    OPENBLAS_CORETYPE, if it sets one, included: never overridden here)."""
    out = subprocess.run([sys.executable, '-c', blas_kernel.PROBE, library, '500'], stdout=subprocess.PIPE, check=True,
                         env=dict(os.environ, OPENBLAS_NUM_THREADS='1'), universal_newlines=True).stdout
    return json.loads(out)


def check_peak_and_kernel(doc, stdout):
    """Rpeak derived from this CPU, and the kernel recorded is the one the library runs."""
    node = doc['nodes'][0]
    assert node['peak']['source'] == 'cpu' and node['peak']['gflops'] > 0, node['peak']
    assert doc['rpeak_gflops'] == pytest.approx(node['peak']['gflops'] * os.cpu_count(), rel=1e-3)
    assert 0 < doc['efficiency'] < 1.5 and 'of Rpeak' in stdout
    kernel, own = node['blas_kernel'], os.environ.get('OPENBLAS_CORETYPE')
    library = library_probe('/usr/lib/%s/openblas-pthread/libblas.so.3' % MULTIARCH)
    assert kernel['library_kernel'] == library['corename']
    # Each node's ranks start through its own launcher, which sets its kernel.
    launcher = doc['blas']['launcher']
    assert launcher in doc['run']['command']
    with open(launcher) as handle:
        script = handle.read()
    if own:
        # The machine's own setting: honoured, recorded, and handed to its ranks.
        assert (kernel['kernel'].lower(), kernel['source']) == (own.lower(), 'node environment')
        assert 'export OPENBLAS_CORETYPE=%s\n' % own in script
    else:
        assert kernel['source'] in ('library', 'auto') and kernel['dgemm_gflops'] > 0
        assert kernel['kernel'] == library['corename'] or 'export OPENBLAS_CORETYPE=%s\n' % kernel['kernel'] in script
    # The summary as the console shows it (the debug task folds long lines).
    assert 'kernel %s (%s)' % (kernel['kernel'], kernel['source']) in ' '.join(stdout.split())


def module_run(module, arguments, collections_dir, **environment):
    """What one of the collection's modules returns, run ad hoc on this machine."""
    result = run(['ansible', 'localhost', '-i', os.path.join(ROOT, 'inventory', 'local.yml'), '-m', module, '-a',
                  arguments], ansible_env(collections_dir, ANSIBLE_LOAD_CALLBACK_PLUGINS='1',
                                          ANSIBLE_STDOUT_CALLBACK='ansible.posix.json', **environment))
    assert result.returncode == 0, result.stdout[-3000:]
    ((_play, _task, outcome),) = task_results(json_report(result.stdout))
    return outcome


def module_facts(module, arguments, collections_dir, **environment):
    return module_run(module, arguments, collections_dir, **environment)['ansible_facts']


@pytest.mark.skipif(bool(os.environ.get('OPENBLAS_CORETYPE')),
                    reason='this machine sets OPENBLAS_CORETYPE itself, which is never overridden here')
def test_a_generic_kernel_the_node_sets_is_honoured_and_named(collections_dir):
    """OpenBLAS's SSE3 fallback as the node's own setting (any x86-64 runs it): auto leaves
    it alone, and the result says the DGEMM is slow and why."""
    if os.uname().machine != 'x86_64':
        pytest.skip('Prescott is an x86 kernel')
    library = '/usr/lib/%s/openblas-pthread/libblas.so.3' % MULTIARCH
    blas = module_facts('picluster.hpl.blas_kernel', 'library=%s kernel=auto dgemm_n=1000' % library,
                        collections_dir, OPENBLAS_CORETYPE='Prescott')['picluster_hpl_blas']
    assert (blas['kernel'], blas['source'], blas['library_kernel']) == ('Prescott', 'node environment', 'Prescott')
    assert blas['probes'] == {} and blas['environment'] == {'OPENBLAS_CORETYPE': 'Prescott'}
    assert blas['dgemm_correct'] and blas['dgemm_gflops'] > 0
    node = module_facts('picluster.hpl.node_facts', '', collections_dir)
    entry = results.node_from_facts('localhost', dict(node, picluster_hpl_blas=blas,
                                                      ansible_architecture=os.uname().machine))
    assert entry['blas_kernel']['kernel'] == 'Prescott' and entry['blas_kernel']['source'] == 'node environment'
    peak = entry['peak']
    print('Prescott: DGEMM %.1f GFLOPS on one core, peak %.1f' % (blas['dgemm_gflops'], peak['gflops']))
    # Under half the peak, the result says why and what to try. (SSE3's separate add and
    # multiply pipes reach about half of a Zen's peak, a fifth of an AVX-512 Xeon's.)
    warnings = results.slow_blas([entry])
    assert len(warnings) == (blas['dgemm_gflops'] < results.SLOW_BLAS * peak['gflops'])
    for warning in warnings:
        assert 'with the Prescott kernel (node environment)' in warning and 'remove it and let' in warning


@pytest.mark.skipif(bool(os.environ.get('OPENBLAS_CORETYPE')),
                    reason='this machine sets OPENBLAS_CORETYPE itself: auto compares nothing')
def test_auto_compares_once_and_keeps_the_answer_until_asked(tmp_path, collections_dir):
    """The second run keeps the first run's kernel (two kernels within the noise of each
    other once swapped places and rewrote the ranks' launcher), and still checks it."""
    library = '/usr/lib/%s/openblas-pthread/libblas.so.3' % MULTIARCH
    arguments = 'library=%s dgemm_n=600 cache=%s' % (library, tmp_path / 'kept.json')
    first = module_run('picluster.hpl.blas_kernel', arguments, collections_dir)
    kept = module_run('picluster.hpl.blas_kernel', arguments, collections_dir)
    again = module_run('picluster.hpl.blas_kernel', arguments + ' remeasure=true', collections_dir)
    (first, kept, again) = [dict(outcome['ansible_facts']['picluster_hpl_blas'], changed=outcome['changed'])
                            for outcome in (first, kept, again)]
    assert first['changed'] and first['source'] in ('auto', 'library') and first['decided']
    assert not kept['changed'] and 'compared on %s and kept' % first['decided'] in kept['reason']
    for key in ('kernel', 'source', 'environment', 'library_kernel', 'library_dgemm_gflops'):
        assert kept[key] == first[key], key
    assert kept['dgemm_correct'] and kept['dgemm_gflops'] > 0
    assert again['changed'] and 'kept' not in again['reason']
    with open(str(tmp_path / 'kept.json')) as handle:
        assert json.load(handle)[library]['key']['library'] == library


def check_blis_kernel(report):
    """BLIS's configuration, as BLIS itself reports it here; a better one only if measured
    faster. BLIS_ARCH_TYPE, if this machine sets it, is honoured."""
    ((play, task, outcome),) = task_results(report, 'Check which kernel the BLAS runs')
    blis = outcome['ansible_facts']['picluster_hpl_blas']
    library = library_probe('/usr/lib/%s/blis-pthread/libblas.so.3' % MULTIARCH)
    assert blis['name'] == 'blis' and blis['library_kernel'] == library['corename']
    assert library['corename'] in library['arches']
    if os.environ.get('BLIS_ARCH_TYPE'):
        assert blis['source'] == 'node environment'
    elif blis['source'] == 'auto':
        # BLIS fell back (generic on a CPU it does not know): the one kept ran, right and faster.
        kept = blis['probes'][blis['kernel']]
        assert kept['dgemm_correct'] and kept['dgemm_gflops'] >= 1.05 * blis['library_dgemm_gflops']
        assert blis['environment'] == {'BLIS_ARCH_TYPE': str(library['arches'].index(blis['kernel']))}
    else:
        assert blis['source'] == 'library' and blis['environment'] == {} and blis['kernel'] == library['corename']


def check_blis_forced(collections_dir):
    """A BLIS configuration forced by name runs as its number, and computes the right
    product; a name BLIS does not have is refused, naming those the CPU allows."""
    library = '/usr/lib/%s/blis-pthread/libblas.so.3' % MULTIARCH
    arches = library_probe(library)['arches']
    forced = 'haswell' if os.uname().machine == 'x86_64' else 'cortexa57'
    blis = module_facts('picluster.hpl.blas_kernel', 'library=%s name=blis kernel=%s dgemm_n=400' % (library, forced),
                        collections_dir)['picluster_hpl_blas']
    assert (blis['kernel'], blis['source']) == (forced, 'forced')
    assert blis['environment'] == {'BLIS_ARCH_TYPE': str(arches.index(forced))}
    assert blis['dgemm_correct'] and blis['dgemm_gflops'] > 0
    refused = run(['ansible', 'localhost', '-i', os.path.join(ROOT, 'inventory', 'local.yml'), '-m',
                   'picluster.hpl.blas_kernel', '-a', 'library=%s name=blis kernel=bogus' % library],
                  ansible_env(collections_dir))
    assert refused.returncode != 0 and 'blis has no kernel bogus' in refused.stdout


def test_second_run_changes_nothing_in_the_install_roles(tmp_path, collections_dir):
    # A Pi that neither throttled nor under-volted (its stand-in vcgencmd says so).
    healthy = vcgencmd_stand_in(tmp_path, 0, 48.0)
    # A run recorded on this machine before: the time of this one is expected from its rate.
    (tmp_path / 'results').mkdir()
    before = run_document('single_passed', 0, 'disk', hosts=('localhost',))
    (tmp_path / 'results' / ('hpl-%s.json' % before['id'])).write_text(json.dumps(before))
    started = time.time()
    result, report = playbook([os.path.join(ROOT, 'site.yml')] + extra_vars(
        benchmark_max_seconds=None, benchmark_max_n=2000, benchmark_vcgencmd=healthy), tmp_path / 'results',
        collections_dir, json_output=True)
    elapsed = time.time() - started
    assert result.returncode == 0, result.stdout[-5000:]
    install = list(task_results(report, plays=INSTALL_PLAYS))
    assert len(install) > 15
    changed = [(play, task) for play, task, outcome in install if outcome.get('changed')]
    assert changed == []
    # The benchmark still ran (it is not an install step), and nothing the firmware reports
    # taints it (tests running beside it may: the sampler names them if so).
    assert any(outcome.get('changed') for play, task, outcome in task_results(report, plays=['Run HPL across the cluster']))
    (doc,) = [doc for doc in documents(tmp_path / 'results') if doc['id'] != before['id']]
    assert all('other processes used' in reason for reason in doc['conditions']['tainted'])
    node = doc['conditions']['nodes']['localhost']
    assert node['throttled'] == {'before': 0, 'after': 0, 'during': 0} and node['temp_c']['max'] == 48.0
    assert 'at %.4g GFLOPS (from hpl-%s at N=%d on these nodes), ending about' % (
        before['best']['gflops'], before['id'], before['best']['n']) in ' '.join(result.stdout.split())
    print('second run: %.0f s' % elapsed)


@pytest.fixture(scope='module')
def hpl_mirror(tmp_path_factory):
    """HPL source made offline from Debian's hpcc source, served over HTTP on loopback."""
    directory = tmp_path_factory.mktemp('mirror')
    made = subprocess.run(['bash', os.path.join(ROOT, 'tests', 'support', 'make-hpl-tarball.sh'), str(directory)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)
    assert made.returncode == 0, made.stderr[-3000:]
    sha256 = made.stdout.split()[-1]
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {'hpl_install_method': 'source', 'hpl_source_version': '2.0', 'hpl_source_sha256': sha256,
           'hpl_source_url': 'http://127.0.0.1:%d/hpl-2.0-hpcc.tar.gz' % server.server_address[1]}
    server.shutdown()


def xhpl_libraries(source_vars):
    xhpl = '/home/hpl/hpl/hpl-%s/bin/picluster/xhpl' % source_vars['hpl_source_sha256'][:16]
    return subprocess.run(['ldd', xhpl], stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout


def build_outcome(report):
    ((play, task, outcome),) = task_results(report, 'Build xhpl')
    return 'skipped' if outcome.get('skipped') else 'changed' if outcome.get('changed') else 'ok'


def test_source_method_builds_and_runs_from_a_local_mirror(tmp_path, collections_dir, hpl_mirror):
    result, report = playbook([os.path.join(ROOT, 'site.yml')] + extra_vars(
        benchmark_max_seconds=None, benchmark_max_n=4032, **hpl_mirror), tmp_path, collections_dir, json_output=True)
    assert result.returncode == 0, result.stdout[-5000:]
    (doc,) = documents(tmp_path)
    assert doc['status'] == 'passed' and doc['best']['n'] == 4032
    assert doc['hpl']['method'] == 'source' and doc['hpl']['version'] == '2.0'
    assert doc['hpl']['binary'].endswith('/bin/picluster/xhpl')
    assert doc['hpl']['build']['blas']['name'] == 'openblas'
    print('source method: %.2f GFLOPS at N=4032' % doc['best']['gflops'])
    # xhpl is linked to the chosen BLAS by path and to OpenMPI.
    libraries = xhpl_libraries(hpl_mirror)
    assert '/usr/lib/%s/openblas-pthread/libblas.so.3' % MULTIARCH in libraries
    assert 'libmpi.so.40' in libraries


def test_an_unreachable_node_stops_the_play_before_anything_changes(tmp_path, collections_dir):
    """A cluster of this machine and a node that does not answer (an address of TEST-NET-1,
    reserved for documentation): the play stops after fact gathering, naming the node, and
    changes nothing on the node that answered."""
    inventory = tmp_path / 'cluster.yml'
    inventory.write_text(yaml.safe_dump({'cluster': {'hosts': {
        'localhost': {'ansible_connection': 'local', 'ansible_python_interpreter': '/usr/bin/python3'},
        'ghost': {'ansible_host': '192.0.2.1'}}}}))
    result = run(['ansible-playbook', '-i', str(inventory), os.path.join(ROOT, 'site.yml')],
                 ansible_env(collections_dir, results_dir=tmp_path / 'results', ANSIBLE_TIMEOUT='3',
                             ANSIBLE_STDOUT_CALLBACK='ansible.posix.json'))
    assert result.returncode != 0
    report = json_report(result.stdout)
    outcomes = list(task_results(report))
    assert [(task, outcome.get('unreachable')) for play, task, outcome in outcomes if outcome.get('unreachable')] == [
        ('Gathering Facts', True)]
    assert not any(outcome.get('changed') for play, task, outcome in outcomes)
    (message,) = [outcome['msg'] for play, task, outcome in outcomes if outcome.get('failed')]
    assert message.startswith('ghost did not answer') and 'nothing was changed on any node' in message
    assert [play['play']['name'] for play in report['plays']] == ['Prepare the nodes']
    assert not (tmp_path / 'results').exists()


def test_check_mode_completes_and_runs_nothing(tmp_path, collections_dir):
    """site.yml --check: every role reports what it would change, the benchmark says what
    it would run, and nothing runs: no HPL run directory, no results document."""
    runs = set(glob.glob('/home/hpl/benchmark/*'))
    result, report = playbook([os.path.join(ROOT, 'site.yml'), '--check'], tmp_path / 'results', collections_dir,
                              json_output=True)
    assert result.returncode == 0, result.stdout[-5000:]
    (shown,) = [outcome['msg'] for play, task, outcome in task_results(report, 'Show what will run')]
    assert shown.startswith('Check mode, nothing runs; it would run HPL (hpcc_source 2.0, openmpi, openblas)')
    assert 'not yet the time budget: that needs a calibration run' in shown
    assert not [task for play, task, outcome in task_results(report) if task.startswith('Start the benchmark')]
    assert set(glob.glob('/home/hpl/benchmark/*')) == runs and not (tmp_path / 'results').exists()


def test_failed_residual_fails_the_play_after_the_result_is_written(tmp_path, collections_dir):
    # A threshold no residual can meet: HPL still exits 0.
    result, report = playbook([os.path.join(ROOT, 'site.yml')] + extra_vars(
        benchmark_max_seconds=None, benchmark_max_n=2304, benchmark_threshold=1e-20),
        tmp_path, collections_dir)
    assert result.returncode == 2
    # One node: no look-ahead (depth 0), and NB 32 for so small an N.
    assert "HPL FAILED, residual_failed (mpirun exit 0): WR01C2R4" in result.stdout
    (doc,) = documents(tmp_path)
    # Named in the document as on the console, with what it means.
    assert doc['reason'] == 'residual_failed' and doc['faults'][0]['reason'] == 'residual_failed'
    assert 'the result is wrong' in doc['errors'][0] and 'the result is wrong' in ' '.join(result.stdout.split())
    # The residual judges the kernel too: the failure names the one the ranks ran.
    assert 'with the BLAS kernel %s (%s)' % (doc['blas']['kernel'], doc['blas']['kernel_source']) \
        in ' '.join(result.stdout.split())
    assert doc['status'] == 'failed' and doc['run']['rc'] == 0
    assert [row['status'] for row in doc['results']] == ["failed"] and doc["results"][0]["n"] == 2304
    assert doc['hpl_dat']['threshold'] == 1e-20
    assert doc['output'] and os.path.isfile(os.path.join(doc['run']['directory'], 'mpirun.log'))


def test_source_build_happens_again_only_when_something_changed(tmp_path, collections_dir, hpl_mirror):
    reports = []

    def install(**changes):
        result, report = playbook([INSTALL] + extra_vars(**dict(hpl_mirror, **changes)), tmp_path, collections_dir,
                                  json_output=True)
        assert result.returncode == 0, result.stdout[-5000:]
        reports.append(report)
        return build_outcome(report)

    assert install() == 'skipped'
    assert install(hpl_cflags='-O2 -fomit-frame-pointer') == 'changed'
    assert install(hpl_cflags='-O2 -fomit-frame-pointer') == 'skipped'
    assert install(blas_library='blis') == 'changed'
    assert '/usr/lib/%s/blis-pthread/libblas.so.3' % MULTIARCH in xhpl_libraries(hpl_mirror)
    check_blis_kernel(reports[-1])
    check_blis_forced(collections_dir)
    assert install() == 'changed'  # back to OpenBLAS and the default flags
    assert 'openblas-pthread/libblas.so.3' in xhpl_libraries(hpl_mirror)


def test_tune_finds_a_winner_keeps_it_and_site_runs_with_it(tmp_path, collections_dir):
    """tune.yml on this machine with a small budget: every stage's rows in the winner's
    document, the winner in the inventory's group_vars, nothing searched again on a second
    run, and the next site.yml on that inventory runs with the winner."""
    # The size of the confirmation runs (and of site.yml's) from the inventory: -e would
    # outrank what the tune role gives each of its runs. The system's Python, which the
    # unprivileged user that runs HPL can start.
    inventory = tmp_path / 'inventory.yml'
    inventory.write_text('cluster:\n  hosts:\n    localhost:\n      ansible_connection: local\n'
                         '      ansible_python_interpreter: /usr/bin/python3\n'
                         '  vars:\n    hpl_install_method: hpcc_source\n    benchmark_max_n: 2304\n'
                         '    benchmark_max_seconds: null\n')
    results_dir = tmp_path / 'results'
    options = extra_vars(tune_n=1536, tune_max_minutes=3)
    tune = [os.path.join(ROOT, 'playbooks', 'tune.yml'), '-i', str(inventory)] + options
    started = time.time()
    result, report = playbook(tune, results_dir, collections_dir, json_output=True)
    elapsed = time.time() - started
    assert result.returncode == 0, result.stdout[-5000:]
    docs = documents(results_dir)
    confirmed = docs[-1]
    tuning = confirmed['tuning']
    stages = ['nb_grid', 'nb', 'bcast', 'depth', 'factorisation', 'nbmin']
    assert [(stage['stage'], stage['skipped']) for stage in tuning['stages']] == [(name, None) for name in stages]
    assert {row['stage'] for row in tuning['rows']} == set(['start'] + stages)
    assert tuning['n'] == 1536 and all(row['n'] == 1536 for row in tuning['rows'])
    winner = tuning['winner']
    assert winner['gflops'] == max(row['gflops'] for row in tuning['rows'] if row['status'] == 'passed')
    # The confirmation ran the winner at the benchmark's own size, and the defaults beside it.
    assert confirmed['best']['tv'] == winner['tv'] and confirmed['best']['nb'] == winner['nb']
    assert confirmed['best']['n'] == 2304 // winner['nb'] * winner['nb'] and docs[-2]['best']['nb'] == 32
    kept_file = tmp_path / 'group_vars' / 'cluster' / 'picluster_hpl_tuned.yml'
    kept = yaml.safe_load(kept_file.read_text())
    # The winner is kept only if it ran faster than the defaults at full size.
    faster = confirmed['best']['gflops'] > docs[-2]['best']['gflops']
    assert kept['picluster_hpl_tuned']['kept'] == ('winner' if faster else 'defaults')
    if faster:
        assert kept['benchmark_nb'] == winner['nb']
        assert kept['benchmark_hpl_dat']['bcasts'] == [winner['bcast']] and kept['benchmark_hpl_dat']['grids'] == [
            [winner['p'], winner['q']]]
    else:
        assert 'benchmark_nb' not in kept and 'benchmark_hpl_dat' not in kept
    assert kept['picluster_hpl_tuned']['gflops'] == confirmed['best']['gflops']
    assert kept['picluster_hpl_tuned']['cluster']['nodes'] == ['localhost']
    print('tune: %.0f s, %d tests at N=%d, %.2f GFLOPS tuned against %.2f with the defaults'
          % (elapsed, len(tuning['rows']), tuning['n'], confirmed['best']['gflops'], docs[-2]['best']['gflops']))

    # Nothing changed: nothing is searched, nothing is run, nothing changes.
    again, report = playbook(tune, results_dir, collections_dir, json_output=True)
    assert again.returncode == 0, again.stdout[-5000:]
    assert [outcome for play, task, outcome in task_results(report) if outcome.get('changed')] == []
    assert len(documents(results_dir)) == len(docs)

    site, _report = playbook([os.path.join(ROOT, 'site.yml'), '-i', str(inventory)],
                             results_dir, collections_dir)
    assert site.returncode == 0, site.stdout[-5000:]
    used = documents(results_dir)[-1]
    if faster:
        assert used['hpl_dat']['nbs'] == [winner['nb']] and used['hpl_dat']['bcasts'] == [winner['bcast']]
        assert used['hpl_dat']['depths'] == [winner['depth']] and used['best']['tv'] == winner['tv']
    else:
        assert used['hpl_dat']['nbs'] == [32] and used['best']['tv'] == 'WR01C2R4'

    # Tuned with another MPI: site.yml refuses the winner, and says what to do.
    kept['picluster_hpl_tuned']['cluster']['mpi'] = ['mpich 4.0.2']
    kept_file.write_text(yaml.safe_dump(kept))
    stale, _report = playbook([os.path.join(ROOT, 'site.yml'), '-i', str(inventory)],
                              results_dir, collections_dir)
    assert stale.returncode != 0 and 'run the tune playbook again' in ' '.join(stale.stdout.split())


def test_bench_fast_mode_runs_every_method_and_computes_the_table_from_the_rows(tmp_path):
    """./bench --fast, as the README gives it: every method runs on this machine, the table
    is saved as JSON and Markdown, and its medians and ratios are those of the rows HPL
    printed in each run's own results document."""
    kept = os.path.join(ROOT, 'inventory', 'group_vars', 'cluster', 'picluster_hpl_tuned.yml')
    kept_before = file_digest(kept)
    started = time.time()
    result = run([os.path.join(ROOT, 'bench'), '--fast'],
                 ansible_env(os.path.join(ROOT, '.cache', 'collections'), results_dir=tmp_path))
    assert result.returncode == 0, result.stdout[-5000:]
    (table_path,) = glob.glob(str(tmp_path / 'bench' / 'bench-*.json'))
    with open(table_path) as handle:
        table = json.load(handle)
    rows = dict((row['method'], row) for row in table['rows'])
    assert [row['method'] for row in table['rows']] == list(bench.METHODS)
    print('bench --fast: %.0f s, N=%d, defaults %.3f and tune %.3f of the sweep\'s best' % (
        time.time() - started, table['n'], rows['defaults']['ratio_to_sweep_best'], rows['tune']['ratio_to_sweep_best']))

    # The sizing run is the defaults as a user gets them, for 24 MiB; the sweep ran at its N.
    docs = sorted(documents(tmp_path), key=lambda doc: doc['generated_at'])
    sizing, ranks = docs[0]['sizing'], docs[0]['sizing']['ranks']
    expected = sizing_core.hpl_params([{'name': 'localhost', 'memory_mb': 24, 'cores': ranks}], blas='openblas')
    assert (sizing['n'], sizing['nb'], sizing['limited_by']) == (table['n'], expected['nb'], 'memory')
    assert table['n'] == expected['n'] and docs[0]['hpl_dat']['depths'] == [0]
    trimmed = hpl_dat.count_tests(bench.plan('sweep', table['n'], ranks, sweep='trim'))
    assert table['sweep_tests'] == trimmed + 27 and table['sweep_wall_s'] > 0 and table['sweep'] == 'trim'
    assert 0 < table['tune_wall_s'] and table['tune_tests'] >= 6
    # The side-by-side runs are the last ten documents: two rounds of every method, the
    # second starting one method later. Each ran its choice once; the table's figures are theirs.
    final = docs[-10:]
    order = list(bench.METHODS[:5]) + list(bench.METHODS[1:5]) + ['defaults']
    for method in bench.METHODS[:5]:
        row, ran = rows[method], [doc for doc, name in zip(final, order) if name == method]
        assert [(doc['hpl_dat']['ns'], doc['hpl_dat']['nbs']) for doc in ran] == [([row['n']], [row['nb']])] * 2
        rates = sorted(r['gflops'] for doc in ran for r in doc['results'] if r['status'] == 'passed')
        assert row['gflops_median'] == pytest.approx(sum(rates) / len(rates), abs=1e-3)
        assert (row['gflops_min'], row['gflops_max']) == (rates[0], rates[-1])
        assert row['ratio_to_sweep_best'] == round(row['gflops_median'] / rows['sweep_best']['gflops_median'], 4)
        assert row['ratio_to_dgemm'] == round(row['gflops_median'] / docs[0]['dgemm_gflops'], 4)
    rules = bench.plan('rules', ranks=ranks, memory_bytes=24 * 2 ** 20)
    for method in ('rule_top500_benchmark', 'rule_sqrt80'):
        assert (rows[method]['n'], rows[method]['nb']) == (rules[method]['ns'][0], rules[method]['nbs'][0])
    assert rows['dgemm']['gflops_median'] == docs[0]['dgemm_gflops'] and rows['dgemm']['ratio_to_dgemm'] == 1.0
    assert set(table['checks']) == {'defaults_within_target', 'tune_within_target', 'tune_time_within_target',
                                    'defaults_ahead_of_rules', 'tune_ahead_of_rules'}
    assert all(isinstance(value, bool) for value in table['checks'].values())

    with open(table_path[:-len('.json')] + '.md') as handle:
        markdown = handle.read()
    assert '| method | GFLOPS median |' in markdown and '| sweep_best | ' in markdown and 'Tuning took' in markdown
    # The tune role's winner stays beside the table, out of the inventory.
    assert glob.glob(str(tmp_path / 'bench' / 'bench-*-tuned.yml'))
    assert file_digest(kept) == kept_before


def atlas_key():
    """This machine's key for a tuned ATLAS, as the blas role names it."""
    version = subprocess.run(['apt-cache', 'show', '--no-all-versions', 'libatlas3-base'], stdout=subprocess.PIPE,
                             universal_newlines=True, check=True).stdout
    with open('/proc/cpuinfo') as cpuinfo, open('/etc/os-release') as release:
        codename = re.search(r'^VERSION_CODENAME=(\S+)', release.read(), re.M).group(1)
        return atlas.cache_key(atlas.cpu_id(cpuinfo.read()), subprocess.check_output(['dpkg', '--print-architecture'],
                               universal_newlines=True).strip(), codename, re.search(r'^Version: (\S+)', version, re.M).group(1))


def test_bench_blas_runs_each_blas_at_one_size_and_puts_the_clusters_own_back(tmp_path):
    """./bench with bench_blas: each BLAS, a tuned ATLAS from the cache among them (Debian's
    generic package standing in for one built on this machine), runs HPL at the same N, NB
    and grid through an xhpl of its own; the table is theirs; the cluster's BLAS comes back,
    and the tuned ATLAS, which ran last, makes way for Debian's."""
    key = atlas_key()
    cached = tmp_path / 'atlas' / key
    cached.mkdir(parents=True)
    subprocess.run(['apt-get', 'download', '-q', 'libatlas3-base'], cwd=str(cached), check=True, stdout=subprocess.DEVNULL)
    (cached / 'build.json').write_text(json.dumps({'key': key, 'node': 'stand-in', 'built': '2026-12-06T05:00:00Z',
                                                   'seconds': 3600}))
    started = time.time()
    result = run([os.path.join(ROOT, 'bench'), '--fast', '-e', 'bench_blas=atlas,openblas,atlas-tuned',
                  '-e', 'bench_repeats=1', '-e', 'blas_atlas_cache=%s' % (tmp_path / 'atlas')],
                 ansible_env(os.path.join(ROOT, '.cache', 'collections'), results_dir=tmp_path))
    assert result.returncode == 0, result.stdout[-5000:]
    (table_path,) = glob.glob(str(tmp_path / 'bench' / 'bench-blas-*.json'))
    with open(table_path) as handle:
        table = json.load(handle)
    print('bench blas: %.0f s, %s' % (time.time() - started, ', '.join(
        '%s %.2f' % (row['blas'], row['gflops_median']) for row in table['rows'])))
    rows = dict((row['blas'], row) for row in table['rows'])
    assert list(rows) == ['atlas', 'openblas', 'atlas-tuned']
    assert len(set((row['n'], row['nb'], row['p'], row['q']) for row in table['rows'])) == 1 and table['n'] == rows['atlas']['n']
    assert (rows['atlas-tuned']['atlas_build'], rows['atlas-tuned']['atlas_key']) == ('tuned', key)
    assert rows['atlas']['atlas_build'] == 'generic' and rows['openblas']['library'] == 'openblas'
    # The figures are those of each BLAS's own results document, which names that BLAS.
    docs = sorted(documents(tmp_path), key=lambda doc: doc['generated_at'])[-3:]
    for doc, name in zip(docs, ['atlas', 'openblas', 'atlas-tuned']):
        assert doc['blas']['name'] == rows[name]['library']
        assert (doc['blas'].get('build') or {}).get('kind') == rows[name]['atlas_build']
        assert rows[name]['gflops_median'] == [r['gflops'] for r in doc['results']][0]
    assert rows[table['best']]['ratio_to_best'] == 1.0
    with open(table_path[:-len('.json')] + '.md') as handle:
        assert '| atlas-tuned | atlas 3.10.3 (tuned 2026-12-06T05:00:00Z) |' in handle.read()
    # Each BLAS had an xhpl of its own, linked to it; the cluster's own BLAS is back, and
    # Debian's ATLAS, unheld, in place of the tuned one.
    for name in rows:
        (xhpl,) = glob.glob('/home/hpl/**/bin/picluster-bench-%s/xhpl' % name, recursive=True)
        linked = subprocess.check_output(['ldd', xhpl], universal_newlines=True)
        assert ('/openblas-pthread/' if name == 'openblas' else '/atlas/') + 'libblas.so.3' in linked
    selected = subprocess.check_output(['sh', '-c', 'readlink /etc/alternatives/libblas.so.3-*; apt-mark showhold'],
                                       universal_newlines=True).split()
    assert len(selected) == 1 and selected[0].endswith('/openblas-pthread/libblas.so.3')
    assert not os.path.exists('/var/lib/picluster-hpl/atlas-tuned.json')


def test_wrong_checksum_stops_before_anything_is_unpacked(tmp_path, collections_dir, hpl_mirror):
    wrong = 'f' * 64
    report, failed = refused_install(extra_vars(**dict(hpl_mirror, hpl_source_sha256=wrong)), tmp_path, collections_dir)
    assert [task for task, msg in failed] == ['Download the source and check its sha256',
                                              'Say what went wrong, and that nothing was unpacked']
    assert 'did not match' in failed[0][1] and 'did not match' in failed[1][1]
    assert 'nothing was unpacked or built' in failed[1][1]
    assert not list(task_results(report, 'Unpack the HPL source'))
    assert not os.path.exists('/home/hpl/hpl/hpl-%s' % wrong[:16])
    # Another file served as Debian's hpcc source, from a URL with a password in it:
    # refused the same way, before the patch, and the password is shown nowhere.
    with_password = hpl_mirror['hpl_source_url'].replace('http://', 'http://picluster:s3cret-pw@')
    result, report = playbook([INSTALL, '-vvv'] + extra_vars(hpl_install_method='hpcc_source',
                                                             hpl_build_root='/home/hpl/tampered',
                                                             hpl_hpcc_source_url=with_password),
                              tmp_path, collections_dir, json_output=True)
    failed = [(task, outcome.get('msg', '')) for play, task, outcome in task_results(report) if outcome.get('failed')]
    assert result.returncode != 0 and failed[-1][0] == 'Say what went wrong, and that nothing was unpacked'
    assert 'http://***@127.0.0.1' in failed[-1][1] and 'did not match' in failed[-1][1]
    assert 's3cret-pw' not in result.stdout
    assert not list(task_results(report, 'Unpack HPL from it and apply the patch'))
    assert not glob.glob('/home/hpl/tampered/hpl-*')


def test_source_build_without_mpi_compilers_says_what_to_change(tmp_path, collections_dir, hpl_mirror):
    # As -e key=value gives it: the string 'false', which must not count as true.
    report, failed = refused_install(['-e', 'mpi_compilers=false'] + extra_vars(**hpl_mirror), tmp_path, collections_dir)
    assert [task for task, msg in failed] == ['Check MPI programs can be compiled here']
    assert 'set mpi_compilers=true' in failed[0][1]
    assert not list(task_results(report, 'Download the source and check its sha256'))
    # The mpi role asked apt for the runtime alone, without what it recommends.
    runtime = apt_arguments(report, 'Install openmpi')
    assert runtime['name'] == ['openmpi-bin'] and runtime['install_recommends'] is False


def test_switching_mpi_implementation(tmp_path, collections_dir):
    mpi_playbook = os.path.join(ROOT, 'playbooks', 'mpi.yml')

    def switch(implementation):
        # As -e key=value gives it: the string 'true'.
        result, report = playbook([mpi_playbook, '-e', 'mpi_compilers=true'] + extra_vars(mpi_implementation=implementation),
                                  tmp_path, collections_dir, json_output=True)
        assert result.returncode == 0, result.stdout[-5000:]
        development = {'openmpi': 'libopenmpi-dev', 'mpich': 'libmpich-dev'}[implementation]
        assert apt_arguments(report, 'Install ' + implementation)['name'] == [
            'openmpi-bin' if implementation == 'openmpi' else 'mpich', development, 'gcc', 'libc6-dev']
        return subprocess.run(['mpirun', '--version'], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, check=False).stdout

    def selected(alternative):
        query = subprocess.run(['update-alternatives', '--query', alternative], stdout=subprocess.PIPE,
                               universal_newlines=True, check=True).stdout
        return next(line.split()[1] for line in query.splitlines() if line.startswith('Value:'))

    assert 'HYDRA' in switch('mpich')  # MPICH's launcher, though OpenMPI is still installed
    assert selected('mpi') == '/usr/bin/mpicc.mpich'
    assert 'Open MPI' in switch('openmpi')
    assert selected('mpi') == '/usr/bin/mpicc.openmpi' and selected('mpirun') == '/usr/bin/mpirun.openmpi'


def test_a_held_apt_lock_is_waited_for_then_named_and_never_removed(tmp_path, collections_dir):
    # Another package manager holds apt's lock, as unattended-upgrades does after boot. The
    # mpi role must wait picluster_apt_lock_timeout seconds, fail naming what holds it, and
    # leave the lock and the packages as they were.
    holder = subprocess.Popen(['/usr/bin/python3', '-c', 'import apt_pkg, sys; apt_pkg.init(); apt_pkg.pkgsystem_lock(); '
                               'print("locked", flush=True); sys.stdin.read()'],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, universal_newlines=True)
    try:
        assert holder.stdout.readline().strip() == 'locked'
        installed = subprocess.run(['dpkg-query', '-W', '-f=${Status}', 'mpich'], stdout=subprocess.PIPE,
                                   universal_newlines=True, check=False).stdout
        result, report = playbook([os.path.join(ROOT, 'playbooks', 'mpi.yml'), '-e', 'picluster_apt_lock_timeout=6',
                                   '-e', 'mpi_remove_other=true', '-e', 'mpi_implementation=openmpi'],
                                  tmp_path, collections_dir, json_output=True)
        failed = [(task, ' '.join([outcome.get('msg', '')] + [item.get('msg', '') for item in outcome.get('results', [])]))
                  for play, task, outcome in task_results(report) if outcome.get('failed')]
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert result.returncode != 0
    assert [task for task, _msg in failed] == ['Remove the other MPI implementation'], failed
    assert re.search(r'Unable to acquire the dpkg frontend lock|Could not get lock', failed[0][1]), failed
    (waited,) = [task['task']['duration'] for play in report['plays'] for task in play['tasks']
                 if task['task']['name'].endswith('Remove the other MPI implementation')]
    seconds = (datetime.datetime.fromisoformat(waited['end'].replace('Z', '+00:00'))
               - datetime.datetime.fromisoformat(waited['start'].replace('Z', '+00:00'))).total_seconds()
    assert 6 <= seconds < 60, seconds
    assert os.path.exists('/var/lib/dpkg/lock-frontend') and os.path.exists('/var/lib/dpkg/lock')
    assert subprocess.run(['dpkg-query', '-W', '-f=${Status}', 'mpich'], stdout=subprocess.PIPE,
                          universal_newlines=True, check=False).stdout == installed


def test_installed_collection_runs_site_by_fqcn_and_records_without_the_callback(tmp_path):
    """As a user installs it: the built tarball in an empty collections path outside the
    repository, picluster.hpl.site by FQCN with -e options, no results callback enabled."""
    dummy, installed = install_built_collection(tmp_path)
    project = tmp_path / 'project'
    project.mkdir()
    (project / 'ansible.cfg').write_text('[defaults]\ninterpreter_python = auto_silent\n')
    (project / 'inventory.yml').write_text(
        'cluster:\n  hosts:\n    localhost:\n      ansible_connection: local\n'
        '      ansible_python_interpreter: /usr/bin/python3\n  vars:\n    hpl_install_method: hpcc\n')
    env = ansible_env(str(installed), config=str(project / 'ansible.cfg'))
    result = run(['ansible-playbook', '-i', 'inventory.yml', 'picluster.hpl.site']
                 + extra_vars(benchmark_max_seconds=None, benchmark_max_n=2000, benchmark_fail_on_residual=True),
                 env, cwd=project)
    assert result.returncode == 0, result.stdout[-5000:]
    assert 'The picluster.hpl.hpl_results callback is not enabled' in result.stdout
    (doc,) = documents(project / 'results')
    assert doc['status'] == 'passed' and doc['sizing']['n'] <= 2000
    assert 'HPL results: %s' % (project / 'results' / ('hpl-%s.json' % doc['id'])) in result.stdout
    print([line for line in result.stdout.splitlines() if 'HPL PASSED' in line][0].strip(' "'))
