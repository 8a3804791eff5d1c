"""Rasa NLU component: Rasa's ``LogisticRegressionClassifier``, the same model, parsed without waste.

A profile of one parse (cProfile, 300 Bitext sentences) found most of the classifier's time in two
places that grow with the number of features, not with the message:

- ``predict_proba`` multiplies the message's sparse row by ``coef_.T``; scikit-learn keeps
  ``coef_`` in row order, so its transpose is not contiguous and SciPy copies the whole
  classes x features matrix (about 40 x 40,000 floats) for every message. Keeping ``coef_`` in
  column order makes the transpose contiguous: no copy, the same numbers.
- ``Message.get_sparse_features`` combines both the sequence features (one row per token) and the
  sentence features of every featurizer, each with a deep copy and a SciPy ``hstack``; the
  classifier uses only the sentence features. Here they are stacked once.

Training, the fitted model and every probability are the same as Rasa's component.
"""

from __future__ import annotations

import numpy as np
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.message import Message
from scipy.sparse import csr_matrix, hstack, vstack


def sentence_row(message: Message) -> csr_matrix:
    """The message's sentence features of every featurizer side by side, in the order Rasa stacks them:
    sparse first, then dense."""
    sentence = [f for f in message.features if f.attribute == TEXT and f.type == FEATURE_TYPE_SENTENCE]
    blocks = [csr_matrix(f.features) for f in sentence if f.is_sparse()]
    blocks += [csr_matrix(f.features) for f in sentence if f.is_dense()]
    if not blocks:
        return csr_matrix((1, 0))
    return blocks[0] if len(blocks) == 1 else hstack(blocks, format="csr")


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class LeanLogisticRegressionClassifier(LogisticRegressionClassifier):
    """``LogisticRegressionClassifier`` with a contiguous weight matrix and sentence features only."""

    def _create_X(self, messages: list[Message]) -> csr_matrix:
        return vstack([sentence_row(m) for m in messages], format="csr")

    def process(self, messages: list[Message]) -> list[Message]:
        coef = getattr(self.clf, "coef_", None)
        if coef is not None and not coef.flags.f_contiguous:
            self.clf.coef_ = np.asfortranarray(coef)  # coef_.T is then C-contiguous: no copy per message
        return super().process(messages)
