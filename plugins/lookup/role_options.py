# -*- coding: utf-8 -*-
# Copyright: picluster.hpl contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: role_options
author: picluster.hpl developers (@picluster-hpl)
short_description: A role's options, typed as its argument spec declares them
description:
  - Reads the options that a role of this collection declares in its
    C(meta/argument_specs.yml), takes each one's value from the variables in scope, and
    converts it to the declared type, so that an option means the same from the inventory,
    C(-e key=value), C(-e '{json}') or C(-e @file.yml). C(-e benchmark_governor_persist=false)
    is the boolean C(false), C(-e benchmark_max_seconds=60) the number 60.
  - The words C(null) and C(~) are null for text, lists and dicts, as YAML reads them;
    empty text is an empty list or dict. A number or a switch given as such text is
    refused naming the option, as Ansible's own check of the role's arguments refuses it,
    so a null number goes as JSON or YAML (C(-e) with a JSON object mapping the option to
    null).
  - Warns about every variable that starts like one of the collection's options
    (C(benchmark_), C(hpl_), C(mpi_), C(blas_) ...) but is none of them, naming the closest
    real one.
  - Every role of the collection sets its options this way as its first task, as the fact
    C(_<role>) with the role's prefix left off (C(_benchmark.max_seconds)).
options:
  _terms:
    description: The role's name, for example C(benchmark).
    required: true
    type: list
    elements: str
  entry_point:
    description: The argument spec entry point whose options to read.
    type: str
    default: main
  host:
    description:
      - Read the options another host sets (its inventory variables, and C(-e)), for a role
        that takes per-node settings, such as C(picluster.hpl.pxe_server) reading each
        node's C(sd_image_*). Only the options that host sets (not null) are returned, typed;
        the caller falls back to its own for the others.
    type: str
"""

EXAMPLES = r"""
- name: Read the options, typed as meta/argument_specs.yml declares them
  ansible.builtin.set_fact:
    _benchmark: "{{ lookup('picluster.hpl.role_options', 'benchmark') }}"

- name: The typed value of benchmark_max_seconds, whether it came from -e or the inventory
  ansible.builtin.debug:
    msg: "{{ lookup('picluster.hpl.role_options', 'benchmark').max_seconds }}"

- name: The user the cluster's last node gets on its SD card or netboot root, if it sets one
  ansible.builtin.debug:
    msg: "{{ lookup('picluster.hpl.role_options', 'sd_image', host=groups['cluster'] | last).user | default('the default') }}"
"""

RETURN = r"""
_raw:
  description: The role's options by name without the role's prefix, each typed.
  type: list
  elements: dict
"""

import functools
import glob
import os

import yaml

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display
from ansible_collections.picluster.hpl.plugins.module_utils import options

display = Display()
ROLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), 'roles')


@functools.lru_cache(maxsize=None)
def argument_specs():
    """{role: {entry point: spec}} for every role of the collection (read once)."""
    specs = {}
    for path in sorted(glob.glob(os.path.join(ROLES, '*', 'meta', 'argument_specs.yml'))):
        with open(path) as handle:
            specs[path.split(os.sep)[-3]] = yaml.safe_load(handle)['argument_specs']
    return specs


def warn_near_misses(variables, specs):
    known = set(name for entries in specs.values() for entry in entries.values()
                for name in entry.get('options', {}))
    prefixes = set(role.split('_')[0] + '_' for role in specs)
    for name, close in options.near_misses(variables, known, prefixes):
        display.warning('%s is set, but no role of picluster.hpl reads it%s'
                        % (name, '; did you mean %s?' % close if close else '.'))


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        specs = argument_specs()
        if len(terms) != 1 or terms[0] not in specs:
            raise AnsibleLookupError('role_options takes one role of picluster.hpl (%s), not %r'
                                     % (', '.join(sorted(specs)), terms))
        role = terms[0]
        spec = specs[role].get(self.get_option('entry_point'), {}).get('options', {})
        host = self.get_option('host')
        if host:
            if host not in variables.get('hostvars', {}):
                raise AnsibleLookupError('%r is not in the inventory: add it (a node to set up must be one of its hosts)' % host)
            variables = variables['hostvars'][host]
            # What the host sets, not all the role needs: nothing is required here.
            spec = dict((name, dict(option, required=False)) for name, option in spec.items())
        values = self._templar.template(dict((name, variables[name]) for name in spec if name in variables))
        try:
            typed = options.typed_options(spec, values)
        except options.OptionsError as exc:
            raise AnsibleLookupError('the options of the %s role%s: %s' % (role, ' for %s' % host if host else '', exc))
        if host:
            typed = dict((name, value) for name, value in typed.items() if name in values and value is not None)
        else:
            warn_near_misses(variables, specs)
        prefix = role + '_'
        return [dict((name[len(prefix):] if name.startswith(prefix) else name, value)
                     for name, value in typed.items())]
