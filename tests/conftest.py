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
if COLLECTIONS_DIR not in sys.path:
    sys.path.insert(0, COLLECTIONS_DIR)


@pytest.fixture(scope='session')
def collections_dir():
    return COLLECTIONS_DIR


def read_fixture(*parts):
    with open(os.path.join(FIXTURES, *parts)) as handle:
        return handle.read()


def _order(item):
    group = item.get_closest_marker('xdist_group')
    return 0 if group and group.args == ('molecule',) else 1


def pytest_collection_modifyitems(items):
    """The molecule scenarios first: they are the longest part of the run, so with
    pytest-xdist (./test runs two workers) everything else runs beside them."""
    items.sort(key=_order)
