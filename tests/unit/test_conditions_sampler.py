"""The benchmark role's conditions sampler, run for real in a PID namespace of its own (a
node's view of its processes, as a container has), beside a busy process of the user it
watches: it counts the other processes of its node, also those that end between two
samples, and not the processes outside that the node cannot see."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAMPLER = os.path.join(ROOT, 'roles', 'benchmark', 'files', 'picluster-hpl-conditions.py')
BUSY = "while :; do :; done"

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which('unshare') or not shutil.which('setpriv'),
                                reason='needs root, unshare and setpriv')


def watch(tmp_path, others=''):
    """The sampler's report of about four seconds in a new PID namespace, in which the user
    nobody (the benchmark) keeps a core busy and the shell line `others` runs as root."""
    out = tmp_path / 'conditions.json'
    script = ("setpriv --reuid=nobody --regid=nogroup --clear-groups sh -c '%s' &\n%s\n"
              "'%s' '%s' --out '%s' --stop '%s' --user nobody --interval 0.5 --max-seconds 4 --vcgencmd ''\n"
              % (BUSY, others, sys.executable, SAMPLER, out, tmp_path / 'stop'))
    # The namespace's first process is the shell: when the sampler is done, it ends, and the
    # kernel ends everything else in the namespace.
    subprocess.run(['unshare', '--pid', '--fork', '--mount-proc', 'sh', '-c', script], check=True, timeout=60)
    report = json.loads(out.read_text())
    assert report['final'] and report['measured_seconds'] >= 2 and not report.get('errors'), report
    return report


def test_processes_outside_the_node_are_not_counted(tmp_path):
    outside = subprocess.Popen(['sh', '-c', BUSY])
    try:
        report = watch(tmp_path)
    finally:
        outside.kill()
        outside.wait()
    assert report['other_cpu_seconds'] / report['measured_seconds'] < 0.15, report


def test_other_processes_of_the_node_are_counted_also_when_they_end_between_samples(tmp_path):
    # A shell that starts a busy child for 0.3 s at a time: most of the time is spent by
    # children that end between two samples, and reach the shell's count of its children.
    # It gets about a core on an idle machine, and well over a tenth on a busy one (with the
    # benchmark's process, it shares what the machine gives the namespace).
    report = watch(tmp_path, "sh -c 'while :; do timeout 0.3 sh -c \"%s\"; done' &" % BUSY)
    assert report['other_cpu_seconds'] / report['measured_seconds'] > 0.15, report
    assert report['other_top'] and report['other_top'][0][0] in ('sh', 'timeout'), report


def test_slurms_daemons_serve_the_job_and_are_not_counted(tmp_path):
    # A busy root process named as Slurm's step daemon, which starts and serves a job's ranks.
    daemon = tmp_path / 'slurmstepd'
    shutil.copy('/bin/sh', str(daemon))
    report = watch(tmp_path, "'%s' -c '%s' &" % (daemon, BUSY))
    assert report['other_cpu_seconds'] / report['measured_seconds'] < 0.15, report
    assert 'slurmstepd' not in [entry[0] for entry in report['other_top']], report


def load_sampler():
    spec = importlib.util.spec_from_file_location('picluster_hpl_conditions', SAMPLER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def counted(snapshots):
    """Feed the sampler's accounting ``snapshots`` of /proc, one per two seconds, with a rank
    of the benchmark (pid 10) a core busy throughout; its other_cpu_seconds and other_top."""
    sampler = load_sampler()
    frames = iter([dict([(10, ('xhpl', 2.0 * index, 0.0, sampler.MINE, 9, 1))] + list(snapshot.items()))
                   for index, snapshot in enumerate(snapshots)])
    sampler.processes = lambda uid: next(frames)
    sampler.steal_seconds = lambda: 0.0
    watch = sampler.Watch(1000, None)
    watch.summary['samples'] = 2
    for index in range(1, len(snapshots)):
        watch._others(watch.last + 2.0)
    return watch.summary['other_cpu_seconds'], watch.summary['other_top']


# (comm, CPU seconds, ended children's CPU seconds, kind, parent, start time)
def other(comm, cpu, children=0.0, parent=1, started=5):
    return (comm, cpu, children, 'other', parent, started)


def test_a_child_that_ends_is_counted_once_and_named_for_what_it_took_while_seen():
    # bash runs make, which took 2 s by the second sample and 3 s when it ended and bash
    # reaped it: 3 s in all, not the 5 s of make's 2 and bash's count of 3.
    total, top = counted([{20: other('bash', 0.0), 21: other('make', 0.0, parent=20)},
                          {20: other('bash', 0.0), 21: other('make', 2.0, parent=20)},
                          {20: other('bash', 0.0, children=3.0)}])
    assert total == pytest.approx(3.0) and top == {'make': 2.0, 'bash': 1.0}


def test_an_ended_process_whose_parent_is_out_of_view_takes_nothing_from_others():
    # A process started by `docker exec` has no parent in the container (0): when it ends,
    # nothing reaps its time where the sampler sees it, and stress keeps its 1 s a sample.
    total, top = counted([{30: other('stress', 0.0)},
                          {30: other('stress', 1.0), 31: other('python3', 1.0, parent=0)},
                          {30: other('stress', 2.0)}])
    assert total == pytest.approx(3.0) and top == {'stress': 2.0, 'python3': 1.0}


def test_a_pid_taken_again_is_another_process():
    total, top = counted([{40: other('cron', 5.0, started=5)},
                          {40: other('sh', 0.5, started=900)}])
    assert total == pytest.approx(0.5) and top == {'sh': 0.5}


def test_the_benchmarks_own_and_the_kernels_are_not_counted():
    total, top = counted([{50: ('orted', 0.0, 0.0, 'mine', 1, 5), 2: ('kthreadd', 0.0, 0.0, 'left out', 0, 1)},
                          {50: ('orted', 1.0, 0.0, 'mine', 1, 5), 2: ('kthreadd', 0.0, 4.0, 'left out', 0, 1)}])
    assert total == 0.0 and top == {}
