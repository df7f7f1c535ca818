"""A tiny Llama-architecture safety model with random weights, saved as a local directory.

Used by the learned text moderation tests (tests/safety and tests/service): it exercises the
real transformers loading and generation path without any downloaded weights.
"""

from __future__ import annotations

from pathlib import Path


def build_tiny_guard(path: Path) -> Path:
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    torch.manual_seed(0)
    words = [
        "<pad>",
        "<unk>",
        "<s>",
        "</s>",
        "user",
        "assistant",
        "safe",
        "unsafe",
        "S1",
        "S10",
        "a",
        "fox",
        "nude",
        "woman",
    ]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", unk_token="<unk>", bos_token="<s>", eos_token="</s>"
    )
    fast.chat_template = "{% for m in messages %}{{ m['role'] }} {{ m['content'] }} {% endfor %}assistant"
    config = LlamaConfig(
        vocab_size=len(words),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=64,
    )
    LlamaForCausalLM(config).save_pretrained(path)
    fast.save_pretrained(path)
    return path
