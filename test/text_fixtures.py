"""A tiny random Grounding DINO folder for the text-prompt tests: built here, nothing downloaded.

``make_tiny_grounding_dino`` saves config, weights, tokenizer and image processor with ``save_pretrained``, so
``TextDetector.load`` reads it exactly like a downloaded folder. The vocabulary puts [PAD] [UNK] [CLS] [SEP]
[MASK] "." "?" at bert-base-uncased's ids (0, 100, 101, 102, 103, 1012, 1029): Grounding DINO's modelling code
hard-codes those ids to split phrases, so the tiny model splits "red mug. blue cup." like the real one.
``make_hf_cache`` lays such a folder out as a Hugging Face cache entry, to load it by model id offline.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

WORDS = ["red", "mug", "blue", "cup", "green", "box", "object", "a", "the"]  # the words the tests use
SPECIAL_IDS = {"[PAD]": 0, "[UNK]": 100, "[CLS]": 101, "[SEP]": 102, "[MASK]": 103, ".": 1012, "?": 1029}
FAKE_COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _vocab() -> dict[str, int]:
    size = max(SPECIAL_IDS.values()) + 1 + len(WORDS)
    tokens = [f"[unused{i}]" for i in range(size)]
    for token, index in SPECIAL_IDS.items():
        tokens[index] = token
    for offset, word in enumerate(WORDS):
        tokens[max(SPECIAL_IDS.values()) + 1 + offset] = word
    return {token: index for index, token in enumerate(tokens)}


def make_tiny_grounding_dino(folder: Path, seed: int = 0, num_queries: int = 12,
                             hub_layout: bool = False) -> Path:
    """Write a random ~0.2 M-parameter Grounding DINO (Swin backbone, 1-layer BERT) with its processor to
    ``folder``; returns it. ``hub_layout``: write the image processor as ``preprocessor_config.json``, as the
    IDEA-Research repositories on the Hub do, instead of transformers 5's ``processor_config.json``."""
    from transformers import (
        BertConfig,
        BertTokenizer,
        GroundingDinoConfig,
        GroundingDinoForObjectDetection,
        GroundingDinoProcessor,
        SwinConfig,
    )
    from transformers.models.grounding_dino.image_processing_pil_grounding_dino import GroundingDinoImageProcessorPil

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab = _vocab()
    backbone = SwinConfig(image_size=64, patch_size=4, embed_dim=8, depths=[1, 1, 1, 1],
                          num_heads=[1, 1, 1, 1], window_size=4, out_indices=[2, 3, 4])
    text = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                      intermediate_size=32, max_position_embeddings=64)
    config = GroundingDinoConfig(  # d_model must be a multiple of 32 (GroupNorm(32, d_model))
        backbone_config=backbone, text_config=text, d_model=32, encoder_layers=1, decoder_layers=2,
        encoder_ffn_dim=32, decoder_ffn_dim=32, encoder_attention_heads=2, decoder_attention_heads=2,
        num_queries=num_queries, max_text_len=32, num_feature_levels=4, encoder_n_points=2,
        decoder_n_points=2)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = GroundingDinoForObjectDetection(config).eval()
    # BertTokenizer in transformers 5 ignores vocab_file=...: the vocabulary goes in as a dict.
    tokenizer = BertTokenizer(vocab=vocab, do_lower_case=True)
    image_processor = GroundingDinoImageProcessorPil(size={"shortest_edge": 64, "longest_edge": 96})
    processor = GroundingDinoProcessor(image_processor=image_processor, tokenizer=tokenizer)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")  # as downloaded folders have it
    if hub_layout:
        combined = folder / "processor_config.json"
        settings = json.loads(combined.read_text())
        image_settings = dict(settings["image_processor"], processor_class="GroundingDinoProcessor")
        (folder / "preprocessor_config.json").write_text(json.dumps(image_settings, indent=2))
        combined.unlink()
    return folder


def make_hf_cache(cache_dir: Path, model_id: str, folder: Path) -> Path:
    """Copy ``folder`` into ``cache_dir`` as the Hub cache entry of ``model_id`` (refs/main -> one snapshot),
    the layout `huggingface-cli download` leaves; returns the snapshot folder."""
    repo = Path(cache_dir) / ("models--" + model_id.replace("/", "--"))
    snapshot = repo / "snapshots" / FAKE_COMMIT
    shutil.copytree(folder, snapshot, dirs_exist_ok=True)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(FAKE_COMMIT)
    return snapshot
