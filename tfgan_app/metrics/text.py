"""The measures of generated text (plain Python and NumPy; texts are lists of strings):

- ``ngram_jsd``: the Jensen-Shannon divergence (nats) between the character n-gram
  distributions of two texts (Rajeswar et al. 2017, "Adversarial Generation of Natural
  Language", sec. 4): 0 for the same distribution, log 2 for disjoint ones;
- ``dictionary_share``: the share of generated words (runs of 3 or more letters: the word
  list holds every letter and most pairs, which random text hits) that a word list holds,
  with the real text's share as the ceiling;
- ``bleu``: corpus BLEU-4 (Papineni et al. 2002) of each generated text against the whole
  reference set, as SeqGAN reports it (Yu et al. 2017, sec. 5), over words; with equal-length
  windows the brevity penalty is left out;
- ``self_bleu``: each text against all the others of its set (Zhu et al. 2018, Texygen):
  high when the samples repeat each other.
"""

from __future__ import annotations

import collections
import math
import re

_WORD = re.compile(r"[A-Za-z]{3,}")


def ngrams(text: str, n: int) -> list[str]:
    return [text[start : start + n] for start in range(len(text) - n + 1)]


def ngram_distribution(texts: list[str], n: int) -> collections.Counter:
    counts = collections.Counter()
    for text in texts:
        counts.update(ngrams(text, n))
    return counts


def ngram_jsd(samples: list[str], reference: list[str], n: int) -> float:
    """JSD (nats) between the character n-gram distributions of ``samples`` and ``reference``."""
    p, q = ngram_distribution(samples, n), ngram_distribution(reference, n)
    p_total, q_total = sum(p.values()), sum(q.values())
    if not p_total or not q_total:
        raise ValueError(f"no {n}-grams in {'the samples' if not p_total else 'the reference'}")
    divergence = 0.0
    for gram in p.keys() | q.keys():
        p_share, q_share = p[gram] / p_total, q[gram] / q_total
        mean = (p_share + q_share) / 2
        if p_share:
            divergence += 0.5 * p_share * math.log(p_share / mean)
        if q_share:
            divergence += 0.5 * q_share * math.log(q_share / mean)
    return divergence


def words(text: str) -> list[str]:
    """The lower-cased runs of 3 or more letters."""
    return [word.lower() for word in _WORD.findall(text)]


def dictionary_share(texts: list[str], dictionary: set[str]) -> float:
    """The share of the texts' words (lower-cased runs of 3+ letters) found in ``dictionary``.
    A window cuts its first and last word: only the words inside it count."""
    found = total = 0
    for text in texts:
        inner = words(text)[1:-1]
        found += sum(word in dictionary for word in inner)
        total += len(inner)
    return found / total if total else 0.0


def _word_ngrams(text: str, n: int) -> collections.Counter:
    tokens = text.split()
    return collections.Counter(tuple(tokens[start : start + n]) for start in range(len(tokens) - n + 1))


def _clipped_precisions(candidates: list[str], reference_max: list[dict], exclude_self: list[dict] | None, order: int):
    matched, total = [0] * order, [0] * order
    for index, candidate in enumerate(candidates):
        for n in range(1, order + 1):
            counts = _word_ngrams(candidate, n)
            for gram, count in counts.items():
                best = reference_max[n - 1].get(gram, (0, 0))
                # Against the others only: the second-largest count where this text holds the largest.
                limit = best[0] if exclude_self is None or count < best[0] else best[1]
                matched[n - 1] += min(count, limit)
            total[n - 1] += sum(counts.values())
    return matched, total


def _max_counts(texts: list[str], order: int) -> list[dict]:
    """Per n-gram, the two largest counts any of the texts holds (the second for self-BLEU)."""
    maxima = [{} for _ in range(order)]
    for text in texts:
        for n in range(1, order + 1):
            for gram, count in _word_ngrams(text, n).items():
                first, second = maxima[n - 1].get(gram, (0, 0))
                maxima[n - 1][gram] = (count, first) if count >= first else (first, max(second, count))
    return maxima


def _geometric_mean(matched: list[int], total: list[int]) -> float:
    if not all(total) or not all(matched):
        return 0.0
    return math.exp(sum(math.log(m / t) for m, t in zip(matched, total)) / len(total))


def bleu(candidates: list[str], references: list[str], order: int = 4) -> float:
    """Corpus BLEU-``order`` of the candidates, each against every reference."""
    return _geometric_mean(*_clipped_precisions(candidates, _max_counts(references, order), None, order))


def self_bleu(texts: list[str], order: int = 4) -> float:
    """BLEU-``order`` of each text against all the others."""
    maxima = _max_counts(texts, order)
    return _geometric_mean(*_clipped_precisions(texts, maxima, maxima, order))
