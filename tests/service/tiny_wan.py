"""Wan pipelines with the real classes and tiny seeded weights, for tests of the wan backend's
loading and calling code: the TI2V-5B layout (one model, text and image, VAE x16 with a 2x2
patch, timesteps expanded per latent frame) and the 2.1 I2V layout (a CLIP image encoder and
a transformer that takes the conditioning latents as 20 more channels)."""

from __future__ import annotations

from pathlib import Path

_LATENT = 4  # tiny latent channels; the released VAEs have 16 (2.1) or 48 (2.2 TI2V)


def _text_encoder():
    from transformers import UMT5Config, UMT5EncoderModel

    return UMT5EncoderModel(
        UMT5Config(
            vocab_size=128,
            d_model=32,
            d_kv=8,
            d_ff=37,
            num_layers=2,
            num_heads=4,
            relative_attention_num_buckets=8,
            decoder_start_token_id=0,
            pad_token_id=0,
            eos_token_id=1,
        )
    )


def _scheduler():
    from diffusers import UniPCMultistepScheduler

    return UniPCMultistepScheduler(
        prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=5.0, num_train_timesteps=1000
    )


def build_tiny_wan_ti2v(directory: Path) -> Path:
    import torch
    from diffusers import AutoencoderKLWan, WanPipeline, WanTransformer3DModel

    from service.backends.tiny import build_tokenizer

    torch.manual_seed(0)
    vae = AutoencoderKLWan(
        base_dim=8,
        decoder_base_dim=8,
        z_dim=_LATENT,
        dim_mult=[1, 1, 1, 1],
        num_res_blocks=1,
        temperal_downsample=[False, True, True],
        latents_mean=[0.0] * _LATENT,
        latents_std=[1.0] * _LATENT,
        is_residual=True,
        patch_size=2,
        in_channels=12,
        out_channels=12,
        scale_factor_spatial=16,
        scale_factor_temporal=4,
    )
    transformer = WanTransformer3DModel(
        patch_size=(1, 2, 2),
        num_attention_heads=2,
        attention_head_dim=8,
        in_channels=_LATENT,
        out_channels=_LATENT,
        text_dim=32,
        freq_dim=16,
        ffn_dim=32,
        num_layers=2,
        rope_max_seq_len=32,
    )
    pipeline = WanPipeline(
        tokenizer=build_tokenizer(),
        text_encoder=_text_encoder(),
        vae=vae,
        scheduler=_scheduler(),
        transformer=transformer,
        expand_timesteps=True,
    )
    pipeline.save_pretrained(directory)
    return directory


def build_tiny_wan21(directory: Path) -> tuple[Path, Path]:
    """(text-to-video directory, image-to-video directory) in the Wan 2.1 14B layout."""
    import torch
    from diffusers import AutoencoderKLWan, WanImageToVideoPipeline, WanPipeline, WanTransformer3DModel
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel

    from service.backends.tiny import build_tokenizer

    torch.manual_seed(1)

    def vae():
        return AutoencoderKLWan(
            base_dim=8,
            z_dim=_LATENT,
            dim_mult=[1, 1, 1, 1],
            num_res_blocks=1,
            temperal_downsample=[False, True, True],
            latents_mean=[0.0] * _LATENT,
            latents_std=[1.0] * _LATENT,
        )

    def transformer(in_channels: int, image_dim: int | None):
        return WanTransformer3DModel(
            patch_size=(1, 2, 2),
            num_attention_heads=2,
            attention_head_dim=8,
            in_channels=in_channels,
            out_channels=_LATENT,
            text_dim=32,
            freq_dim=16,
            ffn_dim=32,
            num_layers=2,
            rope_max_seq_len=32,
            image_dim=image_dim,
        )

    text = WanPipeline(
        tokenizer=build_tokenizer(),
        text_encoder=_text_encoder(),
        vae=vae(),
        scheduler=_scheduler(),
        transformer=transformer(_LATENT, None),
    )
    text.save_pretrained(directory / "t2v")
    image_encoder = CLIPVisionModel(
        CLIPVisionConfig(
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            image_size=32,
            patch_size=8,
            projection_dim=16,
        )
    )
    # the conditioning: image latents plus a 4-frame mask per latent frame
    image = WanImageToVideoPipeline(
        tokenizer=build_tokenizer(),
        text_encoder=_text_encoder(),
        vae=vae(),
        scheduler=_scheduler(),
        image_processor=CLIPImageProcessor(crop_size=32, size=32),
        image_encoder=image_encoder,
        transformer=transformer(2 * _LATENT + 4, 16),
    )
    image.save_pretrained(directory / "i2v")
    return directory / "t2v", directory / "i2v"
