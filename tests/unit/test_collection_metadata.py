"""galaxy.yml and meta/runtime.yml say what the content needs: every collection that a role,
playbook or plugin uses is declared, and the oldest ansible-core is the one tested."""

import glob
import os
import re

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OURS = {'picluster.hpl', 'ansible.builtin', 'ansible.legacy'}
FQCN = r'([a-z0-9_]+\.[a-z0-9_]+)\.[a-z0-9_]+'
# FQCNs inside Jinja: lookups and queries, filters and tests.
IN_JINJA = [re.compile(r"\b(?:lookup|query|q)\(\s*['\"]%s['\"]" % FQCN),
            re.compile(r'\|\s*%s\b' % FQCN),
            re.compile(r'\bis\s+(?:not\s+)?%s\b' % FQCN)]


def content_files(*patterns):
    for pattern in patterns:
        yield from sorted(glob.glob(os.path.join(ROOT, pattern), recursive=True))


def tasks_of(data):
    """Every task (or play, or block) mapping in a loaded YAML file."""
    if isinstance(data, list):
        for item in data:
            yield from tasks_of(item)
    elif isinstance(data, dict):
        yield data
        for key in ('tasks', 'pre_tasks', 'post_tasks', 'handlers', 'block', 'rescue', 'always'):
            yield from tasks_of(data.get(key))


def collections_used():
    """{namespace.collection: [where]} for every FQCN in the roles, playbooks and plugins."""
    used = {}
    yaml_files = list(content_files('roles/*/tasks/*.yml', 'roles/*/handlers/*.yml', 'playbooks/*.yml', 'site.yml'))
    for path in yaml_files:
        with open(path) as handle:
            text = handle.read()
        for task in tasks_of(yaml.safe_load(text)):
            for key, value in task.items():
                found = re.fullmatch(FQCN, key)
                if found:
                    used.setdefault(found.group(1), []).append(path)
                if key.endswith(('include_role', 'import_role')) and isinstance(value, dict):
                    used.setdefault(value['name'].rsplit('.', 1)[0], []).append(path)
    for path in yaml_files + list(content_files('roles/*/templates/*.j2', 'roles/*/vars/*.yml',
                                                'roles/*/defaults/*.yml')):
        with open(path) as handle:
            text = handle.read()
        for pattern in IN_JINJA:
            for name in pattern.findall(text):
                used.setdefault(name, []).append(path)
    for path in content_files('plugins/**/*.py'):
        with open(path) as handle:
            for name in re.findall(r'ansible_collections\.(\w+)\.(\w+)', handle.read()):
                used.setdefault('.'.join(name), []).append(path)
    return used


def test_every_collection_used_is_declared_and_every_declared_one_used():
    with open(os.path.join(ROOT, 'galaxy.yml')) as handle:
        declared = set(yaml.safe_load(handle)['dependencies'])
    used = collections_used()
    assert 'community.crypto' in used and 'picluster.hpl' in used  # the scan finds what is there
    undeclared = dict((name, where) for name, where in used.items() if name not in OURS | declared)
    assert not undeclared, 'add to galaxy.yml dependencies: %s' % undeclared
    assert declared <= set(used), 'declared but unused: %s' % (declared - set(used))


def test_requires_ansible_is_the_ansible_core_that_the_tests_run():
    with open(os.path.join(ROOT, 'requirements.txt')) as handle:
        pinned = re.search(r'^ansible-core==(\d+)\.(\d+)\.', handle.read(), re.M).groups()
    with open(os.path.join(ROOT, 'meta', 'runtime.yml')) as handle:
        required = yaml.safe_load(handle)['requires_ansible']
    assert required == '>=%s.%s.0' % pinned
    for path in content_files('roles/*/meta/main.yml'):
        with open(path) as handle:
            assert yaml.safe_load(handle)['galaxy_info']['min_ansible_version'] == '%s.%s' % pinned, path
