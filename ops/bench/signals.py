"""Benchmark: the signals classifier's talk type on AnnoMI, and its speed on one core.

Talk type (change, sustain or neutral talk, in the sense of Motivational Interviewing) is scored
against the expert labels of AnnoMI's client utterances (the development split kept outside the
repository, ../shared/data/annomi/dev.csv): per-class precision, recall and F1, and macro-F1.
The lexicons are written by hand and nothing is fitted to AnnoMI; published text-only baselines
reach a macro-F1 of about 0.51 (TF-IDF and logistic regression) to 0.58 (fine-tuned RoBERTa).
With the labelled development set of alumni messages (tests/data/signals_dev.jsonl), it also
reports each risk kind's precision and recall and the false-alarm rate.

Speed: `classify()` over every AnnoMI text, several rounds, the best round, in a process pinned
to one CPU; with ``lang=None`` (both lexicons, the slower case) and with ``lang="en"``.

    .venv/bin/python ops/bench/signals.py [--annomi PATH] [--rounds 5]

Prints a summary and, as its last line, JSON with ``macro_f1``, ``f1_change``, ``f1_neutral``,
``f1_sustain`` and ``msgs_per_s``; writes the full figures (and the machine) to
ops/bench/results/. No AnnoMI text is written anywhere: only counts and scores.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from inbound_roundtrip import RESULTS, ROOT, machine

from service.signals.classifier import RISK_KINDS, Classifier

ANNOMI = Path(__file__).resolve().parents[3] / "shared/data/annomi/dev.csv"
DEV = ROOT / "tests" / "data" / "signals_dev.jsonl"
TALK = ("change", "neutral", "sustain")


def scores(pairs: list[tuple[str, str]], labels: tuple[str, ...]) -> dict[str, object]:
    """Per-class precision, recall and F1, macro-F1 and the confusion (gold -> predicted)."""
    confusion = Counter(pairs)
    per_class: dict[str, dict[str, float]] = {}
    for label in labels:
        hits = confusion[(label, label)]
        predicted = sum(confusion[(gold, label)] for gold in labels)
        gold = sum(confusion[(label, guess)] for guess in labels)
        precision = hits / predicted if predicted else 0.0
        recall = hits / gold if gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "support": gold,
        }
    return {
        "macro_f1": round(sum(c["f1"] for c in per_class.values()) / len(labels), 4),
        "per_class": per_class,
        "confusion": {
            gold: {guess: confusion[(gold, guess)] for guess in labels} for gold in labels
        },
    }


def talk_on_annomi(
    classifier: Classifier, rows: list[dict[str, str]], lang: str | None
) -> dict[str, object]:
    pairs = [(row["label"], classifier.classify(row["text"], lang).talk) for row in rows]
    return scores(pairs, TALK)


def speed(classifier: Classifier, texts: list[str], lang: str | None, rounds: int) -> float:
    """Messages per second, best of ``rounds`` passes over all the texts."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for text in texts:
            classifier.classify(text, lang)
        best = min(best, time.perf_counter() - started)
    return round(len(texts) / best)


def risk_on_dev(classifier: Classifier, path: Path) -> dict[str, object]:
    """Each risk kind's precision and recall on the development set, the false-alarm rate
    (any risk finding on a message labelled with none) and the talk type's scores."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    counts: Counter[tuple[str, str]] = Counter()
    talk: list[tuple[str, str]] = []
    false_alarms = clean = 0
    for row in rows:
        reading = classifier.classify(row["text"], row["lang"])
        found = {finding.kind for finding in reading.signals} & RISK_KINDS
        wanted = set(row["kinds"])
        for kind in RISK_KINDS:
            if kind in found or kind in wanted:
                counts[
                    (kind, "tp" if kind in found & wanted else "fp" if kind in found else "fn")
                ] += 1
        if not wanted:
            clean += 1
            false_alarms += bool(found)
        talk.append((row["talk"], reading.talk))
    kinds = {}
    for kind in sorted(RISK_KINDS):
        tp, fp, fn = (counts[(kind, part)] for part in ("tp", "fp", "fn"))
        kinds[kind] = {
            "precision": round(tp / (tp + fp), 4) if tp + fp else None,
            "recall": round(tp / (tp + fn), 4) if tp + fn else None,
            "support": tp + fn,
        }
    return {
        "messages": len(rows),
        "kinds": kinds,
        "false_alarm_rate": round(false_alarms / clean, 4) if clean else None,
        "false_alarms": false_alarms,
        "risk_free_messages": clean,
        "talk": scores(talk, TALK),
    }


def main(annomi: Path, rounds: int) -> dict[str, object]:
    if hasattr(os, "sched_setaffinity"):  # one core, as the target says
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    loading = time.perf_counter()
    classifier = Classifier.load()
    load_s = time.perf_counter() - loading
    with annomi.open(newline="", encoding="utf-8") as file:
        rows = [row for row in csv.DictReader(file) if row["label"] in TALK]
    texts = [row["text"] for row in rows]
    english = talk_on_annomi(classifier, rows, "en")
    either = talk_on_annomi(classifier, rows, None)
    report: dict[str, object] = {
        "benchmark": "signals",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "annomi": {"utterances": len(rows), "lang": "en", **english},
        "annomi_lang_none": either,
        "msgs_per_s": speed(classifier, texts, None, rounds),
        "msgs_per_s_en": speed(classifier, texts, "en", rounds),
        "rounds": rounds,
        "mean_chars": round(sum(map(len, texts)) / len(texts), 1),
        "load_s": round(load_s, 3),
    }
    if DEV.exists():
        report["dev_set"] = risk_on_dev(classifier, DEV)
    return report


def summary(report: dict[str, object]) -> str:
    annomi = report["annomi"]
    assert isinstance(annomi, dict)
    lines = [f"AnnoMI talk type ({annomi['utterances']} client utterances, lang=en):"]
    for label, figures in annomi["per_class"].items():
        lines.append(
            f"  {label:8} P {figures['precision']:.3f}  R {figures['recall']:.3f}  "
            f"F1 {figures['f1']:.3f}  (support {figures['support']})"
        )
    lines.append(f"  macro-F1 {annomi['macro_f1']:.3f} (targets: >= 0.55, sustain F1 >= 0.40)")
    lines.append(
        f"Speed, one core: {report['msgs_per_s']} msgs/s with both languages, "
        f"{report['msgs_per_s_en']} msgs/s English only (target >= 5,000)"
    )
    dev = report.get("dev_set")
    if isinstance(dev, dict):
        lines.append(f"Development set ({dev['messages']} messages):")
        for kind, figures in dev["kinds"].items():
            lines.append(f"  {kind:13} P {figures['precision']}  R {figures['recall']}")
        lines.append(
            f"  false alarms {dev['false_alarms']}/{dev['risk_free_messages']} "
            f"({dev['false_alarm_rate']}); talk macro-F1 {dev['talk']['macro_f1']}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--annomi", type=Path, default=ANNOMI, help=f"AnnoMI CSV ({ANNOMI})")
    parser.add_argument("--rounds", type=int, default=5, help="speed rounds; the best counts")
    args = parser.parse_args()
    if not args.annomi.exists():
        parser.error(f"{args.annomi}: no such file (the AnnoMI development split)")
    report = main(args.annomi, args.rounds)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"signals-{report['at']}.json").write_text(json.dumps(report, indent=2))
    print(summary(report))  # noqa: T201
    annomi = report["annomi"]
    assert isinstance(annomi, dict)
    per_class = annomi["per_class"]
    last = {
        "macro_f1": annomi["macro_f1"],
        **{f"f1_{label}": per_class[label]["f1"] for label in TALK},
        "msgs_per_s": report["msgs_per_s"],
    }
    print(json.dumps(last))  # noqa: T201
