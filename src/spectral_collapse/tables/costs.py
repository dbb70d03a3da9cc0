"""The cost page's tables: the suite's commands' wall times per machine, from benchmarks/results/'s records."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..text import duration

__all__ = ["COMMANDS_FILE", "command_runs", "command_tables"]

COMMANDS_FILE = "commands.json"
_H100_TRAIN = "vm-20261126-h100-train-phase.json"
_H100_STUDIES = "vm-20261125-h100-quick-phases.json"


def _read(results: Path, name: str) -> dict | None:
    path = results / name
    return json.loads(path.read_text()) if path.is_file() else None


def command_runs(results: str | Path) -> list[dict]:
    """Every timed run the cost page shows ({what, machine, wall_s, detail}); a missing record adds nothing."""
    results = Path(results)
    runs = list((_read(results, COMMANDS_FILE) or {}).get("runs", []))
    main = _read(results, "main_command.json")
    if main:
        where = f"a 2-core {main['cpu']} VM, no GPU" if main.get("cores") == 2 else f"an {main['cpu']} CPU, no GPU"
        pages = sum(not k.startswith("studies/") for k in main["chapters"])
        same = "identical to" if main["results"]["identical"] else "compared with"
        runs += [{"what": "the `quick` studies from the shipped weights", "machine": where, "wall_s": main["total_s"],
                  "detail": f"`make book` on a fresh clone without stored results or executed chapters: "
                            f"{len(main['chapters']) - pages} study chapters and {pages} pages, {main['jobs']} at a "
                            f"time, {len(main['trained']) or 'no'} model trained, the install included; results {same} "
                            "the stored ones (section *The main command*)"},
                 {"what": "`make book` on a fresh clone whose stored results are current", "machine": where,
                  "wall_s": main["fresh_clone_s"], "detail": "the install included"},
                 {"what": "`make book` again with nothing changed", "machine": where, "wall_s": main["rerun_s"],
                  "detail": ""}]
    smoke = _read(results, "smoke_studies.json")
    if smoke:
        n = len(smoke["studies_s"])
        runs.append({"what": "the `smoke` profile's studies (tiny models trained on the fly)",
                     "machine": "a 2-core VM, no GPU (CPU model not recorded)" if smoke.get("cpu_threads") == 2
                     else "a VM, no GPU", "wall_s": smoke["total_studies_s"],
                     "detail": f"{n} studies one after another, {duration(smoke['total_train_s'])} of it training; "
                               "each notebook adds a few seconds to start its kernel"})
    train = _read(results, _H100_TRAIN)
    if train:
        phase = train["train_phase"]
        runs.append({"what": "training the `quick` model set from scratch", "machine": f"one {train['gpu']}",
                     "wall_s": phase["wall_s_first_run"] + phase["wall_s_resumed_run"],
                     "detail": f"{phase['models']} models, {phase['processes']} processes side by side, in two runs "
                               "(stopped once and resumed from the models' snapshots)"})
    phases = _read(results, _H100_STUDIES)
    if phases:
        runs += [{"what": "training the seed replicates with their quality gates", "machine": f"one {phases['gpu']}",
                  "wall_s": phases["train_phase"]["wall_s"],
                  "detail": f"{phases['train_phase']['models']} models, processes side by side"},
                 {"what": "the `quick` studies from the shipped weights", "machine": f"one {phases['gpu']}",
                  "wall_s": phases["studies_phase"]["wall_s"],
                  "detail": "every study in its own process as soon as the studies it reads were done; the "
                            "model-quality and metric-validation chapters ran on a CPU"}]
    return runs


def command_tables(results: str | Path) -> dict[str, pd.DataFrame]:
    """{machine: table (command, wall time, what the time holds)}, in the order the records name the machines."""
    runs = command_runs(results)
    out = {}
    for machine in dict.fromkeys(r["machine"] for r in runs):
        rows = [(r["what"], duration(r["wall_s"]), r.get("detail", "")) for r in runs if r["machine"] == machine]
        out[machine] = pd.DataFrame(rows, columns=["command", "wall time", "what it holds"])
    return out
