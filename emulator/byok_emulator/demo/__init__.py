"""``byok demo``: the whole system end to end on the embedded AWS (see docs/demo.md).

``run(scenario, log=..., progress=...)`` starts the emulator's moto server, deploys the customer
stack and the platform side into two accounts, registers the environment and plays the
scenarios (``SCENARIO_NAMES``), delivering each customer call's events to the template's
functions through the template's rules. ``report`` renders the table, summary, picture and JSON.
"""

from __future__ import annotations

from .runner import DemoRun, StepResult, run
from .scenarios import SCENARIO_NAMES, SCENARIOS

__all__ = ["SCENARIOS", "SCENARIO_NAMES", "DemoRun", "StepResult", "run"]
