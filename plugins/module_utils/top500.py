# -*- coding: utf-8 -*-
# Copyright: picluster.hpl contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where an HPL result would have ranked on each TOP500 list.

The lists June 1993 - November 2014 ship with the collection in
``data/top500_rmax_1993_2014.csv`` (list, rank, rmax_gflops, rpeak_gflops, taken from the
official list files). Later lists are known only by their #500 entry: far above any small
cluster, so a result there is reported as below the cut rather than given a guessed rank.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv
import math
import os

DATA_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'data',
                         'top500_rmax_1993_2014.csv')
LIST_SIZE = 500

# The #500 Rmax (GFLOPS) of later lists, as top500.org's list pages give it.
LATER_CUTS = (
    ('2019-06', 1022000.0),
    ('2020-06', 1230000.0),
    ('2020-11', 1320000.0),
)

_MONTHS = {'06': 'June', '11': 'November'}
_cache = {}


def load_lists(path=None):
    """Map each list ('YYYY-MM') to its Rmax values in GFLOPS, best first."""
    path = os.path.normpath(path or DATA_FILE)
    if path not in _cache:
        lists = {}
        with open(path) as handle:
            for row in csv.DictReader(handle):
                lists.setdefault(row['list'], []).append((int(row['rank']), float(row['rmax_gflops'])))
        _cache[path] = dict((name, [rmax for dummy, rmax in sorted(entries)])
                            for name, entries in lists.items())
    return _cache[path]


def list_name(list_id):
    """'1999-06' -> 'June 1999'."""
    year, month = list_id.split('-')
    return '%s %s' % (_MONTHS.get(month, month), year)


def top500_rank(gflops, path=None):
    """Rank ``gflops`` would have had on every list (None where it falls below #500).

    The rank is one more than the number of systems on that list with a higher Rmax, so a
    tie shares the listed system's rank.
    """
    try:
        gflops = float(gflops)
    except (TypeError, ValueError):
        raise ValueError("top500_rank needs a GFLOPS number, got %r" % (gflops,))
    if not math.isfinite(gflops) or gflops < 0:
        raise ValueError("top500_rank needs a finite, non-negative GFLOPS number, got %r" % (gflops,))
    placements = []
    for list_id, rmax in sorted(load_lists(path).items()):
        above = sum(1 for value in rmax if value > gflops)
        rank = above + 1 if above < LIST_SIZE else None
        placements.append({'list': list_id, 'rank': rank, 'cut_gflops': rmax[-1],
                           'in_top500': rank is not None})
    for list_id, cut in LATER_CUTS:
        # Only the cut is known for these lists: in or out, never a guessed rank.
        placements.append({'list': list_id, 'rank': None, 'cut_gflops': cut,
                           'in_top500': gflops >= cut})
    ranked = [p for p in placements if p['rank'] is not None]
    latest = ranked[-1] if ranked else None
    return {
        'gflops': gflops,
        'lists': placements,
        'latest_list': latest['list'] if latest else None,
        'latest_rank': latest['rank'] if latest else None,
        'best_rank': min(p['rank'] for p in ranked) if ranked else None,
        'summary': _summary(gflops, placements, latest),
    }


def _summary(gflops, placements, latest):
    if latest is None:
        return ("%.2f GFLOPS is below the #500 entry of every TOP500 list since June 1993 "
                "(%.1f GFLOPS then)" % (gflops, placements[0]['cut_gflops']))
    following = [p for p in placements if p['list'] > latest['list']]
    later_in = [p for p in following if p['in_top500']]
    if later_in:
        return ("%.2f GFLOPS would have ranked #%d on the %s TOP500 list and is above the #500 "
                "entry of the %s list" % (gflops, latest['rank'], list_name(latest['list']),
                                          list_name(later_in[-1]['list'])))
    text = "%.2f GFLOPS would have ranked #%d on the %s TOP500 list" % (
        gflops, latest['rank'], list_name(latest['list']))
    if following:
        text += " (it fell below the #500 entry, %.1f GFLOPS, in %s)" % (
            following[0]['cut_gflops'], list_name(following[0]['list']))
    return text
