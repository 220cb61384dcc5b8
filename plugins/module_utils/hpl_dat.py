# -*- coding: utf-8 -*-
# Copyright: picluster.hpl contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""HPL.dat: render it from parameters and read it back.

HPL.dat is positional: 31 lines, each starting with its value(s), the rest of the line a
comment. Lists (Ns, NBs, grids and algorithm variants) make a test matrix: HPL runs every
combination. hpcc's hpccinf.txt carries the same 31 lines first.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import re

FACTS = ('left', 'crout', 'right')
BCASTS = ('1rg', '1rM', '2rg', '2rM', 'Lng', 'LnM')
PMAPS = ('row', 'column')
SWAPS = ('binary-exchange', 'long', 'mix')
MAX_LIST = 20  # HPL's own limit on the length of each list

# The netlib TUNING starting point (variant WR11C2R4, threshold 16).
DEFAULTS = {
    'output_file': 'HPL.out',
    'device_out': 6,
    'ns': [1000],
    'nbs': [192],
    'pmap': 'row',
    'grids': [[1, 1]],
    'threshold': 16.0,
    'pfacts': ['right'],
    'nbmins': [4],
    'ndivs': [2],
    'rfacts': ['crout'],
    'bcasts': ['1rM'],
    'depths': [1],
    'swap': 'mix',
    'swap_threshold': 64,
    'l1_transposed': True,
    'u_transposed': True,
    'equilibration': True,
    'alignment': 8,
}


# The comments HPL's own sample HPL.dat carries on each counted list's two lines.
LABELS = {
    'ns': ('# of problems sizes (N)', 'Ns'),
    'nbs': ('# of NBs', 'NBs'),
    'pfacts': ('# of panel fact', 'PFACTs (0=left, 1=Crout, 2=Right)'),
    'nbmins': ('# of recursive stopping criterium', 'NBMINs (>= 1)'),
    'ndivs': ('# of panels in recursion', 'NDIVs'),
    'rfacts': ('# of recursive panel fact.', 'RFACTs (0=left, 1=Crout, 2=Right)'),
    'bcasts': ('# of broadcast', 'BCASTs (0=1rg,1=1rM,2=2rg,3=2rM,4=Lng,5=LnM)'),
    'depths': ('# of lookahead depth', 'DEPTHs (>=0)'),
}


class HplDatError(ValueError):
    """An HPL.dat that HPL would reject; the message says which line or value."""


def normalise(params=None):
    """Every HPL.dat parameter for ``params`` (missing keys take :data:`DEFAULTS`), checked
    and in one form: lists as lists, variants by name. What the results document records,
    and what :func:`parse_hpl_dat` reads back from the rendered text."""
    p = dict(DEFAULTS)
    p.update(dict((k, v) for k, v in (params or {}).items() if v is not None))
    unknown = sorted(set(p) - set(DEFAULTS))
    if unknown:
        raise HplDatError("unknown HPL.dat parameter(s) %s; known: %s"
                          % (', '.join(unknown), ', '.join(sorted(DEFAULTS))))

    def numbers(key, minimum=1):
        return [_positive(v, key, minimum) for v in _list(p[key], key)]

    def names(key, choices):
        return [choices[_index(v, choices, key)] for v in _list(p[key], key)]

    return {
        'output_file': _file_name(p['output_file']), 'device_out': _positive(p['device_out'], 'device_out', minimum=0),
        'ns': numbers('ns'), 'nbs': numbers('nbs'), 'pmap': PMAPS[_index(p['pmap'], PMAPS, 'pmap')],
        'grids': [_grid(g) for g in _list(p['grids'], 'grids')], 'threshold': _finite(p['threshold'], 'threshold'),
        'pfacts': names('pfacts', FACTS), 'nbmins': numbers('nbmins'), 'ndivs': numbers('ndivs', minimum=2),
        'rfacts': names('rfacts', FACTS), 'bcasts': names('bcasts', BCASTS), 'depths': numbers('depths', minimum=0),
        'swap': SWAPS[_index(p['swap'], SWAPS, 'swap')],
        'swap_threshold': _positive(p['swap_threshold'], 'swap_threshold', minimum=0),
        'l1_transposed': _flag(p['l1_transposed'], 'l1_transposed'), 'u_transposed': _flag(p['u_transposed'], 'u_transposed'),
        'equilibration': _flag(p['equilibration'], 'equilibration'), 'alignment': _positive(p['alignment'], 'alignment'),
    }


def render_hpl_dat(params=None, header='HPLinpack benchmark input file'):
    """HPL.dat text for ``params`` (missing keys take :data:`DEFAULTS`)."""
    p = normalise(params)

    def counted(key, encode=str):
        count_label, values_label = LABELS[key]
        return [(len(p[key]), count_label), (' '.join(encode(v) for v in p[key]), values_label)]

    lines = [
        (header, ''),
        ('Rendered by picluster.hpl', ''),
        (p['output_file'], 'output file name (if any)'),
        (p['device_out'], 'device out (6=stdout,7=stderr,file)'),
    ]
    lines += counted('ns') + counted('nbs')
    lines.append((PMAPS.index(p['pmap']), 'PMAP process mapping (0=Row-,1=Column-major)'))
    lines.append((len(p['grids']), '# of process grids (P x Q)'))
    lines.append((' '.join(str(g[0]) for g in p['grids']), 'Ps'))
    lines.append((' '.join(str(g[1]) for g in p['grids']), 'Qs'))
    lines.append((repr(p['threshold']), 'threshold'))
    lines += counted('pfacts', lambda v: str(FACTS.index(v))) + counted('nbmins') + counted('ndivs')
    lines += counted('rfacts', lambda v: str(FACTS.index(v))) + counted('bcasts', lambda v: str(BCASTS.index(v)))
    lines += counted('depths')
    lines.append((SWAPS.index(p['swap']), 'SWAP (0=bin-exch,1=long,2=mix)'))
    lines.append((p['swap_threshold'], 'swapping threshold'))
    lines.append((0 if p['l1_transposed'] else 1, 'L1 in (0=transposed,1=no-transposed) form'))
    lines.append((0 if p['u_transposed'] else 1, 'U  in (0=transposed,1=no-transposed) form'))
    lines.append((1 if p['equilibration'] else 0, 'Equilibration (0=no,1=yes)'))
    lines.append((p['alignment'], 'memory alignment in double (> 0)'))
    return ''.join('%-16s %s\n' % (value, comment) if comment else '%s\n' % value
                   for value, comment in lines)


def render_hpccinf(params=None, ptrans_ns=None, ptrans_nbs=None):
    """hpcc's hpccinf.txt: the 31 HPL.dat lines, a separator, then PTRANS's sizes.

    PTRANS runs on its own, smaller matrices; by default one of half the largest N.
    """
    text = render_hpl_dat(params, header='HPLinpack benchmark input file (hpcc)')
    p = normalise(params)
    ns = [_positive(v, 'ptrans_ns') for v in _list(ptrans_ns or [max(max(p['ns']) // 2, 1)], 'ptrans_ns')]
    nbs = [_positive(v, 'ptrans_nbs') for v in _list(ptrans_nbs or p['nbs'][:1], 'ptrans_nbs')]
    return text + ''.join('%-16s %s\n' % (value, comment) for value, comment in (
        ('####', 'line 32 separates HPL from PTRANS and is not read'),
        (len(ns), 'number of additional problem sizes for PTRANS'),
        (' '.join(str(n) for n in ns), 'values of N'),
        (len(nbs), 'number of additional blocking sizes for PTRANS'),
        (' '.join(str(n) for n in nbs), 'values of NB'),
    ))


def parse_hpl_dat(text):
    """Parameters (as :data:`DEFAULTS` names them) read from HPL.dat or hpccinf.txt text."""
    lines = (text or '').splitlines()
    if len(lines) < 31:
        raise HplDatError("HPL.dat has %d lines; HPL needs 31" % len(lines))
    words = [line.split() for line in lines]
    cursor = [2]

    def take(count=1, what='value'):
        row = cursor[0]
        cursor[0] += 1
        values = words[row][:count]
        if len(values) < count:
            raise HplDatError("HPL.dat line %d (%s) needs %d value(s): %r"
                              % (row + 1, what, count, lines[row]))
        return values

    def take_list(what, convert=int):
        count = int(take(1, '# of ' + what)[0])
        return [convert(v) for v in take(count, what)]

    params = {'output_file': take(1, 'output file')[0], 'device_out': int(take(1, 'device out')[0])}
    params['ns'] = take_list('ns')
    params['nbs'] = take_list('nbs')
    params['pmap'] = PMAPS[int(take(1, 'pmap')[0])]
    grid_count = int(take(1, '# of process grids')[0])
    ps = [int(v) for v in take(grid_count, 'Ps')]
    qs = [int(v) for v in take(grid_count, 'Qs')]
    params['grids'] = [[p, q] for p, q in zip(ps, qs)]
    params['threshold'] = float(take(1, 'threshold')[0])
    params['pfacts'] = take_list('pfacts', lambda v: FACTS[int(v)])
    params['nbmins'] = take_list('nbmins')
    params['ndivs'] = take_list('ndivs')
    params['rfacts'] = take_list('rfacts', lambda v: FACTS[int(v)])
    params['bcasts'] = take_list('bcasts', lambda v: BCASTS[int(v)])
    params['depths'] = take_list('depths')
    params['swap'] = SWAPS[int(take(1, 'swap')[0])]
    params['swap_threshold'] = int(take(1, 'swapping threshold')[0])
    params['l1_transposed'] = take(1, 'L1')[0] == '0'
    params['u_transposed'] = take(1, 'U')[0] == '0'
    params['equilibration'] = take(1, 'equilibration')[0] == '1'
    params['alignment'] = int(take(1, 'alignment')[0])
    return params


def count_tests(params):
    """How many tests an HPL.dat runs: the product of every list's length."""
    p = normalise(params)
    count = 1
    for key in ('ns', 'nbs', 'grids', 'pfacts', 'nbmins', 'ndivs', 'rfacts', 'bcasts', 'depths'):
        count *= len(p[key])
    return count


def _list(value, key):
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    if not values:
        raise HplDatError("%s must list at least one value" % key)
    if len(values) > MAX_LIST:
        raise HplDatError("%s lists %d values; HPL reads at most %d" % (key, len(values), MAX_LIST))
    return values


def _grid(value):
    try:
        p, q = (int(v) for v in value)
    except (TypeError, ValueError):
        raise HplDatError("each grid must be [P, Q], got %r" % (value,))
    if p < 1 or q < 1:
        raise HplDatError("grid %r: P and Q must be at least 1" % (value,))
    return [p, q]


def _index(value, names, key):
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(names):
        return value
    lowered = [n.lower() for n in names]
    if str(value).lower() in lowered:
        return lowered.index(str(value).lower())
    raise HplDatError("%s value %r is not one of %s" % (key, value, ', '.join(names)))


def _file_name(value):
    """HPL reads the output file's name as one word: no spaces, newlines or shell characters."""
    text = str(value)
    if not re.fullmatch(r'[A-Za-z0-9_/][A-Za-z0-9._/-]{0,127}', text):
        raise HplDatError("output_file %r must be a file name of letters, digits, '.', '_', '-' or '/', "
                          "for example HPL.out" % (value,))
    return text


def _finite(value, key):
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float('nan')
    if isinstance(value, bool) or not math.isfinite(number):
        raise HplDatError("%s value %r must be a number, for example 16.0" % (key, value))
    return number


def _flag(value, key):
    """true/false, also as the text -e key=value gives (``"false"`` is false)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ('true', 'yes', 'on', '1'):
        return True
    if text in ('false', 'no', 'off', '0'):
        return False
    raise HplDatError("%s value %r must be true or false" % (key, value))


def _positive(value, key, minimum=1):
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise HplDatError("%s value %r is not a whole number" % (key, value))
    if number < minimum or isinstance(value, bool) or number != float(value):
        raise HplDatError("%s value %r must be a whole number >= %d" % (key, value, minimum))
    return number
