"""What each node of the cluster scenario should have once variants.yml has run: the
cluster's own choices (OpenMPI with its compilers, OpenBLAS, xhpl built from Debian's hpcc
source) and the one variant set per node."""

import pytest

CHOICES = {
    'pi1': {'mpi': 'openmpi', 'blas': 'openblas', 'hpl': {'hpcc_source', 'source'}, 'compilers': True},
    'pi2': {'mpi': 'mpich', 'blas': 'atlas', 'hpl': {'hpcc_source'}, 'compilers': False},
    'pi3': {'mpi': 'openmpi', 'blas': 'blis', 'hpl': {'hpcc_source', 'hpcc'}, 'compilers': True},
}


@pytest.fixture
def choice(host):
    return CHOICES[host.backend.get_hostname()]
