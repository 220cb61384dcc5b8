# -*- coding: utf-8 -*-
# Copyright: picluster.hpl contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: hpl_results
type: aggregate
short_description: Write every HPL benchmark run as one JSON document
version_added: 0.1.0
description:
  - Collects the facts of every host (architecture, cores, memory, OS, kernel, and the
    C(picluster_hpl_node) fact of M(picluster.hpl.node_facts) - model, boot medium, peak)
    and, whenever a task sets the C(picluster_hpl_run) fact, writes that run as one JSON
    document into O(results_dir) - at once, so a play that fails later keeps it.
  - The document holds when and where it ran, the nodes, MPI, BLAS and HPL with versions,
    the HPL.dat parameters, the sizing, every result row with its residual check, the best
    result, efficiency against Rpeak (and against measured DGEMM), the TOP500 placement and
    the output text itself. Its JSON Schema is
    C(schemas/hpl_results.schema.json) in the collection.
  - The C(picluster_hpl_run) fact is a mapping with C(document), a results document that
    M(picluster.hpl.hpl_document) made (the picluster.hpl.benchmark role sets it so), or
    with C(output) (the text of the xhpl or hpcc run) and optionally C(hosts), C(head),
    C(hpl_dat) (the parameters, or the input file's text), C(mpi),
    C(blas), C(hpl), C(sizing) (what M(picluster.hpl.hpl_params) returned), C(command),
    C(rc), C(started), C(finished), C(rpeak_gflops) (overrides the peak from the nodes)
    and C(dgemm_gflops) (the cluster's measured DGEMM rate; hpcc output brings its own).
  - A document that cannot be written is a warning, never a failed play.
  - While a benchmark runs, it shows the progress the role's wait reports at every poll
    (the C(hpl-progress) line) - the test running of how many, HPL's own progress report
    where the build has one, and the time gone against the time expected.
requirements:
  - enable in C(ansible.cfg) with C(callbacks_enabled = picluster.hpl.hpl_results)
options:
  results_dir:
    description:
      - Directory for the JSON documents, created if missing.
      - A relative path set in C(ansible.cfg) is taken from that file's directory (as Ansible
        takes every path setting there); from the environment, or the default, it is taken
        from the directory ansible-playbook runs in.
      - M(picluster.hpl.hpl_document) writes into the same directory when this callback is
        not enabled.
    type: path
    default: results
    env:
      - name: PICLUSTER_HPL_RESULTS_DIR
    ini:
      - section: picluster_hpl
        key: results_dir
'''

from ansible.module_utils.common.text.converters import to_text
from ansible.parsing.ajson import AnsibleJSONEncoder
from ansible.plugins.callback import CallbackBase
from ansible_collections.picluster.hpl.plugins.module_utils.progress import progress_text
from ansible_collections.picluster.hpl.plugins.module_utils.results import (
    headline, run_document, write_document)

RUN_FACT = 'picluster_hpl_run'


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'picluster.hpl.hpl_results'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None):
        super(CallbackModule, self).__init__(display=display)
        self._facts = {}
        self._written = []
        self._results_dir = 'results'

    def set_options(self, task_keys=None, var_options=None, direct=None):
        super(CallbackModule, self).set_options(task_keys=task_keys, var_options=var_options, direct=direct)
        self._results_dir = self.get_option('results_dir')

    def v2_runner_on_ok(self, result):
        facts = result._result.get('ansible_facts')
        if not isinstance(facts, dict):
            return
        host = result._host.get_name()
        self._facts.setdefault(host, {}).update(
            (key, value) for key, value in facts.items() if key != RUN_FACT)
        if RUN_FACT in facts:
            self._record_run(host, facts[RUN_FACT])

    def v2_runner_retry(self, result):
        # A running HPL's hpl-progress line, or a module's own (picluster.hpl.atlas_build's).
        text = progress_text(to_text(result._result.get('stdout') or '')) or result._result.get('progress')
        if text:
            self._display.display('%s: %s' % (result._host.get_name(), text))

    def _record_run(self, host, run):
        # A document made by picluster.hpl.hpl_document, whose task showed its summary; or a
        # run record to make one from.
        document = run.get('document') if isinstance(run, dict) else None
        if not isinstance(document, dict):
            try:
                document = run_document(run, host, self._facts.get)
            except (AttributeError, TypeError, ValueError) as exc:
                self._display.warning("hpl_results: cannot make a results document from %s's %s fact: %s"
                                      % (host, RUN_FACT, to_text(exc)))
                return
            self._display.display(headline(document))
        path = self._write(document)
        if path:
            self._display.display("HPL results: %s" % path)

    def _write(self, document):
        try:
            path = write_document(self._results_dir, document, encoder=AnsibleJSONEncoder)
        except (IOError, OSError) as exc:
            self._display.warning("hpl_results: could not write hpl-%s.json in %s: %s (the run's output is "
                                  "still on the head node)" % (document.get('id'), self._results_dir, to_text(exc)))
            return None
        self._written.append(path)
        return path

    def v2_playbook_on_stats(self, stats):
        if self._written:
            self._display.display("HPL results written: %s" % ', '.join(self._written))
