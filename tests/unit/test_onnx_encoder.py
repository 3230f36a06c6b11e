"""The int8 ONNX encoder against the fp32 model it is exported from, and the setting that picks an encoder.

The first run exports the model into the cache folder (a few seconds; PITCHCRAFT_MODEL_CACHE or ~/.cache)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from services.core.embeddings import DIMENSION, create_embedder, encoder_setting

SENTENCES = [
    "Single sign-on through Okta, with SCIM provisioning of users and groups.",
    "Row level security policies decide which rows each signed-in user may read.",
    "The CFO wants predictable pricing without per-seat surprises at renewal.",
    "Point-in-time recovery restores the database to any second of the last seven days.",
    "Our competitor charges extra for audit logs.",
    "hello",
]


def test_encoder_setting_defaults_to_fp32_weights_on_onnxruntime(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PITCHCRAFT_ENCODER", raising=False)
    assert encoder_setting() == "onnx-fp32"
    monkeypatch.setenv("PITCHCRAFT_ENCODER", " INT8 ")
    assert encoder_setting() == "int8"


def test_unknown_encoder_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PITCHCRAFT_ENCODER", "fp16")
    with pytest.raises(ValueError, match="PITCHCRAFT_ENCODER must be one of onnx-fp32, fp32, int8"):
        encoder_setting()
    with pytest.raises(ValueError, match="unknown encoder"):
        create_embedder("bf16")


@pytest.fixture(scope="module")
def int8() -> Any:
    pytest.importorskip("onnxruntime", reason="onnxruntime is not installed: the int8 encoder cannot run")
    pytest.importorskip("onnx", reason="onnx is not installed: the int8 model cannot be exported")
    return create_embedder("int8")


@pytest.fixture(scope="module")
def fp32() -> Any:
    return create_embedder("fp32")


def test_int8_vectors_have_the_fp32_shape_and_unit_length(int8: Any) -> None:
    vectors = int8.embed(SENTENCES)
    assert vectors.shape == (len(SENTENCES), DIMENSION)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert int8.embed([]).shape == (0, DIMENSION)


def test_int8_vectors_are_close_to_fp32(int8: Any, fp32: Any) -> None:
    a, b = int8.embed(SENTENCES), fp32.embed(SENTENCES)
    cosine = (a * b).sum(axis=1)
    assert cosine.min() >= 0.98, cosine


def test_int8_keeps_input_order_across_passes(int8: Any, fp32: Any) -> None:
    # Texts are sorted by length inside the call; each row must still answer its own text.
    texts = [*SENTENCES, "audit logs " * 200]  # the last is cut at 256 word pieces, as the fp32 model cuts it
    together = int8.embed(texts, batch_size=2)
    reference = fp32.embed(texts)
    similarity = together @ reference.T
    assert list(similarity.argmax(axis=1)) == list(range(len(texts)))
    # Activations are quantized per pass, so a vector moves slightly with its pass neighbours (cosine about
    # 0.99 between a text embedded alone and in a pass of two); the same call gives the same vectors. The int8
    # error also depends on the CPU's kernels (onnxruntime's u8s8 path without VNNI can saturate): 256 word pieces
    # of one repeated phrase, the worst case here, measured 0.976 on one machine and above 0.98 on another.
    assert np.diag(similarity)[:-1].min() >= 0.98
    assert similarity[-1, -1] >= 0.95
    assert np.array_equal(int8.embed(texts, batch_size=2), together)


def test_onnx_fp32_gives_the_torch_vectors(fp32: Any) -> None:
    pytest.importorskip("onnxruntime", reason="onnxruntime is not installed: the ONNX encoder cannot run")
    pytest.importorskip("onnx", reason="onnx is not installed: the model cannot be exported")
    onnx_fp32 = create_embedder("onnx-fp32")
    a, b = onnx_fp32.embed(SENTENCES), fp32.embed(SENTENCES)
    assert a.shape == b.shape
    assert (a * b).sum(axis=1).min() >= 0.9999
