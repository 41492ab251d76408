"""Run an exported SavedModel the way a serving host does: a fresh process, TensorFlow only.

    python verify_savedmodel.py SAVEDMODEL_DIR INPUTS.npz OUTPUTS.npz

INPUTS.npz holds arrays named ``<case>/<input name>``; ``serving_default`` runs once per
case with those named inputs, and OUTPUTS.npz gets one array per case. Deliberately
imports nothing from tfgan_app.
"""

import sys

import numpy as np
import tensorflow as tf


def main(model_dir: str, inputs_path: str, outputs_path: str) -> None:
    signature = tf.saved_model.load(model_dir).signatures["serving_default"]
    arrays = np.load(inputs_path)
    cases: dict[str, dict] = {}
    for key in arrays.files:
        case, name = key.split("/", 1)
        cases.setdefault(case, {})[name] = tf.constant(arrays[key])
    outputs = {case: next(iter(signature(**inputs).values())).numpy() for case, inputs in cases.items()}
    assert not any(name.startswith("tfgan_app") for name in sys.modules), "imported project code"
    np.savez(outputs_path, **outputs)


if __name__ == "__main__":
    main(*sys.argv[1:4])
