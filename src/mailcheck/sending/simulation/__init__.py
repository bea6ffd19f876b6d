"""Run the Sender against simulated providers, hours of sending in seconds.

:class:`VirtualClockLoop` is an asyncio event loop whose clock jumps to the next timer
whenever nothing is ready (work handed to threads, such as the spool's commits, takes no
virtual time); :class:`ScaledClockLoop` runs a clock N times faster than the wall, for
real sockets. :mod:`~mailcheck.sending.simulation.world` holds the simulated providers.
Used by ``bench/bench_world.py`` and the tests; never by the Sender itself.
"""

from __future__ import annotations

from mailcheck.sending.simulation.clock import ScaledClockLoop, VirtualClockLoop

__all__ = ["ScaledClockLoop", "VirtualClockLoop"]
