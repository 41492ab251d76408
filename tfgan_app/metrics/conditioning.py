"""Does the generator obey its conditioning? Judged by the domain classifier.

- ``class_agreement``: a class-conditional generator (cGAN, Mirza & Osindero 2014) asked for
  class y should make images the classifier assigns to y: the fraction that it does, over
  all classes (and per class).
- ``code_to_class``: InfoGAN's categorical code (Chen et al. 2016) is unsupervised, so its
  values carry no class names. As in unsupervised-clustering accuracy (the metric Chen et al.
  report as 5% error on MNIST, sec. 7), each code value is mapped to one class by the
  one-to-one mapping that agrees with the classifier most often (the assignment problem,
  solved exactly by ``best_assignment``), and the fraction of samples landing in their
  code's class is the score.
"""

from __future__ import annotations

import numpy as np


def class_agreement(predicted: np.ndarray, asked: np.ndarray, num_classes: int) -> tuple[float, np.ndarray]:
    """(fraction of samples classified as the class they were generated for, the same per
    class [num_classes], NaN for a class never asked for)."""
    predicted, asked = np.asarray(predicted), np.asarray(asked)
    per_class = np.array([
        (predicted[asked == label] == label).mean() if (asked == label).any() else np.nan
        for label in range(num_classes)
    ])
    return float((predicted == asked).mean()), per_class


def best_assignment(scores: np.ndarray) -> np.ndarray:
    """For a score matrix [rows, columns] (rows <= columns), the column of each row in the
    one-to-one assignment with the largest total score (the Hungarian method, Kuhn 1955, in
    its O(n^3) shortest-augmenting-path form on costs = -scores)."""
    cost = -np.asarray(scores, np.float64)
    rows, columns = cost.shape
    if rows > columns:
        raise ValueError(f"cannot assign {rows} rows to {columns} columns one-to-one")
    # Potentials u (rows) and v (columns), 1-based with a virtual column 0 (the classic
    # formulation): owner[j] is the row assigned to column j.
    u, v = np.zeros(rows + 1), np.zeros(columns + 1)
    owner = np.zeros(columns + 1, dtype=int)
    for row in range(1, rows + 1):
        owner[0], column = row, 0
        slack = np.full(columns + 1, np.inf)
        previous = np.zeros(columns + 1, dtype=int)
        used = np.zeros(columns + 1, dtype=bool)
        while True:
            used[column] = True
            current_row = owner[column]
            reduced = cost[current_row - 1] - u[current_row] - v[1:]
            free = ~used[1:]
            better = free & (reduced < slack[1:])
            slack[1:][better] = reduced[better]
            previous[1:][better] = column
            candidates = np.where(free, slack[1:], np.inf)
            next_column = int(np.argmin(candidates)) + 1
            delta = candidates[next_column - 1]
            u[owner[used]] += delta
            v[used] -= delta
            slack[1:][free] -= delta
            column = next_column
            if owner[column] == 0:
                break
        while column:  # flip the augmenting path
            back = previous[column]
            owner[column] = owner[back]
            column = back
    assignment = np.zeros(rows, dtype=int)
    for column in range(1, columns + 1):
        if owner[column]:
            assignment[owner[column] - 1] = column - 1
    return assignment


def code_to_class(predicted: np.ndarray, codes: np.ndarray, num_codes: int, num_classes: int) -> tuple[float, np.ndarray]:
    """(fraction of samples whose class is their code value's mapped class, the mapping
    [num_codes] code value -> class) under the best one-to-one mapping. With more code
    values than classes the surplus values map to no class (-1) and count as misses."""
    counts = np.zeros((num_codes, num_classes))
    np.add.at(counts, (np.asarray(codes), np.asarray(predicted)), 1)
    if num_codes <= num_classes:
        mapping = best_assignment(counts)
    else:
        mapping = np.full(num_codes, -1)
        chosen = best_assignment(counts.T)  # each class gets one code value
        mapping[chosen] = np.arange(num_classes)
    hits = sum(counts[code, mapping[code]] for code in range(num_codes) if mapping[code] >= 0)
    return float(hits / max(len(predicted), 1)), mapping
