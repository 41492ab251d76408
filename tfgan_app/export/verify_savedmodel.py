"""Run an exported SavedModel the way a serving host does: a fresh process, TensorFlow only.

    python verify_savedmodel.py SAVEDMODEL_DIR INPUTS.npz OUTPUTS.npz

Runs ``serving_default`` on every array in INPUTS.npz (as ``z``) and writes the outputs under
the same keys. Deliberately imports nothing from tfgan_app.
"""

import sys

import numpy as np
import tensorflow as tf


def main(model_dir: str, inputs_path: str, outputs_path: str) -> None:
    signature = tf.saved_model.load(model_dir).signatures["serving_default"]
    inputs = np.load(inputs_path)
    outputs = {}
    for key in inputs.files:
        result = signature(z=tf.constant(inputs[key]))
        outputs[key] = next(iter(result.values())).numpy()
    assert not any(name.startswith("tfgan_app") for name in sys.modules), "imported project code"
    np.savez(outputs_path, **outputs)


if __name__ == "__main__":
    main(*sys.argv[1:4])
