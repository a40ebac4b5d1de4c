"""Convert a CTranslate2 Whisper folder (model.bin + config.json) into an OpenAI-format Whisper checkpoint.

Why: WhisperLiveKit's SimulStreaming policy decodes with its own copy of OpenAI's PyTorch Whisper code and needs
OpenAI-format weights ({"dims": ..., "model_state_dict": ...}); offline the only base weights are the CTranslate2
folder Earshot's benchmark already uses. Converting that very folder keeps both peers on the same weights.

The CTranslate2 binary layout (version 6, written by ctranslate2.specs.model_spec.ModelSpec._serialize): u32 version,
string spec name, u32 revision, u32 variable count, then per variable: string name, u8 rank, u32 dims, u8 dtype id,
u32 byte count, raw bytes; then u32 alias count and (alias, target) string pairs. Strings are u16 length (with the
trailing NUL) + UTF-8 + NUL. The ctranslate2 package only writes this format (its reader is C++), so it is parsed
here; every variable must be consumed or the conversion fails.

Usage: python ct2-to-openai.py CT2_DIR OUT_DIR
writes OUT_DIR/<name of OUT_DIR>.pt (WhisperLiveKit takes the model's name, and so whether it is English-only, from
the folder's name), OUT_DIR/alignment-heads.txt and OUT_DIR/source.json. The alignment heads come from
CT2_DIR/config.json (written by CTranslate2's converter from the Hugging Face model), in the base85 form of OpenAI's
table, which WhisperLiveKit's --custom-alignment-heads takes. source.json records the SHA-256 of the model.bin it
came from: a second run on the same weights does nothing.
"""

import argparse
import base64
import gzip
import hashlib
import json
import struct
import sys
from pathlib import Path

import numpy as np

# DataType enum order of CTranslate2 (include/ctranslate2/types.h)
DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
BFLOAT16 = 5


def read_ct2(path: Path) -> tuple[str, dict[str, np.ndarray]]:
    buf = path.read_bytes()
    pos = 0

    def take(fmt: str):
        nonlocal pos
        (value,) = struct.unpack_from("<" + fmt, buf, pos)
        pos += struct.calcsize("<" + fmt)
        return value

    def string() -> str:
        nonlocal pos
        n = take("H")
        text = buf[pos : pos + n - 1].decode("utf-8")
        pos += n
        return text

    version = take("I")
    if version != 6:
        raise SystemExit(f"{path}: CTranslate2 binary version {version}, this reader knows 6")
    spec = string()
    take("I")  # spec revision
    variables: dict[str, np.ndarray] = {}
    for _ in range(take("I")):
        name = string()
        shape = [take("I") for _ in range(take("B"))]
        dtype_id = take("B")
        nbytes = take("I")
        raw = buf[pos : pos + nbytes]
        pos += nbytes
        if dtype_id == BFLOAT16:
            # numpy has no bfloat16: widen the 16 bits into the top half of a float32
            arr = (np.frombuffer(raw, np.uint16).astype(np.uint32) << 16).view(np.float32)
        elif dtype_id in DTYPES:
            arr = np.frombuffer(raw, DTYPES[dtype_id])
        else:
            raise SystemExit(f"{path}: variable {name} has unknown dtype id {dtype_id}")
        variables[name] = arr.reshape(shape).copy()
    for _ in range(take("I")):
        alias, target = string(), string()
        variables[alias] = variables[target]
    if pos != len(buf):
        raise SystemExit(f"{path}: {len(buf) - pos} trailing bytes after the aliases")
    return spec, variables


def convert(ct2_dir: Path) -> tuple[dict, dict, list[list[int]]]:
    import torch  # only when converting: the up-to-date check stays quick

    spec, v = read_ct2(ct2_dir / "model.bin")
    if spec != "WhisperSpec":
        raise SystemExit(f"{ct2_dir}: spec {spec}, not WhisperSpec")
    if any(name.endswith("_scale") for name in v):
        raise SystemExit(f"{ct2_dir}: int8-quantized weights (…_scale variables); convert from a float16/float32 model")
    used: set[str] = set()
    out: dict = {}

    def get(name: str) -> np.ndarray:
        used.add(name)
        return v[name]

    def put(name: str, arr: np.ndarray) -> None:
        out[name] = torch.from_numpy(np.ascontiguousarray(arr))

    def linear(src: str, dst: str, bias: bool = True) -> None:
        put(f"{dst}.weight", get(f"{src}/weight"))
        if bias:
            put(f"{dst}.bias", get(f"{src}/bias"))

    def norm(src: str, dst: str) -> None:
        put(f"{dst}.weight", get(f"{src}/gamma"))
        put(f"{dst}.bias", get(f"{src}/beta"))

    def split(src: str, dsts: list[str]) -> None:
        """A fused projection (q|k|v or k|v) back into OpenAI's separate ones; its key has no bias."""
        weights = np.split(get(f"{src}/weight"), len(dsts), axis=0)
        biases = np.split(get(f"{src}/bias"), len(dsts), axis=0)
        for dst, w, b in zip(dsts, weights, biases):
            put(f"{dst}.weight", w)
            if dst.endswith(".key"):
                # CTranslate2 fills the bias-free key projection's slot with zeros when fusing
                if np.abs(b.astype(np.float32)).max() != 0:
                    raise SystemExit(f"{src}: non-zero key bias, which OpenAI's Whisper does not have")
            else:
                put(f"{dst}.bias", b)

    def layers(prefix: str) -> int:
        n = 0
        while f"{prefix}/layer_{n}/ffn/linear_0/weight" in v:
            n += 1
        return n

    n_audio_layer, n_text_layer = layers("encoder"), layers("decoder")

    def self_attention_and_mlp(s: str, d: str) -> None:
        """The parts every encoder and decoder block has: self-attention and the MLP, each with its norm."""
        norm(f"{s}/self_attention/layer_norm", f"{d}.attn_ln")
        split(f"{s}/self_attention/linear_0", [f"{d}.attn.query", f"{d}.attn.key", f"{d}.attn.value"])
        linear(f"{s}/self_attention/linear_1", f"{d}.attn.out")
        norm(f"{s}/ffn/layer_norm", f"{d}.mlp_ln")
        linear(f"{s}/ffn/linear_0", f"{d}.mlp.0")
        linear(f"{s}/ffn/linear_1", f"{d}.mlp.2")

    # encoder
    linear("encoder/conv1", "encoder.conv1")
    linear("encoder/conv2", "encoder.conv2")
    put("encoder.positional_embedding", get("encoder/position_encodings/encodings"))
    for i in range(n_audio_layer):
        self_attention_and_mlp(f"encoder/layer_{i}", f"encoder.blocks.{i}")
    norm("encoder/layer_norm", "encoder.ln_post")

    # decoder
    put("decoder.token_embedding.weight", get("decoder/embeddings/weight"))
    put("decoder.positional_embedding", get("decoder/position_encodings/encodings"))
    for i in range(n_text_layer):
        s, d = f"decoder/layer_{i}", f"decoder.blocks.{i}"
        self_attention_and_mlp(s, d)
        norm(f"{s}/attention/layer_norm", f"{d}.cross_attn_ln")
        linear(f"{s}/attention/linear_0", f"{d}.cross_attn.query")
        split(f"{s}/attention/linear_1", [f"{d}.cross_attn.key", f"{d}.cross_attn.value"])
        linear(f"{s}/attention/linear_2", f"{d}.cross_attn.out")
    norm("decoder/layer_norm", "decoder.ln")

    # OpenAI ties the output projection to the token embedding, as CTranslate2's alias does
    projection = v.get("decoder/projection/weight")
    if projection is not None and projection is not v["decoder/embeddings/weight"]:
        raise SystemExit("decoder/projection/weight is not tied to the token embedding; OpenAI's Whisper ties them")
    used.add("decoder/projection/weight")

    # scalars describing the architecture: checked, not converted
    expected_flags = {
        "decoder/pre_norm": 1,
        "decoder/scale_embeddings": 0,
        "decoder/alibi": 0,
    }
    for name, want in expected_flags.items():
        if name in v and int(v[name]) != want:
            raise SystemExit(f"{name} = {int(v[name])}, OpenAI's Whisper needs {want}")
    for name in v:
        if name not in used and v[name].ndim > 0:
            raise SystemExit(f"{name} {list(v[name].shape)} was not converted")

    conv1 = v["encoder/conv1/weight"]
    dims = {
        "n_mels": int(conv1.shape[1]),
        "n_audio_ctx": int(v["encoder/position_encodings/encodings"].shape[0]),
        "n_audio_state": int(conv1.shape[0]),
        "n_audio_head": int(v["encoder/num_heads"]),
        "n_audio_layer": n_audio_layer,
        "n_vocab": int(v["decoder/embeddings/weight"].shape[0]),
        "n_text_ctx": int(v["decoder/position_encodings/encodings"].shape[0]),
        "n_text_state": int(v["decoder/embeddings/weight"].shape[1]),
        "n_text_head": int(v["decoder/num_heads"]),
        "n_text_layer": n_text_layer,
    }
    config = json.loads((ct2_dir / "config.json").read_text())
    heads = config.get("alignment_heads") or []
    return dims, out, heads


def heads_base85(heads: list[list[int]], dims: dict) -> str:
    """OpenAI's encoding of alignment heads: a gzipped (n_text_layer, n_text_head) boolean array in base85."""
    mask = np.zeros((dims["n_text_layer"], dims["n_text_head"]), dtype=bool)
    for layer, head in heads:
        mask[layer, head] = True
    return base64.b85encode(gzip.compress(mask.tobytes(), mtime=0)).decode()


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("ct2_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args()
    out_dir: Path = args.out_dir.resolve()
    checkpoint = out_dir / f"{out_dir.name}.pt"
    heads_file = out_dir / "alignment-heads.txt"
    stamp_file = out_dir / "source.json"
    source = {"ct2_dir": str(args.ct2_dir.resolve()), "model_bin_sha256": sha256(args.ct2_dir / "model.bin")}
    if checkpoint.exists() and heads_file.exists() and stamp_file.exists():
        if json.loads(stamp_file.read_text()).get("model_bin_sha256") == source["model_bin_sha256"]:
            print(f"{checkpoint}: up to date", file=sys.stderr)
            return
    import torch

    dims, state, heads = convert(args.ct2_dir)
    if not heads:
        raise SystemExit(f"{args.ct2_dir}/config.json names no alignment_heads")
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp_file.unlink(missing_ok=True)
    tmp = checkpoint.with_suffix(".tmp")
    torch.save({"dims": dims, "model_state_dict": state}, tmp)
    tmp.replace(checkpoint)
    heads_file.write_text(heads_base85(heads, dims) + "\n")
    stamp_file.write_text(json.dumps({**source, "dims": dims, "alignment_heads": heads}, indent=2) + "\n")
    print(f"{checkpoint}: converted, {len(state)} tensors, dims {dims}, alignment heads {heads}", file=sys.stderr)


if __name__ == "__main__":
    main()
