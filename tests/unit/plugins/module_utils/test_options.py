import glob
import os
import re

import pytest
import yaml

from ansible_collections.picluster.hpl.plugins.module_utils import options

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
SPEC = {
    'flag': {'type': 'bool', 'default': True},
    'seconds': {'type': 'float'},
    'count': {'type': 'int', 'default': 3},
    'args': {'type': 'list', 'elements': 'str', 'default': []},
    'table': {'type': 'dict', 'default': {}},
    'name': {'type': 'str', 'default': 'performance'},
}


@pytest.mark.parametrize('text,value', [('false', False), ('no', False), ('0', False), ('true', True), ('yes', True)])
def test_switches_from_text(text, value):
    assert options.typed_options(SPEC, {'flag': text})['flag'] is value


def test_numbers_lists_and_dicts_from_text():
    typed = options.typed_options(SPEC, {'seconds': '60', 'count': '7', 'args': '--bind-to,core',
                                         'table': '{"grids": [[1, 2]]}'})
    wanted = (60.0, 7, ['--bind-to', 'core'], {'grids': [[1, 2]]})
    assert (typed['seconds'], typed['count'], typed['args'], typed['table']) == wanted
    assert options.typed_options(SPEC, {'args': '["a b", "c"]'})['args'] == ['a b', 'c']


def test_null_words_are_null_for_text_and_a_null_number_or_switch_as_text_is_refused():
    typed = options.typed_options(SPEC, {'name': '~', 'args': 'null', 'flag': None, 'seconds': None})
    assert (typed['name'], typed['args'], typed['flag'], typed['seconds']) == (None, None, None, None)
    assert options.typed_options(SPEC, {'name': ''})['name'] == ''
    # Ansible's own check of a role's arguments refuses these; so does the early check.
    for name, text in (('seconds', 'null'), ('count', ''), ('flag', '~')):
        with pytest.raises(options.OptionsError, match="'%s'" % name):
            options.typed_options(SPEC, {name: text})


def test_empty_text_is_an_empty_list_or_dict():
    typed = options.typed_options(SPEC, {'args': '', 'table': ' '})
    assert (typed['args'], typed['table']) == ([], {})


def test_defaults_fill_what_is_not_given_and_unknown_names_are_ignored():
    typed = options.typed_options(SPEC, {'other': 1})
    assert typed == {'flag': True, 'seconds': None, 'count': 3, 'args': [], 'table': {}, 'name': 'performance'}


def test_what_cannot_be_typed_is_named():
    with pytest.raises(options.OptionsError, match="'count'.*int") as error:
        options.typed_options(SPEC, {'count': '2.5', 'flag': 'maybe'})
    assert "'flag'" in str(error.value)


def test_near_misses_name_the_closest_option():
    known = ['benchmark_memory_fraction', 'benchmark_max_seconds', 'mpi_implementation']
    names = ['hpl_memory_fraction', 'benchmark_max_seconds', 'mpi_zzz', 'other', 'hpl_node_ranks']
    assert options.near_misses(names, known, ['benchmark_', 'hpl_', 'mpi_']) == [
        ('hpl_memory_fraction', 'benchmark_memory_fraction'), ('mpi_zzz', None)]


def role_options():
    names = set()
    for path in glob.glob(os.path.join(ROOT, 'roles', '*', 'meta', 'argument_specs.yml')):
        for entry in yaml.safe_load(open(path))['argument_specs'].values():
            names.update(entry['options'])
    return names


def facts_set_by_roles():
    names = set()
    for path in glob.glob(os.path.join(ROOT, 'roles', '*', 'tasks', '*.yml')):
        for task in yaml.safe_load(open(path)) or []:
            names.update(name for name in task.get('ansible.builtin.set_fact', {}) if not name.startswith('_'))
    return names - {'picluster_hpl_run'}


def test_not_options_are_what_the_collection_sets_or_reads_and_no_option():
    assert not options.NOT_OPTIONS & role_options()
    assert facts_set_by_roles() <= options.NOT_OPTIONS
    code = ''
    for pattern in ('roles/*/tasks/*.yml', 'playbooks/*.yml', 'plugins/module_utils/*.py'):
        for path in glob.glob(os.path.join(ROOT, pattern)):
            code += open(path).read()
    hosts_vars = set(re.findall(r'hosts: "\{\{ (\w+) \|', code))
    assert hosts_vars - role_options() <= options.NOT_OPTIONS
    for name in options.NOT_OPTIONS:
        assert re.search(r'\b%s\b' % name, code), '%s is in NOT_OPTIONS but nothing sets or reads it' % name
