"""HunyuanVideo 1.5 pipelines with the real classes and tiny seeded weights, for tests of the
hunyuan backend's loading and calling code: a Qwen2.5-VL text model with a chat template, the
ByT5 glyph encoder, the x16 VAE, and (image-to-video) a SigLIP image encoder."""

from __future__ import annotations

from pathlib import Path

_LATENT = 4  # tiny latent channels; the released VAE has 32
_CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>{{ message['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def _parts(task_type: str):
    import torch
    from diffusers import (
        AutoencoderKLHunyuanVideo15,
        ClassifierFreeGuidance,
        FlowMatchEulerDiscreteScheduler,
        HunyuanVideo15Transformer3DModel,
    )
    from transformers import ByT5Tokenizer, Qwen2_5_VLTextConfig, Qwen2_5_VLTextModel, T5Config, T5EncoderModel

    from service.backends.tiny import build_tokenizer

    torch.manual_seed(2)
    tokenizer = build_tokenizer()
    tokenizer.chat_template = _CHAT_TEMPLATE
    tokenizer.model_max_length = 2048
    text_encoder = Qwen2_5_VLTextModel(
        Qwen2_5_VLTextConfig(
            vocab_size=128,
            hidden_size=32,
            intermediate_size=37,
            num_hidden_layers=3,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=2048,
            bos_token_id=0,
            eos_token_id=1,
            rope_scaling={"type": "mrope", "mrope_section": [1, 1, 2]},
        )
    )
    glyph_encoder = T5EncoderModel(
        T5Config(
            vocab_size=384,
            d_model=32,
            d_kv=8,
            d_ff=37,
            num_layers=1,
            num_heads=4,
            relative_attention_num_buckets=8,
            decoder_start_token_id=0,
            pad_token_id=0,
        )
    )
    vae = AutoencoderKLHunyuanVideo15(
        latent_channels=_LATENT,
        block_out_channels=(8, 8, 8, 8, 8),
        layers_per_block=1,
        spatial_compression_ratio=16,
        temporal_compression_ratio=4,
    )
    transformer = HunyuanVideo15Transformer3DModel(
        in_channels=2 * _LATENT + 1,
        out_channels=_LATENT,
        num_attention_heads=2,
        attention_head_dim=16,
        num_layers=2,
        num_refiner_layers=1,
        text_embed_dim=32,
        text_embed_2_dim=32,
        image_embed_dim=16,
        rope_axes_dim=(4, 6, 6),
        target_size=64,
        task_type=task_type,
    )
    return dict(
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        transformer=transformer,
        vae=vae,
        scheduler=FlowMatchEulerDiscreteScheduler(shift=5.0),
        text_encoder_2=glyph_encoder,
        tokenizer_2=ByT5Tokenizer(),
        guider=ClassifierFreeGuidance(guidance_scale=6.0),
    )


def build_tiny_hunyuan(directory: Path) -> tuple[Path, Path]:
    """(text-to-video directory, image-to-video directory)."""
    from diffusers import HunyuanVideo15ImageToVideoPipeline, HunyuanVideo15Pipeline
    from transformers import SiglipImageProcessor, SiglipVisionConfig, SiglipVisionModel

    HunyuanVideo15Pipeline(**_parts("t2v")).save_pretrained(directory / "t2v")
    image_encoder = SiglipVisionModel(
        SiglipVisionConfig(
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            image_size=32,
            patch_size=8,
        )
    )
    HunyuanVideo15ImageToVideoPipeline(
        **_parts("i2v"),
        image_encoder=image_encoder,
        feature_extractor=SiglipImageProcessor(size={"height": 32, "width": 32}),
    ).save_pretrained(directory / "i2v")
    return directory / "t2v", directory / "i2v"
