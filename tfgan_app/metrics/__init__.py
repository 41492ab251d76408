"""Evaluation metrics: distances between feature sets, and toy-distribution metrics.

Feature extraction is separate: any [N, D] features (or [N, classes] probabilities for the
classifier score) from any extractor go into these functions.
"""

from tfgan_app.metrics.distances import (
    Copying, Statistics, classifier_score, copying, feature_statistics, frechet_distance, kernel_distance,
    precision_recall,
)
from tfgan_app.metrics.toy import ModeMetrics, ks_statistic, mode_metrics, wasserstein_1d

__all__ = [
    "Copying", "ModeMetrics", "Statistics", "classifier_score", "copying", "feature_statistics", "frechet_distance",
    "kernel_distance", "ks_statistic", "mode_metrics", "precision_recall", "wasserstein_1d",
]
