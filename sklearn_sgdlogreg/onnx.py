r"""Export a fitted SGDLogisticRegression to ONNX, through skl2onnx.

Needs the optional ``[onnx]`` extra: ``pip install "sklearn-sgdlogreg[onnx]"``.

The exported graph computes what the estimator's ``predict`` and
``predict_proba`` compute, in the precision of its input (float or double):

.. math::

    z = x W^T + b, \qquad
    p = \begin{cases}
        [\sigma(-z), \sigma(z)] & \text{two classes,} \\
        \mathrm{softmax}(z) & \text{three or more,}
    \end{cases}

and the label is ``classes_[argmax p]``. skl2onnx's generic linear converter
does not fit this estimator: it treats the one score column of a binary
model as the two columns ``[-z, z]`` of a softmax, which gives
``sigmoid(2 z)``.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_is_fitted

from ._estimator import SGDLogisticRegression

__all__ = ["register", "to_onnx"]

#: The name skl2onnx knows the estimator's converter by.
ALIAS = "SklearnSGDLogisticRegression"


def _import_skl2onnx():
    try:
        import skl2onnx
    except ImportError as error:
        raise ImportError(
            "Exporting SGDLogisticRegression to ONNX needs skl2onnx; install "
            'the optional dependencies with: pip install "sklearn-sgdlogreg[onnx]"'
        ) from error
    return skl2onnx


def register():
    """Register the estimator's ONNX converter with skl2onnx.

    After this call ``skl2onnx.to_onnx`` and ``skl2onnx.convert_sklearn``
    convert an ``SGDLogisticRegression``, alone or as the last step of a
    pipeline whose other steps skl2onnx converts. Calling it again is
    harmless. The converter takes skl2onnx's options ``zipmap`` (``True``,
    skl2onnx's default, or ``False``) and ``nocl`` (``True``: labels are
    class indices).

    Raises
    ------
    ImportError
        If skl2onnx is not installed.
    """
    skl2onnx = _import_skl2onnx()
    skl2onnx.update_registered_converter(
        SGDLogisticRegression,
        ALIAS,
        _calculate_output_shapes,
        _convert,
        options={"zipmap": [True, False], "nocl": [True, False]},
    )


def to_onnx(model, *, dtype=np.float32, zipmap=False, target_opset=None):
    """Convert a fitted model to an ONNX graph.

    Parameters
    ----------
    model : SGDLogisticRegression
        A fitted estimator.
    dtype : {np.float32, np.float64}, default=np.float32
        Element type of the graph's input ``X`` (a dense matrix of shape
        ``(n_samples, n_features_in_)``), of its probabilities, and of the
        arithmetic in between.
    zipmap : bool, default=False
        False: the outputs are ``label``, shape (n_samples,), and
        ``probabilities``, shape (n_samples, n_classes) with columns in the
        order of ``classes_``, as ``predict`` and ``predict_proba`` return
        them. True: skl2onnx's ZipMap, ``output_label`` and
        ``output_probability``, a list of {class: probability} dictionaries;
        float32 only (ONNX's ZipMap takes no doubles).
    target_opset : int or None, default=None
        ONNX opset of the graph; None takes skl2onnx's default.

    Returns
    -------
    onnx_model : onnx.ModelProto

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If ``model`` is not fitted.
    ValueError
        If ``dtype`` is neither float32 nor float64, or ``zipmap=True`` with
        float64.
    ImportError
        If skl2onnx is not installed.

    Examples
    --------
    >>> import numpy as np
    >>> import onnxruntime as ort
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_sgdlogreg import SGDLogisticRegression
    >>> from sklearn_sgdlogreg.onnx import to_onnx
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = SGDLogisticRegression(random_state=0).fit(X, y)
    >>> session = ort.InferenceSession(to_onnx(clf).SerializeToString())
    >>> label, proba = session.run(None, {"X": X.astype(np.float32)})
    >>> bool((label == clf.predict(X)).all())
    True
    >>> bool(np.abs(proba - clf.predict_proba(X)).max() < 1e-5)
    True
    """
    if not isinstance(model, SGDLogisticRegression):
        raise TypeError(
            f"to_onnx converts an SGDLogisticRegression, got {type(model).__name__}; "
            "for a pipeline, call register() and then skl2onnx.to_onnx."
        )
    check_is_fitted(model)
    skl2onnx = _import_skl2onnx()
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    tensor_types = {
        np.dtype(np.float32): FloatTensorType,
        np.dtype(np.float64): DoubleTensorType,
    }
    if np.dtype(dtype) not in tensor_types:
        raise ValueError(f"dtype must be np.float32 or np.float64, got {dtype!r}.")
    if zipmap and np.dtype(dtype) != np.float32:
        raise ValueError(
            "zipmap=True needs dtype=np.float32: ONNX's ZipMap takes no doubles."
        )
    register()
    input_type = tensor_types[np.dtype(dtype)]([None, model.n_features_in_])
    return skl2onnx.to_onnx(
        model,
        initial_types=[("X", input_type)],
        options={id(model): {"zipmap": zipmap}},
        target_opset=target_opset,
    )


def _labels(scope, model):
    """The labels' skl2onnx tensor type, ONNX element type and values.

    Labels that are not strings become int64, as in skl2onnx's own
    classifiers: scikit-learn takes float labels only when they are whole
    numbers. skl2onnx's option ``nocl`` replaces them by class indices.
    """
    from skl2onnx.common.data_types import Int64TensorType, StringTensorType
    from skl2onnx.common.utils_classifier import get_label_classes
    from skl2onnx.proto import onnx_proto

    classes = get_label_classes(scope, model)
    if all(isinstance(label, str) for label in classes):
        values = np.array([label.encode() for label in classes])
        return StringTensorType, onnx_proto.TensorProto.STRING, values
    values = np.asarray(classes).astype(np.int64)
    return Int64TensorType, onnx_proto.TensorProto.INT64, values


def _calculate_output_shapes(operator):
    """Types and shapes of the label and probability outputs."""
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType
    from skl2onnx.common.utils import (
        check_input_and_output_numbers,
        check_input_and_output_types,
    )

    model = operator.raw_operator
    check_is_fitted(model)
    check_input_and_output_numbers(operator, input_count_range=1, output_count_range=2)
    check_input_and_output_types(
        operator, good_input_types=[FloatTensorType, DoubleTensorType]
    )
    input_type = operator.inputs[0].type
    n_columns = input_type.shape[1] if len(input_type.shape) == 2 else None
    if n_columns is not None and n_columns != model.n_features_in_:
        raise ValueError(
            f"The ONNX input has {n_columns} columns; the model was fitted on "
            f"{model.n_features_in_} features."
        )
    n_samples = operator.inputs[0].get_first_dimension()
    label_type, _, _ = _labels(operator.scope_inst, model)
    operator.outputs[0].type = label_type([n_samples])
    operator.outputs[1].type = type(input_type)([n_samples, len(model.classes_)])


def _convert(scope, operator, container):
    """Add the nodes of ``predict`` and ``predict_proba`` to the graph."""
    from skl2onnx.common.data_types import guess_numpy_type, guess_proto_type

    model = operator.raw_operator
    input_type = operator.inputs[0].type
    dtype = guess_numpy_type(input_type)
    proto_dtype = guess_proto_type(input_type)
    coef = model.coef_.toarray() if sp.issparse(model.coef_) else model.coef_
    _, label_proto, labels = _labels(scope, model)

    def constant(prefix, onnx_type, array):
        name = scope.get_unique_variable_name(prefix)
        container.add_initializer(name, onnx_type, list(array.shape), array.ravel())
        return name

    def add(op_type, inputs, output=None, **attributes):
        output = output or scope.get_unique_variable_name(op_type.lower())
        container.add_node(
            op_type,
            inputs,
            output,
            name=scope.get_unique_operator_name(op_type),
            **attributes,
        )
        return output

    weights = constant("coef", proto_dtype, np.asarray(coef.T, dtype=dtype))
    intercept = constant(
        "intercept", proto_dtype, np.asarray(model.intercept_, dtype=dtype)
    )
    raw_prediction = add(
        "Add", [add("MatMul", [operator.inputs[0].full_name, weights]), intercept]
    )
    probabilities = operator.outputs[1].full_name
    if len(model.classes_) == 2:
        # The sigmoids of [-z, z] are predict_proba's two columns, and their
        # argmax is predict's classes_[z > 0]: a tie at z = 0 goes to the
        # first, as there.
        scores = add("Concat", [add("Neg", [raw_prediction]), raw_prediction], axis=1)
        add("Sigmoid", [scores], probabilities)
    else:
        scores = raw_prediction
        add("Softmax", [scores], probabilities, axis=1)
    add(
        "Gather",
        [
            constant("classes", label_proto, labels),
            add("ArgMax", [scores], axis=1, keepdims=0),
        ],
        operator.outputs[0].full_name,
        axis=0,
    )
