# -*- coding: utf-8 -*-
# Copyright: picluster.hpl contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Role options typed as their argument specs declare them, wherever they were set.

Ansible checks a role's options against ``meta/argument_specs.yml`` but hands the role the
values as they came: ``-e benchmark_governor_persist=false`` arrives as the string
``'false'``, which Jinja finds true. ``typed_options`` converts every value the way the
spec's ``type`` says, with Ansible's own validator, so an option means the same from the
inventory, ``-e key=value``, ``-e '{json}'`` or ``-e @file.yml``. ``near_misses`` finds
variables that look like one of the collection's options but are none of them (a typo,
or a name from another project), with the closest real name.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import json

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

# What YAML reads as null; -e key=value hands these over as strings.
NULL_WORDS = frozenset(('null', 'Null', 'NULL', '~'))

# Variables of ours that are not role options: read per node by a role from hostvars, named
# by a playbook's hosts line, or set by a role for the next one. tests/unit checks this list
# against the roles and playbooks, so it cannot drift.
NOT_OPTIONS = frozenset((
    'hpl_node_address', 'hpl_node_memory_mb', 'hpl_node_ranks',  # per node, read by hpl_nodes
    'netboot_serial', 'netboot_mac', 'netboot_address',  # per node, read by pxe_server
    'netboot_group', 'pxe_server_group', 'sd_image_group',  # playbooks' hosts
    'mpi_installed', 'blas_installed', 'hpl_installed', 'slurm_installed', 'sd_image_node', 'sd_image_verified',  # facts
))


class OptionsError(ValueError):
    """Values the spec cannot type; the message names each option and what is wrong."""


EMPTY = {'list': list, 'dict': dict}


def _is_null(value, option):
    """None; for text, a list or a dict, a word YAML reads as null; for a path also empty
    text. A number or a switch given as such text is left to the validator, which refuses
    it naming the option, as Ansible's own check of a role's arguments does."""
    if not isinstance(value, str):
        return value is None
    kind = option.get('type', 'str')
    return (value in NULL_WORDS and kind in ('str', 'raw', 'path', 'list', 'dict')) or (value == '' and kind == 'path')


def _from_text(value, option):
    """A list or dict written as JSON on the command line, as YAML flow style reads it;
    empty text is an empty one (Ansible's own check would make [''] of it)."""
    kind = option.get('type')
    if not isinstance(value, str) or kind not in EMPTY:
        return value
    if not value.strip():
        return EMPTY[kind]()
    if value.strip()[:1] in '[{':
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def typed_options(spec, values):
    """The options of ``spec`` (an argument spec's options) typed from ``values``.

    Options missing from ``values`` take the spec's default (else None); a null stays null.
    Raises OptionsError naming every value that cannot be typed.
    """
    given = dict((name, value) for name, value in values.items() if name in spec)
    nulls = [name for name, value in given.items() if _is_null(value, spec[name])]
    present = dict((name, _from_text(value, spec[name])) for name, value in given.items() if name not in nulls)
    result = ArgumentSpecValidator(spec).validate(present)
    if result.error_messages:
        raise OptionsError('; '.join(result.error_messages))
    typed = dict(result.validated_parameters)
    typed.update(dict.fromkeys(nulls))
    return typed


def near_misses(names, known, prefixes):
    """(name, closest known name or None) for each of ``names`` that starts with one of
    ``prefixes`` but is neither a known option nor in NOT_OPTIONS, sorted by name."""
    known = set(known) | NOT_OPTIONS
    found = []
    for name in sorted(names):
        if name.startswith(tuple(prefixes)) and name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
            found.append((name, close[0] if close else None))
    return found
