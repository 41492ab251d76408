"""The measures of a video generator (MoCoGAN, Tulyakov et al. 2018, sec. 4; FVD,
Unterthiner et al. 2018), on two pinned classifiers of Moving Fashion-MNIST:

- ``fvd``: the Fréchet distance between real and generated clips on the clip classifier's
  features (``networks.video.clip_classifier``, trained on item x direction): FVD's
  construction, with our classifier in place of the I3D action-recognition network;
- ``frame_fid``: the Fréchet distance between single frames on the frame classifier's
  features (item class), which judges the frames as images and ignores motion;
- ``content_consistency``: per clip, the share of its frames the frame classifier puts in
  the clip's most frequent class, averaged over clips (MoCoGAN's per-clip consistency of
  content, with a classifier in place of its face-identity network). The real clips hold
  one item each, so their figure is the classifier's own consistency: the floor to compare with.
"""

from __future__ import annotations

import numpy as np

from tfgan_app.metrics.distances import feature_statistics, frechet_distance
from tfgan_app.metrics.report import row


def content_consistency(frame_classes: np.ndarray) -> float:
    """frame_classes int [N, frames] -> the mean over clips of the share of frames in the
    clip's most frequent class (1: every clip shows one class throughout)."""
    frame_classes = np.asarray(frame_classes)
    shares = [np.bincount(clip).max() / len(clip) for clip in frame_classes]
    return float(np.mean(shares))


def frame_outputs(clips: np.ndarray, frame_extractor) -> tuple[np.ndarray, np.ndarray]:
    """(features [N x frames, D], predicted classes [N, frames]) of every frame of ``clips``."""
    frames = clips.reshape(-1, *clips.shape[2:])
    features, probabilities = frame_extractor.run(frames)
    return features, probabilities.argmax(1).reshape(clips.shape[:2])


def video_rows(real: np.ndarray, fake: np.ndarray, clip_extractor, frame_extractor) -> list[dict]:
    """FVD-style distance, per-frame FID and content consistency of ``fake`` against ``real``
    (clips [N, frames, H, W, C] in [-1, 1])."""
    real_clip, _ = clip_extractor.run(real)
    fake_clip, _ = clip_extractor.run(fake)
    real_frames, _ = frame_outputs(real, frame_extractor)
    fake_frames, fake_classes = frame_outputs(fake, frame_extractor)
    clip_meta = dict(extractor=clip_extractor.name, layer=clip_extractor.layer, num_real=len(real), num_fake=len(fake))
    frame_meta = dict(extractor=frame_extractor.name, layer=frame_extractor.layer,
                      num_real=len(real_frames), num_fake=len(fake_frames))
    return [
        row("fvd", frechet_distance(feature_statistics(real_clip), feature_statistics(fake_clip)), **clip_meta),
        row("frame_fid", frechet_distance(feature_statistics(real_frames), feature_statistics(fake_frames)), **frame_meta),
        row("content_consistency", content_consistency(fake_classes),
            **{**frame_meta, "layer": "logits", "num_real": 0, "num_fake": len(fake)}),
    ]


def majority_classes(clips: np.ndarray, frame_extractor) -> np.ndarray:
    """The frame classifier's most frequent class over each clip's frames, int [N]."""
    _, classes = frame_outputs(clips, frame_extractor)
    return np.array([np.bincount(clip).argmax() for clip in classes])


def held_content_agreement(first: np.ndarray, second: np.ndarray, frame_extractor) -> float:
    """Clips made in pairs (``first[i]``, ``second[i]``): the share of pairs whose majority
    classes agree. For a content code held while the motion noise is drawn again, it says how
    often the same item comes back; pairs of unrelated clips give the chance level."""
    return float(np.mean(majority_classes(first, frame_extractor) == majority_classes(second, frame_extractor)))
