"""Make this repository importable as ``ansible_collections.picluster.hpl``.

scripts/setup links the repository into .cache/collections; when that link is missing
(tests run straight from a checkout), an equivalent one is made in a temporary folder.
"""

import os
import sys
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, 'tests', 'unit', 'fixtures')


def _collections_dir():
    linked = os.path.join(ROOT, '.cache', 'collections')
    if os.path.realpath(os.path.join(linked, 'ansible_collections', 'picluster', 'hpl')) == ROOT:
        return linked
    temporary = tempfile.mkdtemp(prefix='picluster-collections-')
    os.makedirs(os.path.join(temporary, 'ansible_collections', 'picluster'))
    os.symlink(ROOT, os.path.join(temporary, 'ansible_collections', 'picluster', 'hpl'))
    return temporary


COLLECTIONS_DIR = _collections_dir()
# The collection, and the tests' own helpers (tests/support).
for _path in (COLLECTIONS_DIR, os.path.join(ROOT, 'tests', 'support')):
    if _path not in sys.path:
        sys.path.insert(0, _path)


@pytest.fixture(scope='session')
def collections_dir():
    return COLLECTIONS_DIR


def read_fixture(*parts):
    with open(os.path.join(FIXTURES, *parts)) as handle:
        return handle.read()


# ./test runs two pytest-xdist workers with --dist loadfile (a file stays on one worker:
# test_site.py changes the machine's packages and must never run beside itself) and
# --no-loadscope-reorder, so files are handed out in this order: the cluster scenario
# first (one worker spends the run on it, with only the quick unit tests queued behind),
# every other file on the other worker, the network boot scenario and ATLAS's nodes last
# (whichever worker is free first takes them).
def _order(item):
    name = os.path.basename(str(item.path))
    if name == 'test_molecule_cluster.py':
        return 0
    last = {'test_molecule_netboot.py': 3, 'test_atlas_tuned.py': 4}
    return 1 if 'unit' in item.path.parts else last.get(name, 2)


def pytest_collection_modifyitems(items):
    items.sort(key=_order)
