"""The benchmark role's conditions sampler, run for real in a PID namespace of its own (a
node's view of its processes, as a container has), beside a busy process of the user it
watches: it counts the other processes of its node, also those that end between two
samples, and not the processes outside that the node cannot see."""

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
