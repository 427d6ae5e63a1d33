"""The bundled models: MiniLM is re-quantized for int8 arithmetic, checked, and rebuilt when stale."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant import models
from assistant.embedding import MiniLMEmbedder
from assistant.errors import ModelError

SENTENCES = [
    "Adapted cycling on trikes and hand bikes at the park in Harlow.",
    "He finds the stairs tiring and would like a second banister.",
    "Goalball for people with a visual impairment, Thursday evenings.",
]


@pytest.fixture()
def models_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RECONNECT_MODELS_DIR", str(tmp_path))
    return tmp_path


def test_when_minilm_is_prepared_then_every_weight_product_is_int8_and_vectors_agree(models_home: Path) -> None:
    import onnx

    quantized, tokenizer = models.minilm_files()
    assert quantized.parent.parent == models_home
    ops = [node.op_type for node in onnx.load(str(quantized)).graph.node]
    # 6 layers x (query, key, value, attention output, two feed-forward) weight products
    assert ops.count("MatMulInteger") == 36
    assert ops.count("MatMul") == 12  # attention's two activation products per layer stay float32

    source, _ = models.minilm_source_files()
    ours = MiniLMEmbedder(model=quantized, tokenizer=tokenizer).embed(SENTENCES)
    shipped = MiniLMEmbedder(model=source, tokenizer=tokenizer).embed(SENTENCES)
    cosines = (ours * shipped).sum(axis=1)
    assert cosines.min() >= 0.98, cosines
    assert not np.allclose(ours, shipped)  # it really is another model file


def test_when_the_recipe_changes_then_the_int8_model_is_rebuilt(models_home: Path) -> None:
    quantized, _ = models.minilm_files()
    stamp = quantized.with_name("recipe.txt")
    stamp.write_text("an older recipe", encoding="utf-8")
    quantized.write_bytes(b"not a model")
    rebuilt, _ = models.minilm_files()
    assert rebuilt == quantized
    assert rebuilt.stat().st_size > 10_000_000
    assert stamp.read_text(encoding="utf-8") == models.MINILM_RECIPE


def test_when_the_int8_model_disagrees_then_it_is_refused_and_nothing_is_left(
    models_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(models, "MINILM_MIN_COSINE", 1.01)
    with pytest.raises(ModelError, match="agrees with the shipped model only to cosine"):
        models.minilm_files()
    folder = models_home / "minilm-int8"
    assert not (folder / "model.onnx").exists()
    assert list(folder.iterdir()) == []  # no half-written temporary files either
