# -*- coding: utf-8 -*-
# Copyright: picluster.hpl contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parse the text of an HPL run (xhpl stdout / HPL.out) or of HPC Challenge's hpccoutf.txt.

HPL exits 0 even when a residual check fails, so the text is the only proof of a run:
every result row is kept with its residual and a status of ``passed``, ``failed`` or
``unchecked`` (the run's threshold was <= 0, or the output stops before the check).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import re

PMAP = {'R': 'row', 'C': 'column'}
FACT = {'L': 'left', 'C': 'crout', 'R': 'right'}
BCAST = {'0': '1rg', '1': '1rM', '2': '2rg', '3': '2rM', '4': 'Lng', '5': 'LnM'}

_NUMBER = r'[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?'
_ROW = re.compile(
    r'^\s*(?P<tv>W(?P<pmap>[RC])(?P<depth>\d)(?P<bcast>[0-5])(?P<rfact>[LCR])(?P<ndiv>\d)'
    r'(?P<pfact>[LCR])(?P<nbmin>\d+))\s+(?P<n>\d+)\s+(?P<nb>\d+)\s+(?P<p>\d+)\s+(?P<q>\d+)'
    r'\s+(?P<time>' + _NUMBER + r')\s+(?P<gflops>' + _NUMBER + r')\s*$')
_RESIDUAL = re.compile(
    r'^\s*\|\|Ax-b\|\|_oo\s*/\s*\(eps\*.*=\s*(?P<value>' + _NUMBER + r'|nan|-?inf)\s*\.*\s*'
    r'(?P<status>PASSED|FAILED)\s*$', re.IGNORECASE)
_SUMMARY_START = re.compile(r'^\s*Finished\s+(\d+)\s+tests? with the following results:')
_SUMMARY_LINE = re.compile(
    r'^\s*(\d+)\s+tests?\s+(completed and passed residual checks|completed and failed residual '
    r'checks|completed without checking|skipped because of illegal input values)')
_SUMMARY_KEY = {
    'completed and passed residual checks': 'passed',
    'completed and failed residual checks': 'failed',
    'completed without checking': 'unchecked',
    'skipped because of illegal input values': 'skipped',
}
_HPL_ERROR = re.compile(r'^\s*HPL ERROR from process #\s*(\d+), on line\s+(\d+) of function\s+(\w+):')
_HPL_ERROR_TEXT = re.compile(r'^\s*>>>\s*(.*?)\s*<<<\s*$')
_HPCC_SECTION = re.compile(r'^\s*Begin of Summary section\.\s*$')
_HPCC_END = re.compile(r'^\s*End of Summary section\.\s*$')
_HPCC_KEY = re.compile(r'^(\w+)=(.*)$')

_LOST_A_NODE = "mpirun lost a node during the run: check that every node is up, powered and on the network"

# Launch and run failures of OpenMPI, MPICH (Hydra) and Slurm's srun: the reason's name,
# and what to do. Slurm writes "*** JOB 7 ON pi1 CANCELLED AT <time> [DUE TO ...] ***" (and the
# same of each step, "STEP 7.0", which says nothing more).
_SLURM_CANCELLED = r'\*\*\* JOB (\S+) ON \S+ CANCELLED AT \S+'
# How a Slurm job ended early, by its state in Slurm's record: the reason and what to say
# ({0}: the job's id). The output's own lines say the same (below), as the record may be gone.
SLURM_JOB_ENDS = {
    'TIMEOUT': ('timeout', "Slurm stopped job {0} at its time limit (benchmark_timeout): raise it, or ask for a "
                           "smaller N"),
    'CANCELLED': ('job_cancelled', "Slurm cancelled job {0} before it ended (scancel, or a higher-priority job)"),
    'NODE_FAIL': ('daemon_lost', "Slurm ended job {0} when a node failed: check that every node is up, powered and "
                                 "on the network"),
    'OUT_OF_MEMORY': ('rank_killed', "Slurm killed job {0} for want of memory: lower benchmark_memory_fraction"),
}
_MPI_FAILURES = (
    ('timeout', re.compile(_SLURM_CANCELLED + r' DUE TO TIME LIMIT'), SLURM_JOB_ENDS['TIMEOUT'][1]),
    ('daemon_lost', re.compile(r'srun: error: Node failure on (\S+)'),
     "Slurm lost node {0} during the run: check that it is up, powered and on the network"),
    ('daemon_lost', re.compile(_SLURM_CANCELLED + r' DUE TO NODE FAIL'), SLURM_JOB_ENDS['NODE_FAIL'][1]),
    ('job_cancelled', re.compile(_SLURM_CANCELLED), SLURM_JOB_ENDS['CANCELLED'][1]),
    ('rank_killed', re.compile(r'Detected (\d+) oom[-_]kill events?'),
     "Slurm saw {0} rank(s) killed for want of memory: lower benchmark_memory_fraction"),
    ('rank_killed', re.compile(r'srun: error: (\S+): tasks? ([\d,-]+): Killed'),
     "rank {1} on {0} was killed (signal 9), most often for want of memory: lower benchmark_memory_fraction"),
    ('rank_failed', re.compile(r'srun: error: (\S+): tasks? ([\d,-]+): Exited with exit code (\d+)'),
     "rank {1} on {0} exited with {2}"),
    ('mpi_slots', re.compile(r'There (?:are|is) not enough slots available in the system to satisfy the (\d+)'),
     "mpirun: not enough slots for {0} ranks: list more slots in the hostfile, or ask for fewer ranks"),
    ('mpi_root', re.compile(r'mpirun has detected an attempt to run as root'),
     "mpirun refused to run as root: run the benchmark as an unprivileged user"),
    ('daemon_start', re.compile(r'(?:ORTE|PRTE) was unable to reliably start one or more daemons'),
     "mpirun could not start its daemons on the other nodes: check SSH from the head node to "
     "every node as the benchmark user, and that MPI is installed on all of them"),
    ('daemon_lost', re.compile(r'(?:ORTE|PRTE) has lost communication with a remote daemon'), _LOST_A_NODE),
    ('daemon_lost', re.compile(r'^\s*Remote daemon\s*:.* on node (\S+)'),
     "mpirun lost node {0} during the run: check that it is up, powered and on the network"),
    ('ssh_host_key', re.compile(r'Host key verification failed'),
     "SSH host key verification failed: the node's host key is not in the benchmark user's known_hosts"),
    ('ssh_refused', re.compile(r'Permission denied \(publickey'),
     "SSH refused the benchmark user's key: authorise its public key on every node"),
    ('ssh_unreachable', re.compile(r'ssh: (?:connect to host|Could not resolve hostname) (\S+)'),
     "SSH could not reach {0}: check the node's address in the hostfile and that sshd runs"),
    ('launch_failed', re.compile(r'mpirun was unable to (?:launch|find) the specified executable|'
                                 r'was unable to launch the specified application'),
     "mpirun could not launch xhpl: check the binary's path exists on every node"),
    ('library_missing', re.compile(r'error while loading shared libraries: (\S+)'),
     "xhpl could not load {0}: install the same MPI and BLAS on every node"),
    ('rank_killed', re.compile(r'mpirun noticed that process rank (\d+) .*exited on signal 9\b'),
     "rank {0} was killed (signal 9), most often for want of memory: lower benchmark_memory_fraction"),
    ('rank_killed', re.compile(r'mpirun noticed that process rank (\d+) .*exited on signal (\d+)'),
     "rank {0} was killed by signal {1}"),
    ('rank_killed', re.compile(r'BAD TERMINATION OF ONE OF YOUR APPLICATION PROCESSES'),
     "an MPI process terminated abnormally (MPICH)"),
    ('mpi_launcher', re.compile(r'\[mpiexec@\S+\] (HYD\w+ .*)'),
     "MPICH launcher: {0}"),
    ('rank_failed', re.compile(r'Primary job\s+terminated normally, but (\d+) process returned'),
     "{0} MPI process returned a non-zero exit code"),
)

# The reasons, the most telling first: the document's ``reason`` is the first of its faults
# in this order (a rank killed says more than "a process returned non-zero", which follows).
REASONS = ('timeout', 'job_cancelled', 'daemon_lost', 'daemon_start', 'ssh_host_key', 'ssh_refused', 'ssh_unreachable',
           'mpi_slots', 'mpi_root', 'launch_failed', 'library_missing', 'rank_killed', 'hpl_error',
           'residual_failed', 'mpi_launcher', 'rank_failed', 'mpirun_failed', 'incomplete', 'no_result',
           'unchecked')

# What a run's status says when nothing more specific was printed (its reason is what the
# status already says, so a headline need not repeat it).
_STATUS_FAULTS = {
    'failed': ('residual_failed', "a residual check FAILED: the result is wrong (check the BLAS, the "
                                  "memory and the cooling), whatever the exit code"),
    'unchecked': ('unchecked', "the run was not checked (threshold <= 0): its rate proves nothing"),
    'incomplete': ('incomplete', "the output stops before HPL's summary, or HPL skipped tests"),
    'error': ('no_result', "the run printed no result"),
}


def decode_variant(tv):
    """Split a T/V code such as ``WR11C2R4`` into HPL's algorithm choices."""
    match = _ROW.match('%s 1 1 1 1 0 0' % tv)
    if not match:
        raise ValueError("%r is not an HPL T/V code (W, R|C, depth, bcast, rfact, ndiv, pfact, nbmin)" % (tv,))
    return _variant(match)


def _variant(match):
    return {
        'pmap': PMAP[match.group('pmap')],
        'depth': int(match.group('depth')),
        'bcast': BCAST[match.group('bcast')],
        'rfact': FACT[match.group('rfact')],
        'ndiv': int(match.group('ndiv')),
        'pfact': FACT[match.group('pfact')],
        'nbmin': int(match.group('nbmin')),
    }


def _number(text):
    text = text.strip()
    try:
        value = int(text)
    except ValueError:
        try:
            value = float(text)
        except ValueError:
            return text
        if not math.isfinite(value):
            # HPL prints inf GFLOPS for a solve too short for its timer: no rate at all.
            return None
    return value


def parse_hpl_output(text):
    """Parse HPL or hpcc output text into results, summary, errors (and hpcc's summary).

    Returns a dict:

    * ``results``: one dict per result row (``tv``, decoded variant, ``n``, ``nb``, ``p``, ``q``,
      ``time_s``, ``gflops``, ``residual``, ``status``);
    * ``summary``: ``finished``, ``passed``, ``failed``, ``skipped``, ``unchecked``, or None when
      the run did not reach its summary;
    * ``errors``: readable strings for every HPL ERROR and recognised MPI launch failure;
    * ``faults``: the same as ``{'reason': name, 'message': text}`` (reasons: ``hpl_error``,
      the names in ``_MPI_FAILURES``), then the status's own fault, if any
      (``residual_failed``, ``unchecked``, ``incomplete``, ``no_result``);
    * ``reason``: the most telling fault's name (``REASONS``), or None for a run that passed;
    * ``hpcc``: hpcc's ``key=value`` summary, only for hpcc output;
    * ``status``: ``passed`` (every test ran and passed), ``failed`` (a residual check
      failed), ``unchecked`` (run without checks), ``error`` (no result at all) or
      ``incomplete`` (the output stops before the summary, or HPL skipped tests);
    * ``best``: the fastest row that did not fail, or None.
    """
    if text is None:
        text = ''
    if not isinstance(text, str):
        raise TypeError("HPL output must be text, got %s" % type(text).__name__)
    reader = _Reader()
    for line in text.splitlines():
        reader.read(line)
    return reader.parsed()


class _Reader(object):
    """One pass over the lines of a run: each step takes the line it recognises and says so."""

    def __init__(self):
        self.results, self.summary, self.faults, self.hpcc = [], None, [], None
        self._pending_error = None
        self._section = None  # 'hpcc' inside hpcc's summary, 'summary' under HPL's "Finished"

    def read(self, line):
        if self._section == 'hpcc':
            self._hpcc_line(line)
            return
        # Only the lines right under HPL's "Finished" count: hpcc's PTRANS has its own.
        if self._section == 'summary' and self._summary_line(line):
            return
        self._section = None
        for step in (self._row, self._residual, self._summary_start, self._hpl_error, self._hpcc_start):
            if step(line):
                return
        self._mpi_failure(line)

    def parsed(self):
        if self._pending_error:
            self._fault('hpl_error', self._pending_error)
        status = _overall_status(self.results, self.summary, self.faults)
        if status in _STATUS_FAULTS and (status != 'error' or not self.faults):
            self._fault(*_STATUS_FAULTS[status])
        parsed = {
            'results': self.results,
            'summary': self.summary,
            'errors': [fault['message'] for fault in self.faults],
            'faults': self.faults,
            'reason': main_reason(self.faults),
            'status': status,
            'best': best_result(self.results),
        }
        if self.hpcc is not None:
            parsed['hpcc'] = self.hpcc
        return parsed

    def _row(self, line):
        match = _ROW.match(line)
        if match:
            row = {'tv': match.group('tv')}
            row.update(_variant(match))
            row.update(dict((key, int(match.group(key))) for key in ('n', 'nb', 'p', 'q')))
            row.update({'time_s': float(match.group('time')), 'gflops': float(match.group('gflops')),
                        'residual': None, 'status': 'unchecked'})
            self.results.append(row)
        return match

    def _residual(self, line):
        match = _RESIDUAL.match(line)
        target = _last_unchecked(self.results) if match else None
        if target is not None:
            value = float(match.group('value'))
            # A NaN or infinite residual (a broken BLAS) is a FAILED check with no number to keep.
            target['residual'] = value if math.isfinite(value) else None
            target['status'] = match.group('status').lower()
        return match

    def _summary_start(self, line):
        match = _SUMMARY_START.match(line)
        if match:
            self.summary = {'finished': int(match.group(1)), 'passed': 0, 'failed': 0, 'skipped': 0, 'unchecked': 0}
            self._section = 'summary'
        return match

    def _summary_line(self, line):
        match = _SUMMARY_LINE.match(line)
        if match:
            self.summary[_SUMMARY_KEY[match.group(2)]] = int(match.group(1))
        return match

    def _hpl_error(self, line):
        """HPL ERROR's first line names where; the >>> line after it says what."""
        match = _HPL_ERROR.match(line)
        if match:
            self._pending_error = "HPL ERROR in %s (process %s, line %s)" % (match.group(3), match.group(1), match.group(2))
            return True
        match = _HPL_ERROR_TEXT.match(line)
        if match and self._pending_error:
            self._fault('hpl_error', "%s: %s" % (self._pending_error, match.group(1)))
            self._pending_error = None
            return True
        return False

    def _hpcc_start(self, line):
        if _HPCC_SECTION.match(line):
            self._section, self.hpcc = 'hpcc', {}
            return True
        return False

    def _hpcc_line(self, line):
        if _HPCC_END.match(line):
            self._section = None
            return
        match = _HPCC_KEY.match(line.strip())
        if match:
            self.hpcc[match.group(1)] = _number(match.group(2))

    def _mpi_failure(self, line):
        for reason, pattern, message in _MPI_FAILURES:
            match = pattern.search(line)
            if match:
                self._fault(reason, message.format(*match.groups()))
                return

    def _fault(self, reason, message):
        """Keep each fault once. Open MPI says it lost a node, then which: the name replaces
        the general line, and a second node's general line adds nothing (its name follows)."""
        if any(fault['message'] == message for fault in self.faults):
            return
        if reason == 'daemon_lost':
            lost = [fault for fault in self.faults if fault['reason'] == reason]
            if message == _LOST_A_NODE and lost:
                return
            general = [fault for fault in lost if fault['message'] == _LOST_A_NODE]
            if general:
                general[0]['message'] = message
                return
        self.faults.append({'reason': reason, 'message': message})


def status_reason(status):
    """The reason that ``status`` itself stands for (``residual_failed`` for ``failed``), or None."""
    return _STATUS_FAULTS.get(status, (None,))[0]


def main_reason(faults):
    """The most telling reason among ``faults`` (see ``REASONS``), or None."""
    reasons = [fault['reason'] for fault in faults]
    return min(reasons, key=REASONS.index) if reasons else None


def _last_unchecked(results):
    # A residual line follows its own result row; rows of an unchecked run have none.
    if results and results[-1]['residual'] is None and results[-1]['status'] == 'unchecked':
        return results[-1]
    return None


def best_result(results):
    """The row with the most GFLOPS among those that did not fail their residual check."""
    candidates = [r for r in results if r['status'] != 'failed']
    if not candidates:
        return None
    return max(candidates, key=lambda r: r['gflops'])


def _overall_status(results, summary, faults):
    if any(r['status'] == 'failed' for r in results) or (summary and summary['failed']):
        return 'failed'
    if not results:
        return 'error'
    if summary is None or summary['skipped']:
        return 'incomplete'
    if any(r['status'] == 'unchecked' for r in results):
        return 'unchecked'
    return 'passed'
