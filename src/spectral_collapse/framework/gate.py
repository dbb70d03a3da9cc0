"""The quality gate applied to the models of a study run (``framework.quality`` measures; this module enforces):
every model a study run loads passes through ``enforce``, its gate status recorded in the results (``model_gate``).
Reports are cached with the weights (``quality.json``, keyed by gate version, settings and weights' digest) and, for
a user's model, beside the run's cell cache."""
from __future__ import annotations

import hashlib
import json
import re
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

from ..train.cache import atomic_write_bytes, checkpoint_digest
from ..train.shipped import HASHES, shipped_dir
from .edge_density import LEVEL, MIN_TOLERANCE, WHITE, edge_task
from .quality import (GATE_VERSION, GateReport, deterministic_sampler, gate_report, is_flow_model,
                      vae_report)

__all__ = ["GATE_FILE", "GatePolicy", "gate_policy", "enforce", "trained_report", "vae_gate_report", "user_report",
           "active_policy", "GATE_LABEL", "read_json", "stored_report", "stored_files", "current_verdict"]

GATE_FILE = "quality.json"
_POLICY: ContextVar = ContextVar("spectral_collapse_gate_policy", default=None)
_USER_REPORTS: dict = {}


@dataclass
class GatePolicy:
    """What a study run allows below the gate and what it has seen (``used``: name -> passed, failures, role)."""

    allow: bool | frozenset       # True / False for every model, or the model-set keys allowed below the gate
    used: dict = field(default_factory=dict)
    cache: Path | None = None      # where user models' reports are kept on disk (None: in memory only)


@contextmanager
def gate_policy(allow, cache: str | Path | None = None):
    """Enforce the gate on every model loaded inside the block; yields the GatePolicy that records them (``allow``:
    True / False, or the model-set keys that may be below the gate; ``cache``: ``GatePolicy.cache``)."""
    allow = frozenset(allow) if isinstance(allow, (tuple, list, set, frozenset)) else bool(allow)
    pol = GatePolicy(allow, cache=None if cache is None else Path(cache))
    token = _POLICY.set(pol)
    try:
        yield pol
    finally:
        _POLICY.reset(token)


def active_policy() -> GatePolicy | None:
    """The policy of the study run in progress; None outside one."""
    return _POLICY.get()


def enforce(name: str, report, role: str = "") -> GateReport | None:
    """Within a study run: measure and record model ``name``; WeakModelError when it is below the gate, not allowed."""
    pol = _POLICY.get()
    if pol is None:
        return None
    rep = report()
    pol.used[name] = {"passed": rep.passed, "failures": "" if rep.passed else rep.describe_failures(),
                      "role": role}
    rep.require(allowed(pol.allow, name))
    return rep


def allowed(allow, name: str) -> bool:
    """Whether checkpoint ``name`` may be used below the gate under ``allow`` (a bool, or model-set keys: a key
    allows the checkpoints "<key>-<profile>-<config hash>" of that model and no other)."""
    if isinstance(allow, bool):
        return allow
    return any(re.fullmatch(rf"{re.escape(k)}-[a-z0-9_]+-[0-9a-f]{{12}}", name) for k in allow)


def read_json(path: Path):
    """The JSON file at ``path``; None when it is missing or unreadable."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def stored_files(folder, weights_root=None):
    """(report, config) as stored in a checkpoint folder, then in its shipped copy (None / {} where missing)."""
    for d in (Path(folder), shipped_dir(folder, weights_root)):
        yield read_json(d / GATE_FILE), read_json(d / "config.json") or {}


def _write(path: Path, report: dict) -> None:
    """Write a report's JSON; a read-only folder leaves it unwritten (it is measured again next time)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, json.dumps(report, indent=1, default=float).encode())
    except OSError:
        pass


def _cached(folder: Path, settings: dict, compute) -> GateReport:
    """The report of checkpoint ``folder`` under ``settings``: stored when the key matches, else computed and stored."""
    folder = Path(folder)
    key = hashlib.sha256(json.dumps({"version": GATE_VERSION, "weights": checkpoint_digest(folder), **settings},
                                    sort_keys=True).encode()).hexdigest()
    for d, _ in stored_files(folder):
        if isinstance(d, dict) and d.get("key") == key:
            return GateReport.from_dict(d)
    rep = compute()
    shipped = shipped_dir(folder)
    for f in [folder / GATE_FILE] + ([shipped / GATE_FILE] if (shipped / HASHES).is_file() else []):
        _write(f, {**rep.to_dict(), "key": key, "settings": settings})
    return rep


def trained_report(tm, data, profile, space=None) -> GateReport:
    """The gate report of a TrainedModel (``data``: what it was trained on; ``space``: its LatentSpace, if any)."""
    log = read_json(Path(tm.path) / "log.json") or {}
    st = {"n": int(profile.gate_samples), "steps": int(profile.steps)}
    if is_flow_model(tm.denoiser):  # judged with Heun: a report made with another sampler is measured again
        st["deterministic"] = deterministic_sampler(tm.denoiser)
    if edge_task(data):  # edge maps get the edge-density check: a report made without it is measured again
        st["edges"] = {"white": WHITE, "level": LEVEL, "min_tolerance": MIN_TOLERANCE}
    return _cached(Path(tm.path), st, lambda: gate_report(
        tm.denoiser, data, name=Path(tm.path).name, steps=st["steps"], n=st["n"], space=space,
        heldout=log.get("heldout"), total_steps=tm.config.steps))


def vae_gate_report(space, data, profile) -> GateReport:
    """The gate report of a trained VAE (reconstructions of the held-out crops)."""
    st = {"n": int(profile.gate_samples), "steps": int(profile.steps)}
    folder = getattr(space, "path", None)   # None: a pretrained autoencoder (measured, not stored)
    compute = lambda: vae_report(space, data, name=Path(folder).name if folder else "vae", n=st["n"])  # noqa: E731
    return _cached(Path(folder), st, compute) if folder is not None else compute()


def user_report(D, data, *, name: str, n: int = 64, steps: int = 50, labels=None) -> GateReport:
    """The gate report of a user's model on the study's data (measured once per process, model and data). labels:
    those to sample (None: 0 and 1 for a class-conditional network, else 1, the target pool)."""
    origin = getattr(D, "origin", {}) or {}
    key = (origin.get("sha256") or name, getattr(data, "name", "?"), json.dumps(getattr(data, "meta", {}),
                                                                                 sort_keys=True, default=str), n, steps,
           None if labels is None else tuple(labels), deterministic_sampler(D), edge_task(data))
    if key not in _USER_REPORTS:
        pol = _POLICY.get()
        disk = None
        if pol is not None and pol.cache is not None and origin.get("sha256"):
            digest = hashlib.sha256(json.dumps([GATE_VERSION, *key], default=str).encode()).hexdigest()
            disk = pol.cache / f"user-{digest[:32]}.json"
            try:
                _USER_REPORTS[key] = GateReport.from_dict(json.loads(disk.read_text()))
                return _USER_REPORTS[key]
            except (OSError, ValueError, KeyError, TypeError):
                pass   # not measured yet, or unreadable: measure it
        from ..models.base import takes_labels

        net = getattr(D, "net", None)
        labels = labels or ((0, 1) if net is not None and takes_labels(net) else (1,))
        _USER_REPORTS[key] = gate_report(D, data, name=name, steps=steps, n=n, labels=labels,
                                         space=getattr(D, "latent_space", None))
        if disk is not None:
            _write(disk, _USER_REPORTS[key].to_dict())
    return _USER_REPORTS[key]


GATE_LABEL = "model-quality"  # the MyST target of the book's gate chapter and of a report's gate page


def stored_report(folder: str, weights_root=None) -> tuple[GateReport | None, dict]:
    """(gate report, config) of a checkpoint folder, else of its shipped copy; (None, {}) when neither exists."""
    found = list(stored_files(folder, weights_root))
    rep = next((GateReport.from_dict(r) for r, _ in found if isinstance(r, dict) and {"model", "rows"} <= set(r)), None)
    return rep, next((c for _, c in found if c), {})


def current_verdict(name: str, root) -> tuple[bool, str] | None:
    """(passed, failures in words) of the report stored now with checkpoint ``name`` (under ``root``, else its shipped
    copy) by this gate version; None if none."""
    for d, _ in stored_files(Path(root) / name):
        if isinstance(d, dict) and d.get("version") == GATE_VERSION and "passed" in d:
            rep = GateReport.from_dict(d)
            return bool(rep.passed), ("" if rep.passed else rep.describe_failures())
    return None
