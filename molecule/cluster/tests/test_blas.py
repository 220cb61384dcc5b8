"""BLAS on the arm64 nodes: libblas.so.3 is the chosen library, and it computes (two of the
nodes switched to it from OpenBLAS)."""

import pytest

DIRECTORY = {'openblas': 'openblas-pthread', 'blis': 'blis-pthread', 'atlas': 'atlas'}
LAPACK = {'openblas', 'atlas'}


@pytest.fixture
def library(choice):
    return choice['blas']


def test_alternatives_point_at_the_choice(host, library):
    wanted = '/usr/lib/aarch64-linux-gnu/%s/libblas.so.3' % DIRECTORY[library]
    # One link down (linked_to would follow ATLAS's libblas.so.3 on to libblas.so.3.10.3).
    assert host.check_output('readlink /etc/alternatives/libblas.so.3-aarch64-linux-gnu') == wanted
    assert host.file(wanted).exists
    if library in LAPACK:
        assert host.check_output('readlink /etc/alternatives/liblapack.so.3-aarch64-linux-gnu') == \
            '/usr/lib/aarch64-linux-gnu/%s/liblapack.so.3' % DIRECTORY[library]


def test_libblas_computes(host, library):
    # ddot of (1, 2, 3) and (4, 5, 6) through the Fortran interface every BLAS here has.
    script = ("import ctypes as c; b = c.CDLL('libblas.so.3'); b.ddot_.restype = c.c_double; "
              "n = c.c_int(3); one = c.c_int(1); x = (c.c_double * 3)(1, 2, 3); y = (c.c_double * 3)(4, 5, 6); "
              "print(b.ddot_(c.byref(n), x, c.byref(one), y, c.byref(one)))")
    assert host.check_output('python3 -c "%s"' % script) == '32.0'
    maps = host.check_output("python3 -c \"import ctypes; ctypes.CDLL('libblas.so.3'); print(open('/proc/self/maps').read())\"")
    assert '/%s/libblas.so.3' % DIRECTORY[library] in maps
