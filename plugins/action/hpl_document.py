# -*- coding: utf-8 -*-
# Copyright: picluster.hpl contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The results document of a run, made on the controller (see plugins/modules/hpl_document.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible import constants as C
from ansible.module_utils.common.text.converters import to_text
from ansible.parsing.ajson import AnsibleJSONEncoder
from ansible.plugins.action import ActionBase
from ansible.plugins.loader import callback_loader
from ansible_collections.picluster.hpl.plugins.module_utils import progress, report
from ansible_collections.picluster.hpl.plugins.module_utils.results import (
    headline, run_document, write_document)

CALLBACK = 'picluster.hpl.hpl_results'


def results_dir():
    """The callback's results_dir setting, resolved as the callback resolves it."""
    callback = callback_loader.get(CALLBACK)
    callback.set_options()
    return os.path.abspath(os.path.expanduser(callback.get_option('results_dir')))


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        dummy, args = self.validate_argument_spec(argument_spec={'run': {'type': 'dict'}, 'expect': {'type': 'dict'}})
        enabled = CALLBACK in (C.CALLBACKS_ENABLED or [])
        result.update(changed=False, callback_enabled=enabled, results_dir=results_dir())
        if args['expect']:
            return dict(result, expected=self._expect(result['results_dir'], args['expect']))
        if not args['run']:
            if not enabled:
                self._display.warning('The %s callback is not enabled (callbacks_enabled in ansible.cfg, or '
                                      'ANSIBLE_CALLBACKS_ENABLED): the benchmark writes its results into %s itself.'
                                      % (CALLBACK, result['results_dir']))
            return result
        try:
            hostvars = task_vars['hostvars']
            document = run_document(args['run'], task_vars['inventory_hostname'],
                                    lambda name: hostvars[name].get('ansible_facts') if name in hostvars else {})
        except (TypeError, ValueError) as exc:
            return dict(result, failed=True, msg='hpl_document: %s' % to_text(exc))
        result.update(document=document, headline=headline(document))
        if not enabled and not self._task.check_mode:
            self._write(result, document)
        return result

    def _write(self, result, document):
        try:
            result['path'] = write_document(result['results_dir'], document, encoder=AnsibleJSONEncoder)
            result['changed'] = True
        except (IOError, OSError) as exc:
            self._display.warning('hpl_document: could not write hpl-%s.json in %s: %s (the run\'s output is still '
                                  'on the head node)' % (document['id'], result['results_dir'], to_text(exc)))

    @staticmethod
    def _expect(directory, expect):
        """How long the run of expect's hpl_dat on its hosts should take: at its time budget's
        calibrated rate, else at the rate of the recorded run on those nodes nearest in size."""
        params, calibration = expect.get('hpl_dat') or {}, expect.get('time_budget')
        previous = None
        try:
            if not calibration:
                try:
                    documents = report.load(directory)[0]
                except report.ReportError:
                    documents = []
                previous = progress.nearest_run(documents, expect.get('hosts') or [], max(int(n) for n in params['ns']))
            return progress.expect(params, calibration, previous)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            # An estimate is never worth stopping a run for.
            return {'seconds': None, 'gflops': None, 'source': None, 'tests': None, 'ends': None,
                    'text': 'no estimate of its time (%s)' % to_text(exc)}
