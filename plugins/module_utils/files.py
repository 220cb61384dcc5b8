# -*- coding: utf-8 -*-
# Copyright: picluster.hpl contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writing files so that a reader sees the old content or the new, never half of either."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile


def atomic_write(path, data, mode=0o644, owner=None):
    """Write ``data`` (bytes) to ``path`` through a temporary file beside it, then rename.

    Parent directories are made (0755) as needed; ``owner`` (a uid, as root only) owns the
    file as user and group. A failure leaves ``path`` as it was and no temporary file.
    """
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        os.makedirs(parent, 0o755)
    handle, temporary = tempfile.mkstemp(dir=parent, prefix='.picluster-')
    try:
        with os.fdopen(handle, 'wb') as out:
            out.write(data)
        os.chmod(temporary, mode)
        if owner is not None and os.geteuid() == 0:
            os.chown(temporary, owner, owner)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return path
