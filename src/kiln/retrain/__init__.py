"""`kiln retrain`: the closed loop — triggers, data recipe, challenger, gate, promotion.

    from kiln.retrain import retrain, watch
    result = retrain(bp, new_data="fresh.csv", policy="policy.yaml")
    result.decision, result.reason          # promoted | refused | no_trigger | waiting

Modules, one concept each: `policy` (the `retrain:` section or a policy file), `triggers`
(when), `new_rows` and `recipe` (on what data), `judge` and `gate` (is it better),
`decision` (promote or not), `record` (the evidence), `stage` (the loop), `watch`.
"""

from __future__ import annotations

from kiln.retrain.gate import GateDecision, PairedTest, mcnemar, paired_bootstrap
from kiln.retrain.policy import load_policy
from kiln.retrain.stage import RetrainResult, retrain
from kiln.retrain.triggers import Trigger
from kiln.retrain.watch import watch

__all__ = ["GateDecision", "PairedTest", "RetrainResult", "Trigger", "load_policy",
           "mcnemar", "paired_bootstrap", "retrain", "watch"]
