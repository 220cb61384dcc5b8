"""What each node of the cluster scenario should have once variants.yml has run: the
cluster's own choices (OpenMPI's runtime, OpenBLAS, hpcc) and the one variant set per node."""

import pytest

CHOICES = {
    'pi1': {'mpi': 'openmpi', 'blas': 'openblas', 'hpl': {'hpcc', 'source'}, 'compilers': True},
    'pi2': {'mpi': 'mpich', 'blas': 'atlas', 'hpl': {'hpcc'}, 'compilers': False},
    'pi3': {'mpi': 'openmpi', 'blas': 'blis', 'hpl': {'hpcc'}, 'compilers': False},
}


@pytest.fixture
def choice(host):
    return CHOICES[host.backend.get_hostname()]
