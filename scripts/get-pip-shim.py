"""Stand-in for the get-pip.py bootstrap script that ansible-test downloads.

ansible-test fetches get-pip.py from a host outside the package registries, which these
machines cannot reach. It runs that script with pip's install arguments (the pinned pip
release first) inside an empty virtualenv; this does the same with what is at hand: pip
from the interpreter's own ensurepip wheel, then the requested packages from the index.
"""

import subprocess
import sys

GET_PIP_ONLY = ('--no-setuptools', '--no-wheel')

# In a process of its own: ensurepip blanks pip's configuration (PIP_CONFIG_FILE=/dev/null)
# in its environment, and the install below needs this machine's index and certificates.
subprocess.check_call([sys.executable, '-m', 'ensurepip', '--upgrade'])
arguments = [argument for argument in sys.argv[1:] if argument not in GET_PIP_ONLY]
sys.exit(subprocess.call([sys.executable, '-m', 'pip', 'install'] + arguments))
