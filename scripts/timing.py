"""Run the test command and report where its time went.

    scripts/timing [PYTEST ARGS...]      e.g. scripts/timing, or scripts/timing -n 0

(scripts/timing runs this file with python3.)

Runs ./test with --durations=0 and a JUnit report, with PICLUSTER_TIMING_DIR set so that
scripts/molecule records its set-up steps, every molecule action and each scenario's
output (with Ansible's profile_tasks times). Writes everything, and report.md, to
.cache/timing/<date>/ and prints the report: the total, the set-up steps, molecule per
scenario and action, the slowest Ansible tasks under emulation, the time per test file
and the slowest tests. A measurement, not a timed test: it exits with ./test's status.
"""

import collections
import glob
import os
import re
import subprocess
import sys
import time
from xml.etree import ElementTree

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ACTION = re.compile(r'\[(\S+) > (\w+)\] Executing$')
PROFILE = re.compile(r'^(\S.*?)(?: -+|\s{2,}) ?(\d+\.\d+)s$')


def run_tests(directory, args):
    started = time.time()
    with open(os.path.join(directory, 'test.log'), 'w') as log:
        setup = subprocess.run([os.path.join(ROOT, 'scripts', 'setup'), 'test'], stdout=log, stderr=log, check=False)
        env = dict(os.environ, PICLUSTER_TIMING_DIR=directory)
        setup_seconds = time.time() - started
        tests = subprocess.run([os.path.join(ROOT, 'test'), '--durations=0', '-p', 'no:cacheprovider',
                                '--junitxml=%s' % os.path.join(directory, 'junit.xml')] + args,
                               stdout=log, stderr=subprocess.STDOUT, env=env, check=False)
    return setup.returncode or tests.returncode, setup_seconds, time.time() - started


def steps(directory):
    path = os.path.join(directory, 'steps.tsv')
    if not os.path.exists(path):
        return []
    with open(path) as handle:
        return [(part, int(seconds)) for part, seconds in (line.rstrip('\n').split('\t') for line in handle)]


def slowest_tasks(directory, count=15):
    """(seconds, scenario action, task) from profile_tasks' summaries in each molecule log."""
    tasks = []
    for path in sorted(glob.glob(os.path.join(directory, 'molecule-*.log'))):
        action = '?'
        with open(path) as handle:
            for line in handle:
                line = line.rstrip('\n')
                found = ACTION.search(line)
                if found:
                    action = '%s %s' % found.groups()
                found = PROFILE.match(line)
                if found:
                    tasks.append((float(found.group(2)), action, found.group(1)))
    return sorted(tasks, reverse=True)[:count]


def test_times(directory):
    path = os.path.join(directory, 'junit.xml')
    if not os.path.exists(path):
        return []
    cases = ElementTree.parse(path).getroot().iter('testcase')
    return [(float(case.get('time', 0)), case.get('classname', ''), case.get('name', '')) for case in cases]


def minutes(seconds):
    return '%d min %02d s' % divmod(round(seconds), 60)


def report(directory, rc, setup_seconds, total):
    summary = '%s in all (exit %d); scripts/setup %s; results in %s' % (minutes(total), rc, minutes(setup_seconds),
                                                                        directory)
    lines = ['# Where the test command\'s time went', '', summary, '',
             '## scripts/molecule: set-up steps and molecule actions', '', '| part | seconds |', '| --- | ---: |']
    lines += ['| %s | %d |' % part for part in steps(directory)]
    lines += ['', '## Slowest Ansible tasks in the scenarios (profile_tasks)', '', '| seconds | action | task |',
              '| ---: | --- | --- |']
    lines += ['| %.1f | %s | %s |' % task for task in slowest_tasks(directory)]
    tests = test_times(directory)
    by_file = collections.Counter()
    for seconds, classname, _name in tests:
        by_file['.'.join(part for part in classname.split('.') if not part[:1].isupper())] += seconds
    lines += ['', '## Time per test file (summed; the two xdist workers overlap)', '', '| file | seconds |',
              '| --- | ---: |']
    lines += ['| %s | %.0f |' % (name, seconds) for name, seconds in by_file.most_common()]
    lines += ['', '## Slowest tests', '', '| seconds | test |', '| ---: | --- |']
    lines += ['| %.0f | %s::%s |' % (seconds, classname, name) for seconds, classname, name in sorted(tests)[::-1][:15]]
    return '\n'.join(lines) + '\n'


def main(args):
    directory = os.path.join(ROOT, '.cache', 'timing', time.strftime('%Y%m%dT%H%M%S'))
    os.makedirs(directory)
    rc, setup_seconds, total = run_tests(directory, args)
    text = report(directory, rc, setup_seconds, total)
    with open(os.path.join(directory, 'report.md'), 'w') as handle:
        handle.write(text)
    sys.stdout.write(text)
    return rc


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
