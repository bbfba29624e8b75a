"""The services every part of the generator shares: the random stream, the clock, the ids and the sink."""

from __future__ import annotations

from dataclasses import dataclass
from random import Random

from ehealth.demo.clock import Clock, Ids
from ehealth.demo.sink import Sink


@dataclass(frozen=True)
class Env:
    """One generation run's shared services."""

    rng: Random
    clock: Clock
    ids: Ids
    sink: Sink
