"""Three arm64 nodes: HPL tuned across all of them as the hpl user, the winner kept beside
the inventory with its confirmed rate, the grid the search kept the fastest of all grids,
every run bounded by the small node, each node's conditions sampled during every run, and
the report of them all."""

import csv
import glob
import json
import os
import re
import subprocess
import sys

import pytest
import yaml

NODES = ['pi1', 'pi2', 'pi3']
SCENARIO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope='module')
def docs():
    """Every run's document, in the order they ran: the tune playbook's (a first run to
    size, one per stage, the defaults and the winner at full size), then the run of every
    grid (converge.yml)."""
    paths = sorted(glob.glob(os.path.join(os.environ['MOLECULE_EPHEMERAL_DIRECTORY'], 'results', 'hpl-*.json')))
    documents = []
    for path in paths:
        with open(path) as handle:
            documents.append(json.load(handle))
    return documents


@pytest.fixture(scope='module')
def runs(docs):
    """The runs by role: the tuning's first run, its confirmation and the defaults run
    before it, the run of every grid, and the run with pi3 slowed (the Slurm job aside)."""
    docs = [doc for doc in docs if 'slurm' not in doc]
    (confirmed,) = [index for index, doc in enumerate(docs) if 'tuning' in doc]
    assert len(docs) == confirmed + 3, [doc['hpl_dat'] for doc in docs]
    return {'start': docs[0], 'defaults': docs[confirmed - 1], 'tuned': docs[confirmed], 'grids': docs[-2],
            'slowed': docs[-1]}


@pytest.fixture(scope='module')
def doc(runs):
    return runs['tuned']


@pytest.fixture(scope='module')
def kept():
    with open(os.path.join(SCENARIO, 'group_vars', 'cluster', 'picluster_hpl_tuned.yml')) as handle:
        return yaml.safe_load(handle)


def test_hpl_ran_across_three_nodes_and_passed(host, docs, doc):
    assert all(run['status'] == 'passed' and run['best']['gflops'] > 0 for run in docs)
    assert [node['name'] for node in doc['nodes']] == NODES
    assert all(node['arch'] == 'aarch64' for node in doc['nodes'])
    assert doc['run']['head'] == 'pi1'
    # One rank per node: P x Q = 3, with xhpl built on each node from Debian's hpcc source.
    assert doc['sizing']['ranks'] == 3 and doc['best']['p'] * doc['best']['q'] == 3
    assert doc['hpl']['method'] == 'hpcc_source' and 'HPLinpack 2.0' in doc['output']
    assert doc['best']['n'] == 1152 // doc['best']['nb'] * doc['best']['nb']
    assert all(node['boot_medium'] == 'container' for node in doc['nodes'])


def test_the_search_ran_at_its_n_and_confirmed_its_winner_at_full_size(host, runs):
    tuning = runs['tuned']['tuning']
    rows = tuning['rows']
    assert tuning['n'] == 576 and all(row['n'] == 576 for row in rows)
    # The NB and grid stage always fits the budget; a later one is skipped when it would not.
    assert tuning['stages'][0]['stage'] == 'nb_grid' and tuning['stages'][0]['skipped'] is None
    ran = set(stage['stage'] for stage in tuning['stages'] if not stage['skipped'])
    assert {row['stage'] for row in rows} == {'start'} | ran
    assert tuning['seconds'] <= tuning['budget_seconds'] == 120
    winner = tuning['winner']
    assert winner['gflops'] == max(row['gflops'] for row in rows if row['status'] == 'passed')
    # The confirmation ran the winner at the benchmark's size, the defaults (NB 32 at this N) beside it.
    best = runs['tuned']['best']
    assert (best['tv'], best['nb'], best['p'], best['q']) == (winner['tv'], winner['nb'], winner['p'], winner['q'])
    assert best['n'] == 1152 // winner['nb'] * winner['nb'] and runs['defaults']['best']['nb'] == 32


def test_the_winner_is_kept_with_its_confirmed_gflops(host, runs, kept):
    winner, tuned = runs['tuned']['tuning']['winner'], kept['picluster_hpl_tuned']
    faster = runs['tuned']['best']['gflops'] > runs['defaults']['best']['gflops']
    assert tuned['kept'] == ('winner' if faster else 'defaults')
    assert tuned['gflops'] == runs['tuned']['best']['gflops']
    assert tuned['defaults_gflops'] == runs['defaults']['best']['gflops']
    assert tuned['cluster']['nodes'] == NODES and tuned['search']['n'] == 576
    assert tuned['cluster']['hpl'] == ['hpcc_source 2.0'] and tuned['cluster']['mpi'] == ['openmpi 4.1.4']
    if faster:
        assert kept['benchmark_nb'] == winner['nb'] and kept['benchmark_hpl_dat']['grids'] == [[winner['p'], winner['q']]]
        assert kept['benchmark_hpl_dat']['bcasts'] == [winner['bcast']]
    else:
        assert 'benchmark_nb' not in kept and 'benchmark_hpl_dat' not in kept


def test_the_search_kept_the_grid_that_every_grid_finds_fastest(host, runs):
    """The search tries only P <= Q; run against every grid at the search's N, the fastest
    grid is the one it kept."""
    grids = runs['grids']
    rows = grids['results']
    assert sorted(set((row['p'], row['q']) for row in rows)) == [(1, 3), (3, 1)] and len(rows) == 6
    assert all(row['n'] == 576 and row['status'] == 'passed' for row in rows)
    fastest = max(rows, key=lambda row: row['gflops'])
    winner = runs['tuned']['tuning']['winner']
    assert (fastest['p'], fastest['q']) == (winner['p'], winner['q']), rows


def test_emulated_nodes_say_so_instead_of_a_peak(host, doc):
    """qemu shows the host's /proc/cpuinfo: an x86 CPU on an aarch64 node is no peak of its own."""
    for node in doc['nodes']:
        assert node['peak']['source'] == 'emulated' and node['peak']['gflops'] is None
        assert 'x86 CPU' in node['peak']['explain'] and 'aarch64' in node['peak']['explain']
        # The kernel the library reports, and nothing measured under the emulator.
        kernel = node['blas_kernel']
        assert kernel['emulated'] is True and kernel['kernel'] and kernel['dgemm_gflops'] is None
        assert kernel['source'] == 'library' and 'emulated: nothing measured' in kernel['reason']
    assert doc['rpeak_gflops'] is None and doc['warnings'] == []


def test_the_small_node_bounds_n(host, doc):
    memory = dict((node['name'], node['memory_mb']) for node in doc['sizing']['nodes'])
    # The containers' limits (2g, 2g, 1g), not the host's memory.
    assert memory == {'pi1': 2048, 'pi2': 2048, 'pi3': 1024}
    assert dict((node['name'], node['memory_mb']) for node in doc['nodes']) == memory
    # while the kernel reports the host's memory to every container
    assert int(host.check_output("awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo")) > 2048
    assert doc['sizing']['bounding_node'] == 'pi3'
    used = dict((node['name'], node['memory_fraction_used']) for node in doc['sizing']['nodes'])
    # Each fraction is rounded to four places, small at this N.
    assert used['pi3'] == pytest.approx(2 * used['pi1'], abs=1.5e-4)


def test_ssh_trust_pins_every_host_key(host):
    name = host.backend.get_hostname()
    known = host.file('/home/hpl/.ssh/known_hosts').content_string
    for node in NODES:
        key = host.run("ssh-keyscan -t ed25519 %s 2>/dev/null" % node).stdout.split()[-1]
        assert key in known
    assert host.file('/home/hpl/.ssh/id_ed25519').mode == 0o600
    assert host.file('/home/hpl/.ssh/id_ed25519').user == 'hpl'
    assert host.file('/home/hpl/.ssh').mode == 0o700
    # The cluster key is accepted from the cluster's addresses only, for commands only.
    (entry,) = [line for line in host.file('/home/hpl/.ssh/authorized_keys').content_string.splitlines()
                if 'picluster-hpl' in line]
    options = entry.split(' ssh-ed25519 ')[0]
    addresses = options.split('from="')[1].split('"')[0].split(',')
    for node in NODES:
        assert host.run("getent hosts %s" % node).stdout.split()[0] in addresses
    assert not any(address in ('*', '0.0.0.0/0') for address in addresses)
    assert 'no-port-forwarding' in options and 'no-agent-forwarding' in options
    # From here, the hpl user reaches every node with host keys checked.
    for node in NODES:
        reached = host.run("su hpl -c 'ssh -o BatchMode=yes -o StrictHostKeyChecking=yes %s hostname'" % node)
        assert reached.rc == 0 and reached.stdout.strip() == node, (name, node, reached.stderr)


def test_nothing_of_the_benchmark_is_world_writable(host):
    # The HPL builds, the binaries the ranks run and each run's files.
    found = host.check_output('find /var/cache/hpl /home/hpl -xdev -perm -0002 ! -type l -print')
    assert found == ''


def test_benchmark_user_owns_its_runs(host, docs):
    directories = host.check_output('ls -d /home/hpl/benchmark/*/').split()
    # Every node has each run's directory (the ranks start there), and the directory of its
    # own run alone when there were; the head holds the output.
    name = host.backend.get_hostname()
    expected = sorted([doc['run']['directory'] for doc in docs]
                      + [doc['run']['directory'] + '-alone-' + name for doc in docs if 'per_node' in doc])
    assert sorted(directory.rstrip('/') for directory in directories) == expected
    assert host.file('/home/hpl/benchmark').user == 'hpl'
    assert all(host.file(directory).user == 'hpl' for directory in directories)
    if host.backend.get_hostname() == docs[-1]['run']['head']:
        assert host.file(directories[-1] + 'mpirun.log').user == 'hpl'


def test_every_node_ran_alone_first_and_the_slowed_one_is_named(runs):
    # The tune playbook's first stage: every node alone, at its share of the cluster run.
    for run in (runs['start'], runs['slowed']):
        alone = run['per_node']
        assert [node['name'] for node in alone['nodes']] == NODES
        assert all(node['status'] == 'passed' and node['gflops'] > 0 for node in alone['nodes'])
        share = run['best']['n'] / 3 ** 0.5
        assert all(node['n'] == int(share) // run['best']['nb'] * run['best']['nb'] for node in alone['nodes'])
        assert all(node['p'] * node['q'] == 1 for node in alone['nodes'])
    # pi3's rank was stopped nine tenths of the time while they ran: it, and only it, is weak.
    slowed = runs['slowed']['per_node']
    assert slowed['weak'] == ['pi3'], slowed
    assert slowed['nodes'][2]['gflops'] < 0.9 * slowed['median_gflops']


def test_every_node_sampled_its_conditions_during_every_run(docs):
    for run in docs:
        nodes = run['conditions']['nodes']
        assert sorted(nodes) == NODES and all(node['samples'] >= 2 for node in nodes.values())
        # No vcgencmd in these containers: no throttling flags, so none taints a run (three
        # emulated nodes on the host's cores may: other processes, named as such).
        assert all(node['throttled'] == {'before': None, 'after': None, 'during': None} for node in nodes.values())
        assert all('other processes used' in reason for reason in run['conditions']['tainted'])


def test_the_report_of_the_cluster_has_every_row_and_its_charts(docs, tmp_path):
    root = os.path.dirname(os.path.dirname(SCENARIO))
    results = os.path.join(os.environ['MOLECULE_EPHEMERAL_DIRECTORY'], 'results')
    made = subprocess.run([sys.executable, '-m', 'ansible_collections.picluster.hpl.plugins.module_utils.report',
                           results, '--out', str(tmp_path)], check=False, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, env=dict(os.environ, PYTHONPATH=os.path.join(root, '.cache', 'collections')))
    assert made.returncode == 0, made.stdout
    with open(str(tmp_path / 'results.csv')) as handle:
        lines = list(csv.DictReader(handle))
    assert len(lines) == sum(len(run['results']) for run in docs)
    assert set(line['cluster'] for line in lines) == {'pi1,pi2,pi3'}
    # The grid run's NBs for each grid, and the runs over time, drawn.
    assert os.path.getsize(str(tmp_path / 'charts' / 'nb.png')) > 10000
    assert os.path.getsize(str(tmp_path / 'charts' / 'history.png')) > 10000


def test_a_node_lost_mid_run_is_named_and_what_was_measured_is_kept():
    # lose_a_node.yml: pi3 was killed once the first test had printed its result.
    (path,) = glob.glob(os.path.join(os.environ['MOLECULE_EPHEMERAL_DIRECTORY'], 'results-lost', 'hpl-*.json'))
    with open(path) as handle:
        lost = json.load(handle)
    assert lost['reason'] == 'daemon_lost', lost['faults']
    assert any(re.match(r'(mpirun )?lost (node )?pi3 during the run: check that it is up, powered and on the network',
                        error) for error in lost['errors']), lost['errors']
    assert lost['status'] == 'incomplete' and lost['summary'] is None
    assert [(row['n'], row['status']) for row in lost['results']] == [(192, 'passed')]
    assert lost['best']['gflops'] > 0


@pytest.fixture(scope='module')
def job(docs):
    (found,) = [doc for doc in docs if 'slurm' in doc]
    return found


def test_hpl_ran_as_a_slurm_job_across_the_three_nodes(job):
    assert job['slurm']['state'] == 'COMPLETED' and job['slurm']['exit_code'] == '0:0', job['slurm']
    assert job['slurm']['nodes'] == 'pi[1-3]' and job['slurm']['batch_host'] == 'pi1'
    assert job['slurm']['partition'] == 'cluster' and int(job['slurm']['job_id']) > 0
    assert job['run']['command'].startswith('sbatch --wait') and '--exclusive' in job['run']['command']
    assert job['status'] == 'passed' and job['reason'] is None and job['faults'] == []
    assert job['sizing']['ranks'] == 3 and job['best']['p'] * job['best']['q'] == 3
    assert job['best']['n'] == 576 // job['best']['nb'] * job['best']['nb']


def docker(*command, **kwargs):
    return subprocess.run(['docker', 'exec'] + list(command), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=120, check=False, **kwargs)


def test_slurm_has_every_node_idle_in_one_partition():
    state = docker('pi1', 'sinfo', '--Node', '--noheader', '--format=%N %P %T %c %m')
    assert state.returncode == 0, state.stdout
    # One rank's CPUs and the memory the sizing sees (the containers' 2 GiB and 1 GiB).
    nodes = [line.split() for line in state.stdout.splitlines()]
    assert [tuple(fields[:3]) for fields in nodes] == [(node, 'cluster*', 'idle') for node in NODES]
    assert [int(fields[4]) for fields in nodes] == [2048, 2048, 1024]


def test_slurmctld_runs_on_the_controller_alone():
    # converge had pi2 as the controller first, then pi1 (the default).
    state = {node: docker(node, 'systemctl', 'is-active', 'slurmctld').stdout.strip() for node in NODES}
    enabled = docker('pi2', 'systemctl', 'is-enabled', 'slurmctld').stdout.strip()
    assert (state, enabled) == ({'pi1': 'active', 'pi2': 'inactive', 'pi3': 'inactive'}, 'disabled')


def test_one_munge_key_the_munge_users_alone():
    keys = set()
    for node in NODES:
        stat = docker(node, 'stat', '-c', '%a %U %G', '/etc/munge/munge.key')
        assert stat.stdout.strip() == '400 munge munge', (node, stat.stdout)
        keys.add(docker(node, 'sha256sum', '/etc/munge/munge.key').stdout.split()[0])
    assert len(keys) == 1
    # A credential made on pi1 is taken on pi3.
    credential = docker('pi1', 'munge', '--no-input').stdout.strip()
    taken = docker('-i', 'pi3', 'unmunge', input=credential)
    assert taken.returncode == 0 and 'STATUS:          Success' in taken.stdout, taken.stdout
