"""ICD-10 search-as-you-type: index build time and per-keystroke query times over every code and language.

    python bench/icd10_search.py

Types every code prefix of one and two characters and common word prefixes, in uz, ru and en, and prints the build
time and the median, p95, p99 and worst query time. A keystroke budget is 50 ms (the page debounces typing).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # runnable as a plain script from any directory

from ehealth.emr.icd10_search import search  # noqa: E402

WORDS = ["dis", "disease", "acute", "fracture", "in", "o'tkir", "gipert", "qand", "бол", "остр", "пневм", "диаб"]


def main() -> None:
    """Build the index once, then time each typed text in each language."""
    start = time.perf_counter()
    search("warm", "en")
    build = time.perf_counter() - start
    letters = [chr(c) for c in range(ord("A"), ord("Z") + 1)]
    typed = letters + [a + str(d) for a in letters for d in range(10)] + WORDS
    times = []
    for text in typed:
        for language in ("uz", "ru", "en"):
            start = time.perf_counter()
            search(text, language)
            times.append((time.perf_counter() - start) * 1000)
    times.sort()
    print(f"index build: {build * 1000:.0f} ms; queries: {len(times)}")
    print(
        f"median {statistics.median(times):.3f} ms, p95 {_at(times, 0.95):.2f} ms, "
        f"p99 {_at(times, 0.99):.2f} ms, worst {times[-1]:.2f} ms"
    )


def _at(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


if __name__ == "__main__":
    main()
