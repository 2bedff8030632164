"""Fault injection rules (control ``POST /_emulator/faults``).

A rule: ``match`` (regex searched in the request path), optional ``method``, ``times`` (apply to
the next N matching requests; unlimited when absent), ``skip`` (let the first K matches pass),
``probability`` (seeded RNG), ``kind`` and its parameters:

* ``status``       -- answer HTTP ``status`` (default 503) with an HTML body, no processing;
* ``error``        -- answer Pardot error ``code`` in the caller's shape (optional ``status``);
* ``reset_before`` -- close the socket (RST) before the body is read; no side effects;
* ``reset_after``  -- process fully (side effects happen), then RST without an answer;
* ``delay``        -- sleep ``seconds`` then process normally;
* ``truncate``     -- send headers and the first ``after_bytes`` body bytes, then close;
* ``throttle``     -- send the body at ``bytes_per_second``.

The first rule that matches a request and still has budget is applied (one rule per request).
"""

from __future__ import annotations

import random
import re
import threading

KINDS = {"status", "error", "reset_before", "reset_after", "delay", "truncate", "throttle"}


class Rule:
    def __init__(self, spec: dict, index: int):
        if not isinstance(spec, dict):
            raise ValueError("a rule must be an object")
        self.spec = dict(spec)
        self.kind = spec.get("kind")
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {sorted(KINDS)}")
        self.pattern = re.compile(spec.get("match") or ".*")
        self.method = (spec.get("method") or "").upper() or None
        self.times = spec.get("times")
        self.skip = int(spec.get("skip") or 0)
        self.probability = float(spec.get("probability", 1.0))
        self.index = index
        self.seen = 0
        self.applied = 0

    def describe(self) -> dict:
        d = dict(self.spec)
        d.update({"seen": self.seen, "applied": self.applied})
        return d


class Faults:
    def __init__(self, seed: int):
        self.lock = threading.Lock()
        self.rules: list[Rule] = []
        self.rng = random.Random(f"{seed}:faults")
        self.injected = 0
        self.seed = seed

    def set(self, specs: list[dict]) -> None:
        rules = [Rule(s, i) for i, s in enumerate(specs or [])]
        with self.lock:
            self.rules = rules
            self.rng = random.Random(f"{self.seed}:faults")

    def clear(self) -> None:
        with self.lock:
            self.rules = []

    def reset(self) -> None:
        with self.lock:
            self.rules = []
            self.injected = 0
            self.rng = random.Random(f"{self.seed}:faults")

    def pick(self, method: str, path: str) -> dict | None:
        with self.lock:
            for rule in self.rules:
                if rule.method and rule.method != method:
                    continue
                if not rule.pattern.search(path):
                    continue
                if rule.times is not None and rule.applied >= int(rule.times):
                    continue
                rule.seen += 1
                # A rule that lets this request pass leaves it to the next rules.
                if rule.seen <= rule.skip:
                    continue
                if rule.probability < 1.0 and self.rng.random() >= rule.probability:
                    continue
                rule.applied += 1
                self.injected += 1
                return rule.spec
        return None

    def describe(self) -> list[dict]:
        with self.lock:
            return [r.describe() for r in self.rules]
