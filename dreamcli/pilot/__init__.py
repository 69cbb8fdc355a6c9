"""`dreamcli pilot`: measure a proposal's lift on the user's own tasks before anyone approves it
(docs/pilot.md).

    from dreamcli.pilot.api import execute, prepare

    prep = prepare(ws, config, [Path("task.yaml")], "01JD3Z", trials=5)   # exit 2 before anything runs
    prep.estimate.total_usd, len(prep.todo), prep.resumed
    result = execute(ws, config, prep, parallel=4, max_cost=None, progress=view)
    result["arms"], result["lift"]                                          # also in dreams/<id>/pilot.json

- `api`: prepare and execute (what the command calls).
- `plan`: tasks, arms (baseline, candidate, leave-one-out) and the interleaved order of trials.
- `runner`: the trials as ordinary sessions in fresh workdir copies, graded, journaled as they end.
- `stats`: Wilson intervals, the paired bootstrap, exact McNemar (pure functions).
- `report`: the result object from the trial records.
- `store`: the trial journal and `pilot.json`.

This file imports nothing, so `dreamcli.pilot.stats` stays cheap to import (playbooks diff uses it).
"""
