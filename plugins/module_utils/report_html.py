# -*- coding: utf-8 -*-
# Copyright: picluster.hpl contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report's index.html: the best run, its charts, then the rest of report.md.

One page with no script and nothing fetched from elsewhere: it opens from the report
directory on any machine, and the PNGs sit beside it in ``charts/``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from html import escape

STYLE = '''
body { font-family: system-ui, sans-serif; max-width: 70em; margin: 2em auto; padding: 0 1em; color: #212121; }
figure { display: inline-block; width: calc(50% - 1.5em); margin: 0 1em 1.5em 0; vertical-align: top; }
figure img { width: 100%; border: 1px solid #e0e0e0; }
figcaption { font-size: 0.9em; color: #424242; }
@media (max-width: 60em) { figure { width: 100%; } }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #e0e0e0; padding: 0.25em 0.6em; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
tr.tainted { background: #ffebee; }
.note { color: #616161; }
'''


def page(found, figures=(), note=None):
    """The HTML page of ``found`` (report.sections) with ``figures`` (``[(file, title,
    caption)]``, paths relative to the page) after the best run, and ``note`` (why there
    are no charts) if any."""
    parts = ['<!DOCTYPE html>', '<html lang="en">', '<head>', '<meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">', '<title>HPL results</title>',
             '<style>%s</style>' % STYLE, '</head>', '<body>', '<h1>HPL results</h1>']
    # The headline first (the best run), then the charts, then the tables.
    headline, rest = (found[:1], found[1:]) if found and not found[0].get('title') else ([], found)
    for section in headline:
        parts += _section(section)
    if note:
        parts.append('<p class="note">%s</p>' % escape(note))
    for path, title, caption in figures:
        parts.append('<figure><img src="%s" alt="%s"><figcaption>%s</figcaption></figure>' % (
            escape(path), escape(title), escape(caption)))
    for section in rest:
        parts += _section(section)
    return '\n'.join(parts + ['</body>', '</html>']) + '\n'


def _section(section):
    parts = ['<h2>%s</h2>' % escape(section['title'])] if section.get('title') else []
    if section.get('lead'):
        parts.append('<p><strong>%s</strong></p>' % escape(section['lead']))
    parts += ['<p>%s</p>' % escape(paragraph) for paragraph in section.get('text') or []]
    if section.get('items'):
        parts.append('<ul>%s</ul>' % ''.join('<li>%s</li>' % escape(item) for item in section['items']))
    if section.get('table'):
        parts.append(_table(section['table']))
    return parts


def _table(table):
    head = ''.join('<th>%s</th>' % escape(cell) for cell in table['header'])
    rows = []
    for row, marked in zip(table['rows'], table['tainted']):
        cells = ''.join('<td%s>%s</td>' % (' class="number"' if right else '', escape(cell))
                        for cell, right in zip(row, table['right']))
        rows.append('<tr%s>%s</tr>' % (' class="tainted"' if marked else '', cells))
    return '<table><thead><tr>%s</tr></thead><tbody>%s</tbody></table>' % (head, ''.join(rows))
