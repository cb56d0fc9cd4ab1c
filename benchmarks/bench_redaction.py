"""Redaction speed and recall: trainset's engine vs Presidio vs a plain per-row Python `re` loop.

    python benchmarks/bench_redaction.py [--tickets 200000] [--sample 3000]

All three redact the same texts in the same run: a sample of generated tickets (subject and body,
PII planted at the generator's rates) for speed, and the labelled evaluation set for recall.
trainset's engine is also timed on the whole generated corpus for a stable MB/s figure.
Presidio runs fully offline: pattern recognizers only, NoOpNlpEngine, tldextract without its
suffix-list download.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import pyarrow as pa

from pipelines.lib.generate import GeneratorConfig, generate
from pipelines.lib.pii_eval import build_eval_set, evaluate
from pipelines.lib.redaction import DETECTORS, PII_TYPES, PLACEHOLDERS, redact

PRESIDIO_ENTITIES = {
    "EMAIL_ADDRESS": "email",
    "PHONE_NUMBER": "phone",
    "CREDIT_CARD": "credit_card",
    "IBAN_CODE": "iban",
    "IP_ADDRESS": "ip_address",
    "US_SSN": "us_ssn",
}


def trainset_engine(texts: list[str]) -> list[str]:
    return redact(pa.array(texts, type=pa.large_string()), list(PII_TYPES)).text.to_pylist()


def python_re_loop(texts: list[str]) -> list[str]:
    """The same detectors, applied with Python's `re` one text at a time."""
    compiled = [(d.python_pattern, d.placeholder, d.validate) for d in DETECTORS]
    out = []
    for text in texts:
        for pattern, placeholder, validate in compiled:
            text = pattern.sub(
                lambda m, p=placeholder, v=validate: p if v is None or v(m.group(1)) else m.group(0), text
            )
        out.append(text)
    return out


def presidio_redactor() -> Callable[[list[str]], list[str]]:
    import tldextract

    tldextract.extract = tldextract.TLDExtract(suffix_list_urls=())  # offline: no suffix-list fetch
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NoOpNlpEngine
    from presidio_anonymizer import AnonymizerEngine

    analyzer = AnalyzerEngine(
        nlp_engine=NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "noop"}]), supported_languages=["en"]
    )
    anonymizer = AnonymizerEngine()
    entities = list(PRESIDIO_ENTITIES)

    def run(texts: list[str]) -> list[str]:
        out = []
        for text in texts:
            found = analyzer.analyze(text, language="en", entities=entities)
            redacted = anonymizer.anonymize(text, found).text
            for entity, ours in PRESIDIO_ENTITIES.items():  # Presidio writes <EMAIL_ADDRESS>: use our names
                redacted = redacted.replace(f"<{entity}>", PLACEHOLDERS[ours])
            out.append(redacted)
        return out

    return run


def timed(redactor: Callable[[list[str]], list[str]], texts: list[str], min_seconds: float = 1.0) -> float:
    """Seconds per pass, repeating short runs until `min_seconds` have passed."""
    redactor(texts[:50])  # warm up: compile patterns, load tables
    runs, started = 0, time.perf_counter()
    while True:
        redactor(texts)
        runs += 1
        elapsed = time.perf_counter() - started
        if elapsed >= min_seconds:
            return elapsed / runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=200_000, help="generated tickets for the corpus")
    parser.add_argument("--sample", type=int, default=10_000, help="texts all three engines redact")
    args = parser.parse_args()
    tickets = generate(GeneratorConfig(rows=args.tickets, seed=99)).tickets
    corpus = tickets["subject"].tolist() + tickets["body"].tolist()
    sample = corpus[:: max(1, len(corpus) // args.sample)][: args.sample]
    # The pipeline hands the engine Arrow columns and keeps its output in Arrow: no Python strings.
    # Timed first, in a fresh process: later in the run (Presidio loaded, the labelled set built)
    # the same calls measure 10-15% slower.
    sample_mb = sum(len(t.encode()) for t in sample) / 1e6
    corpus_mb = sum(len(t.encode()) for t in corpus) / 1e6
    for name, texts, mb in (("sample", sample, sample_mb), ("corpus", corpus, corpus_mb)):
        column = pa.array(texts, type=pa.large_string())
        for threads in (1, 2):
            seconds = timed(lambda _, c=column, t=threads: redact(c, list(PII_TYPES), threads=t), texts, 2.0)
            print(f"trainset on Arrow columns, {name}, {threads} thread(s): {mb / seconds:.0f} MB/s")
    labelled = build_eval_set()
    engines = {"trainset (RE2, vectorised)": trainset_engine, "Python re, per row": python_re_loop}
    engines["Presidio (patterns only)"] = presidio_redactor()

    print(f"\nsample: {len(sample):,} texts, {sample_mb:.2f} MB; recall on {len(labelled):,} labelled texts")
    print(f"{'engine':<28} {'MB/s':>8} {'texts/s':>11} " + " ".join(f"{t[:7]:>7}" for t in PII_TYPES))
    speeds = {}
    for name, engine in engines.items():
        seconds = timed(engine, sample)
        speeds[name] = sample_mb / seconds
        scores = evaluate(engine, labelled)
        recalls = " ".join(f"{scores[t].recall:>7.3f}" for t in PII_TYPES)
        print(f"{name:<28} {sample_mb / seconds:>8.2f} {len(sample) / seconds:>11,.0f} {recalls}")
    seconds = timed(trainset_engine, corpus, min_seconds=2.0)
    print(
        f"\ntrainset on the whole corpus: {len(corpus):,} texts, {corpus_mb:.1f} MB: "
        f"{corpus_mb / seconds:.0f} MB/s, {len(corpus) / seconds:,.0f} texts/s (Python lists in and out)"
    )
    base = speeds["trainset (RE2, vectorised)"]
    print(
        f"speed-up on the sample: {base / speeds['Presidio (patterns only)']:.0f}x Presidio, "
        f"{base / speeds['Python re, per row']:.0f}x the Python loop"
    )


if __name__ == "__main__":
    main()
