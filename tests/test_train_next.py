"""scripts/train_next.py: the snapshots it carries to a fresh clone."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import torch

from spectral_collapse.train.resume import resume_snapshot, write_resume

ROOT = Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location("train_next", ROOT / "scripts" / "train_next.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_an_unfinished_snapshot_is_carried_and_restored_exactly_and_a_finished_one_is_not(tmp_path, monkeypatch):
    """``carry`` copies the newest snapshot of each unfinished quick checkpoint; ``restore`` puts it back into an
    empty checkpoint root (a fresh clone), where the trainer resumes from the same step, weights and RNG."""
    tn = _script()
    monkeypatch.setattr(tn, "CARRY", tmp_path / "carried")
    root = tmp_path / "checkpoints"
    net, ema = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(net.parameters())
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    gen = torch.Generator().manual_seed(7)
    unfinished, finished = root / "ihc-sr-x4-eps-quick-0123456789ab", root / "ihc-sr-x4-edm-quick-ba9876543210"
    for ck in (unfinished, finished):
        ck.mkdir(parents=True)
        write_resume(ck, net, ema, opt, sched, 300, gen, [(50, 0.5)])
    (finished / "DONE").write_text("")
    tn.carry(root)
    assert sorted(p.name for p in tn.CARRY.iterdir()) == [unfinished.name]
    fresh = tmp_path / "fresh"
    tn.restore(fresh)
    got = resume_snapshot(fresh / unfinished.name)
    assert got is not None and int(got[2]["step"]) == 300
    torch.testing.assert_close(got[0]["weight"], net.weight.detach())
    assert torch.equal(got[2]["rng"], gen.get_state())
    write_resume(fresh / unfinished.name, net, ema, opt, sched, 400, gen, [(50, 0.5)])  # training went on here
    tn.restore(fresh)  # a snapshot already in place is never overwritten by the older carried one
    assert int(resume_snapshot(fresh / unfinished.name)[2]["step"]) == 400
