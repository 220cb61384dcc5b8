"""The blas_kernel module's kept answer, with the library's answers played by a stand-in:
what it keeps, when it compares again, and that check mode writes nothing."""

import json

import pytest

from ansible_collections.picluster.hpl.plugins.modules import blas_kernel as module_file

CPU = {'vendor_id': 'GenuineIntel', 'cpu family': '6', 'model': '207', 'processors': 2,
       'flags': 'sse2 pni ssse3 sse4_2 avx avx2 fma avx512f avx512cd avx512bw avx512dq avx512vl'}


class Failed(Exception):
    pass


class Node(object):
    """An AnsibleModule whose BLAS runs Prescott on its own and the kernel it is told to
    otherwise, at the GFLOPS given."""

    def __init__(self, library, cache, rates, check_mode=False):
        self.params = {'library': str(library), 'name': 'openblas', 'kernel': 'auto', 'dgemm_n': 500,
                       'cache': str(cache), 'remeasure': False, 'processor': None}
        self.rates, self.check_mode, self.runs, self.warnings = rates, check_mode, [], []

    def run_command(self, args, environ_update=None):
        kernel = (environ_update or {}).get('OPENBLAS_CORETYPE') or 'Prescott'
        measured = int(args[-1]) > 0
        self.runs.append((kernel, measured))
        found = {'corename': kernel, 'config': 'OpenBLAS 0.3.21', 'dgemm_correct': True}
        if measured:
            found['dgemm_gflops'] = self.rates[kernel]
        return 0, json.dumps(found), ''

    def warn(self, text):
        self.warnings.append(text)

    def fail_json(self, msg):
        raise Failed(msg)


def ask(node):
    return module_file.answer(node, node.params, CPU, 'OPENBLAS_CORETYPE', None, 'auto')


@pytest.fixture
def library(tmp_path):
    path = tmp_path / 'libblas.so.3'
    path.write_text('a library')
    return path


def test_the_answer_is_kept_and_only_the_kept_kernel_measured_again(tmp_path, library):
    first = Node(library, tmp_path / 'kept.json', {'Prescott': 24.0, 'SkylakeX': 118.0})
    chosen, _library, _probes, measured, record, changed = ask(first)
    assert (chosen['kernel'], chosen['source'], changed, measured['dgemm_gflops']) == ('SkylakeX', 'auto', True, 118.0)
    assert record['decided'] and json.loads((tmp_path / 'kept.json').read_text())[str(library)]['chosen'] == chosen
    # Next run: SkylakeX now measures no faster than Prescott did, but the answer stands.
    second = Node(library, tmp_path / 'kept.json', {'Prescott': 24.0, 'SkylakeX': 25.0})
    chosen, own, probes, measured, record, changed = ask(second)
    assert (chosen['kernel'], changed, measured['dgemm_gflops'], own['dgemm_gflops']) == ('SkylakeX', False, 25.0, 24.0)
    assert 'kept until the library or the CPU changes' in chosen['reason']
    assert second.runs == [('Prescott', False), ('SkylakeX', True)]


def test_remeasure_a_changed_library_or_a_broken_cache_compare_again(tmp_path, library):
    cache = tmp_path / 'kept.json'
    ask(Node(library, cache, {'Prescott': 24.0, 'SkylakeX': 118.0}))
    again = Node(library, cache, {'Prescott': 24.0, 'SkylakeX': 118.0})
    again.params['remeasure'] = True
    assert ask(again)[-1] is True
    library.write_text('an upgraded library')
    assert ask(Node(library, cache, {'Prescott': 24.0, 'SkylakeX': 118.0}))[-1] is True
    cache.write_text('{"%s": {"key": "not whole"' % library)
    chosen, _own, _probes, _measured, _record, changed = ask(Node(library, cache, {'Prescott': 24.0, 'SkylakeX': 118.0}))
    assert changed and chosen['kernel'] == 'SkylakeX' and json.loads(cache.read_text())[str(library)]['decided']


def test_check_mode_writes_nothing_and_an_unwritable_cache_is_a_warning(tmp_path, library):
    node = Node(library, tmp_path / 'kept.json', {'Prescott': 24.0, 'SkylakeX': 118.0}, check_mode=True)
    chosen, _own, _probes, _measured, record, changed = ask(node)
    assert changed and record is None and not (tmp_path / 'kept.json').exists() and chosen['kernel'] == 'SkylakeX'
    (tmp_path / 'file').write_text('')
    node = Node(library, tmp_path / 'file' / 'kept.json', {'Prescott': 24.0, 'SkylakeX': 118.0})
    assert ask(node)[-1] is False and 'the next run compares the kernels again' in node.warnings[0]
