# -*- coding: utf-8 -*-
# Copyright: picluster.hpl contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the collection's filters share: the core's refusals as Ansible filter errors."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools

from ansible.errors import AnsibleFilterError


def filter_errors(function):
    """Raise the core's refusals (every one a ValueError) and type errors as an
    AnsibleFilterError that names the filter."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except (ValueError, TypeError) as exc:
            raise AnsibleFilterError('%s: %s' % (function.__name__, exc))
    return wrapper
