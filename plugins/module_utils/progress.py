# -*- coding: utf-8 -*-
# Copyright: picluster.hpl contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How long an HPL run should take, and how far a running one has come.

Before a run: :func:`expect` turns the test matrix into seconds, at a rate measured by a
calibration or by the run on the same nodes nearest in size (:func:`nearest_run`).
While it runs: the benchmark role's wait prints one ``hpl-progress`` line per poll
(elapsed seconds, finished tests, and HPL's own progress report where the build has one),
and :func:`progress_text` says it in words.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re

from ansible_collections.picluster.hpl.plugins.module_utils import hpl_dat
from ansible_collections.picluster.hpl.plugins.module_utils.sizing import seconds_for

# HPL 2.3 built with -DHPL_PROGRESS_REPORT, from process (0,0) before each panel.
HPL_REPORT = re.compile(r'Column=\s*(\d+)\s+Fraction=\s*([0-9.]+)%\s+Gflops=\s*([0-9.eE+-]+)')
MARKER = 'hpl-progress'


def without_reports(output):
    """``output`` without the lines of HPL's progress report."""
    if 'Column=' not in output:
        return output
    return ''.join(line for line in output.splitlines(True) if not HPL_REPORT.match(line.strip()))


def tests_per_n(params):
    """How many tests HPL runs at each N of ``params``."""
    return hpl_dat.count_tests(params) // len(hpl_dat.normalise(params)['ns'])


def solve_seconds(params, gflops):
    """Seconds HPL's solves of the whole test matrix take at ``gflops``."""
    return tests_per_n(params) * sum(seconds_for(int(n), gflops) for n in params['ns'])


def _run_rate(document):
    """(GFLOPS, N, seconds besides the solves) of a results document, or None when it cannot
    stand for its nodes: failed, tainted, or without a result."""
    best = document.get('best') or {}
    tainted = (document.get('conditions') or {}).get('tainted')
    if document.get('status') != 'passed' or tainted or not best.get('gflops') or not best.get('n'):
        return None
    besides, squares = None, None
    run = document.get('run') or {}
    try:
        rows = document.get('results') or []
        wall = (_time(run['finished']) - _time(run['started'])).total_seconds()
        besides = max(0.0, wall - sum(float(row.get('time_s') or 0) for row in rows))
        squares = sum(int(row.get('n') or best['n']) ** 2 for row in rows) or int(best['n']) ** 2
        tests = max(1, len(rows))
    except (AttributeError, KeyError, TypeError, ValueError):
        besides = squares = tests = None
    return float(best['gflops']), int(best['n']), besides, squares, tests


def _time(text):
    return datetime.datetime.strptime(str(text)[:19], '%Y-%m-%d %H:%M:%S')


def nearest_run(documents, hosts, n):
    """The passed, untainted run on exactly ``hosts`` whose best N is nearest ``n`` (of those,
    the latest): its rate stands for this run's. None when there is none."""
    wanted = sorted('%s' % host for host in hosts)
    found = []
    for document in documents:
        try:
            names = sorted('%s' % node.get('name') for node in document.get('nodes') or [])
            rate = _run_rate(document) if names == wanted else None
        except (AttributeError, TypeError, ValueError, KeyError):
            continue  # not a document this collection wrote: it says nothing of these nodes
        if rate:
            found.append((abs(rate[1] - n), '%s' % document.get('id'), rate))
    if not found:
        return None
    found.sort(key=lambda item: item[1], reverse=True)  # ids start with the time: the latest first
    dummy, run_id, (gflops, run_n, besides, squares, tests) = min(found, key=lambda item: item[0])
    known = besides is not None
    return {'id': run_id, 'gflops': gflops, 'n': run_n, 'besides_seconds': besides,
            'besides_per_n2': besides / squares if known else None, 'besides_per_test': besides / tests if known else None}


def expect(params, calibration=None, previous=None, now=None):
    """How long the run of ``params`` should take (``seconds`` None when nothing says).

    ``calibration`` is the time budget's ({expected_gflops, overhead_seconds_per_n2}) and
    wins over ``previous`` (a :func:`nearest_run`)."""
    per_n = tests_per_n(params)
    tests = per_n * len(params['ns'])
    if calibration and calibration.get('expected_gflops'):
        gflops = float(calibration['expected_gflops'])
        seconds = solve_seconds(params, gflops) + per_n * sum(
            float(calibration.get('overhead_seconds_per_n2') or 0) * int(n) ** 2 for n in params['ns'])
        source = 'the calibration'
    elif previous:
        gflops = previous['gflops']
        seconds = solve_seconds(params, gflops) + besides_seconds(params, previous)
        source = 'hpl-%s at N=%d on these nodes' % (previous['id'], previous['n'])
    else:
        return {'seconds': None, 'gflops': None, 'source': None, 'tests': tests, 'ends': None,
                'text': 'no estimate of its time yet (no calibration, and no run on these nodes recorded)'}
    now = now or datetime.datetime.now()
    ends = now + datetime.timedelta(seconds=seconds)
    return {'seconds': round(seconds, 1), 'gflops': round(gflops, 4), 'source': source, 'tests': tests,
            'ends': ends.strftime('%Y-%m-%d %H:%M:%S'),
            'text': '%d test%s, about %s at %s GFLOPS (from %s), ending about %s' % (
                tests, '' if tests == 1 else 's', duration(seconds), '%.4g' % gflops, source, ends.strftime('%H:%M:%S'))}


def besides_seconds(params, previous):
    """The time besides the solves (start-up, each test's matrix and its check), from the
    run ``previous``: at least what that run took besides its solves, and more for more
    tests. Each test's generation and check grow as N squared, but that run's start-up does
    not: of the two scalings, by N squared and by the count of tests, the smaller."""
    once = previous.get('besides_seconds') or 0
    per_n = tests_per_n(params)
    by_size = (previous.get('besides_per_n2') or 0) * per_n * sum(int(n) ** 2 for n in params['ns'])
    by_count = (previous.get('besides_per_test') or 0) * per_n * len(params['ns'])
    return max(once, min(by_size, by_count))


def duration(seconds):
    seconds = int(round(seconds))
    if seconds < 60:
        return '%d s' % seconds
    if seconds < 3600:
        return '%d min %02d s' % divmod(seconds, 60)
    return '%d h %02d min' % (seconds // 3600, seconds % 3600 // 60)


def elapsed_text(elapsed, expected=None):
    """``4 min 10 s gone``, or against what was expected: ``4 min 10 s of about 3 min 00 s,
    longer than expected``."""
    if not expected:
        return '%s gone' % duration(elapsed)
    text = '%s of about %s' % (duration(elapsed), duration(expected))
    return text + ', longer than expected' if elapsed > 1.5 * expected else text


def progress_text(line):
    """The wait's ``hpl-progress`` line in words, or None when ``line`` holds none:
    ``hpl-progress elapsed=S tests=T done=D [expected=E] [HPL's last progress report]``."""
    found = [text for text in (line or '').splitlines() if text.startswith(MARKER + ' ')]
    if not found:
        return None
    fields = dict(word.split('=', 1) for word in found[-1].split()[1:]
                  if word.split('=', 1)[0] in ('elapsed', 'tests', 'done', 'expected'))
    try:
        elapsed, tests, done = int(fields['elapsed']), int(fields['tests']), int(fields['done'])
        expected = float(fields['expected']) if fields.get('expected') else None
    except (KeyError, ValueError):
        return None
    parts = ['test %d of %d' % (min(done + 1, tests), tests)] if tests > 1 else []
    report = HPL_REPORT.search(found[-1])
    if report:
        column_share = float(report.group(2)) / 100.0
        parts.append('%.0f %% of its work, %.4g GFLOPS so far' % (
            100.0 * (1 - (1 - column_share) ** 3), float(report.group(3))))
    return 'HPL running: %s' % ', '.join(parts + [elapsed_text(elapsed, expected)])
