"""Three arm64 nodes: HPL ran across all of them as the hpl user, bounded by the small one."""

import glob
import json
import os

import pytest

NODES = ['pi1', 'pi2', 'pi3']


@pytest.fixture(scope='module')
def doc():
    (path,) = glob.glob(os.path.join(os.environ['MOLECULE_EPHEMERAL_DIRECTORY'], 'results', 'hpl-*.json'))
    with open(path) as handle:
        return json.load(handle)


def test_hpl_ran_across_three_nodes_and_passed(host, doc):
    assert doc['status'] == 'passed' and doc['best']['gflops'] > 0
    assert [node['name'] for node in doc['nodes']] == NODES
    assert all(node['arch'] == 'aarch64' for node in doc['nodes'])
    assert doc['run']['head'] == 'pi1'
    # One rank per node: P x Q = 3, and hpcc saw three MPI processes.
    assert doc['sizing']['ranks'] == 3 and doc['best']['p'] * doc['best']['q'] == 3
    assert doc['hpcc']['CommWorldProcs'] == 3
    assert doc['hpl']['method'] == 'hpcc' and doc['best']['n'] == 1152
    assert all(node['boot_medium'] == 'container' for node in doc['nodes'])


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
    # From here, the hpl user reaches every node with host keys checked.
    for node in NODES:
        reached = host.run("su hpl -c 'ssh -o BatchMode=yes -o StrictHostKeyChecking=yes %s hostname'" % node)
        assert reached.rc == 0 and reached.stdout.strip() == node, (name, node, reached.stderr)


def test_benchmark_user_owns_its_runs(host, doc):
    runs = host.check_output('ls -d /home/hpl/benchmark/*/').split()
    # Every node has the run's directory (the ranks start there); the head holds the output.
    assert [run.rstrip('/') for run in runs] == [doc['run']['directory']]
    assert host.file('/home/hpl/benchmark').user == 'hpl' and host.file(runs[0]).user == 'hpl'
    if host.backend.get_hostname() == doc['run']['head']:
        assert host.file(runs[0] + 'hpccoutf.txt').user == 'hpl'
