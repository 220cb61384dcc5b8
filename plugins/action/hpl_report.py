# -*- coding: utf-8 -*-
# Copyright: picluster.hpl contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report of a results directory, written on the controller (see plugins/modules/hpl_report.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible_collections.picluster.hpl.plugins.action.hpl_document import results_dir
from ansible_collections.picluster.hpl.plugins.module_utils.report import ReportError, write

SPEC = {
    'directory': {'type': 'path'},
    'out': {'type': 'path'},
    'compare': {'type': 'list', 'elements': 'str'},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        dummy, args = self.validate_argument_spec(argument_spec=SPEC)
        if args['compare'] is not None and len(args['compare']) != 2:
            return dict(result, failed=True, msg='hpl_report: compare takes two run ids, before and after (got %d)'
                        % len(args['compare']))
        try:
            done = write(args['directory'] or results_dir(), args['out'], args['compare'], check=self._task.check_mode)
        except (ReportError, IOError, OSError) as exc:
            return dict(result, failed=True, msg='hpl_report: %s' % to_text(exc))
        for problem in done['problems']:
            self._display.warning('hpl_report: skipped %s: %s' % (problem['path'], problem['reason']))
        if done['note']:
            self._display.warning('hpl_report: %s' % done['note'])
        result.update(done, changed=bool(done['changed_files']))
        return result
