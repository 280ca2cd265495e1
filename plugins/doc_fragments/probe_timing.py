# -*- coding: utf-8 -*-
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The timing options the probe modules share (module_utils/probe.py TIMING_ARGS)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  interval_ms:
    description: Time between two requests (DNS queries, DHCP requests).
    type: int
    default: 20
  timeout_ms:
    description: How long a request may wait for its answer.
    type: int
    default: 250
  duration_s:
    description: How long to send requests (at most 900 s, enough for a maintenance cycle with a reboot on a slow host).
    type: float
    required: true
  max_queries:
    description: Upper bound on the requests sent, whatever the duration.
    type: int
    default: 20000
  stop_file:
    description:
      - End the probe before O(duration_s) once this file exists on the host that probes
        (looked at every 100 ms), so a long window can close when the work it measures is
        done. A file left from an earlier probe is removed when the probe starts.
    type: path
"""
