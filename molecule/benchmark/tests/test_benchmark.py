"""One arm64 node: the benchmark ran as the hpl user within the container's memory."""

import glob
import json
import os


def document():
    (path,) = glob.glob(os.path.join(os.environ['MOLECULE_EPHEMERAL_DIRECTORY'], 'results', 'hpl-*.json'))
    with open(path) as handle:
        return json.load(handle)


def test_result_passed_on_aarch64(host):
    doc = document()
    assert doc['status'] == 'passed' and doc['best']['gflops'] > 0
    assert doc['best']['n'] == 1536
    (node,) = doc['nodes']
    assert node['arch'] == 'aarch64' and node['boot_medium'] == 'container'
    assert doc['hpl']['method'] == 'hpcc' and doc['hpcc']['CommWorldProcs'] == 2


def test_sizing_saw_the_container_memory_limit(host):
    doc = document()
    (node,) = doc['sizing']['nodes']
    # memory: 1g for the container; the host has far more.
    assert node['memory_mb'] == 1024
    assert doc['nodes'][0]['memory_mb'] == 1024
    facts_total = int(host.check_output("awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo"))
    assert facts_total > 2048


def test_benchmark_user_owns_its_runs(host):
    runs = host.check_output('ls -d /home/hpl/benchmark/*/').split()
    assert runs
    for run in runs:
        assert host.file(run).user == 'hpl'
        assert host.file(run + 'hpccoutf.txt').user == 'hpl'
    assert host.file('/home/hpl/benchmark').user == 'hpl'
