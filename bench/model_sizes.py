"""GPU memory the weights of each real model need, per dtype: parameters counted by building
each pipeline component from diffusers' / transformers' default configuration of its class on
PyTorch's meta device (no weights, no download, no memory): the classes' defaults where they
are the released architecture (SVD's UNet, LTX-Video 2B's transformer and VAE), the released
configs written out where they are not (SVD's VAE and image encoder, T5-XXL); compare with a
checkpoint's config.json before relying on it. Activations come on top and are NOT measured
here (no GPU in this environment); see docs/operations.md.

Prints a markdown table.
"""

from __future__ import annotations


def count(module) -> int:
    return sum(parameter.numel() for parameter in module.parameters())


def main() -> None:
    import torch
    from diffusers import (
        AutoencoderKLLTXVideo,
        AutoencoderKLTemporalDecoder,
        LTXVideoTransformer3DModel,
        UNetSpatioTemporalConditionModel,
    )
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection, T5Config, T5EncoderModel

    with torch.device("meta"):
        svd = {
            "UNet (spatio-temporal)": count(UNetSpatioTemporalConditionModel()),
            # the class's defaults are a toy; SVD's vae/config.json has these
            "VAE (temporal decoder)": count(
                AutoencoderKLTemporalDecoder(
                    block_out_channels=(128, 256, 512, 512),
                    layers_per_block=2,
                    latent_channels=4,
                    down_block_types=("DownEncoderBlock2D",) * 4,
                )
            ),
            # OpenCLIP ViT-H/14 image encoder, as SVD's image_encoder/config.json describes it
            "CLIP ViT-H/14 image encoder": count(
                CLIPVisionModelWithProjection(
                    CLIPVisionConfig(
                        hidden_size=1280,
                        intermediate_size=5120,
                        num_hidden_layers=32,
                        num_attention_heads=16,
                        patch_size=14,
                        image_size=224,
                        projection_dim=1024,
                    )
                )
            ),
        }
        ltx = {
            "transformer": count(LTXVideoTransformer3DModel()),
            "VAE": count(AutoencoderKLLTXVideo()),
            # google/t5-v1_1-xxl encoder, LTX-Video's text encoder
            "T5-XXL text encoder": count(
                T5EncoderModel(
                    T5Config(
                        d_model=4096,
                        d_ff=10240,
                        num_layers=24,
                        num_heads=64,
                        d_kv=64,
                        vocab_size=32128,
                        feed_forward_proj="gated-gelu",
                    )
                )
            ),
        }
    print("| model | component | parameters | fp32 GiB | bf16/fp16 GiB |")
    print("| --- | --- | ---: | ---: | ---: |")
    for model, parts in (("svd / svd-xt", svd), ("ltx", ltx)):
        for part, n in [*parts.items(), ("**all weights**", sum(parts.values()))]:
            print(f"| {model} | {part} | {n / 1e9:.2f} B | {n * 4 / 2**30:.1f} | {n * 2 / 2**30:.1f} |")


if __name__ == "__main__":
    main()
