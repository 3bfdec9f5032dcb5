"""Routing: what happens after a call request, off the hot path.

The routing engine itself is a library that signaling calls inline. This app will hold its timers
(SQS ``vkyc-timers``: ring timeout, reconnect grace, queue timeout, no call arrived), the sweeper
and end of day (schedules) and stream consumers; they arrive with the routing issue (#4).
"""

from __future__ import annotations

from chalice import Chalice

app = Chalice(app_name="vkyc-routing")
