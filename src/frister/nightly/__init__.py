"""The nightly run: evaluate, derive notices, send them, record the run (one at a time).

Public entry points (imported lazily so that ``frister.db.models`` can import the
model module without pulling in the whole run machinery):

* :func:`frister.nightly.run.nightly_run` — one complete night;
* :func:`frister.nightly.demo.demo_step` — the console version for ``frister demo``.
"""

from __future__ import annotations


def demo_step(*args, **kwargs):
    """See :func:`frister.nightly.demo.demo_step`."""
    from frister.nightly.demo import demo_step as step

    return step(*args, **kwargs)
