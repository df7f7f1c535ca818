"""Generation speed and peak memory per backend.

CPU (always): the tiny embedded model, text-to-video and image-to-video, with the service's
settings (1 torch thread) against torch's default thread count, each measured in its own
subprocess so its peak RSS is its own.

GPU (when CUDA is available, or --gpu-smoke to exercise the code on the CPU with small
configs): full-size SVD-XT and LTX-Video architectures built from their configs with random
weights (the same compute as the released weights), diffusers defaults (fp32, whole-clip VAE
decode) against the service's optimized settings (bf16, SDPA, chunked decode, torch.compile).

Quality guard (--quality): every speed setting that changes the output (a step cache, fp8
weights) against the reference settings on the same seeds — seconds, and PSNR/SSIM of the
decoded frames. On the CPU it runs the service's own backends on the tiny same-architecture
models (ltx via tiny, wan, hunyuan); with --gpu it builds full-size architectures with random
weights (LTX-Video 2B, SVD-XT, Wan 2.2 TI2V-5B, HunyuanVideo 1.5 8.3B) and adds bf16 + regional
compile, the persistent compile cache (worker start, cold vs warm) and the best combination.
Random weights give the same compute as the released ones, but their PSNR only says how far a
setting moves the output, not how good a trained model's clip looks.

Prints a markdown table: median seconds of repeated runs, peak memory, ratio to the baseline
measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


# ---------------------------------------------------------------------------------------------
# CPU: the tiny backend, one configuration per subprocess


def _tiny_child(config: dict) -> dict:
    import resource

    import numpy as np
    import torch

    if config["threads"]:
        torch.set_num_threads(config["threads"])
    from service.backends import create_backend, quiet_libraries
    from service.backends.contract import GenerationInput
    from service.settings import load_settings

    quiet_libraries()
    settings = load_settings(environ={}, data_dir=Path(config["data_dir"]), models_dir=config["models_dir"])
    backend = create_backend("tiny", settings)
    backend.load()
    image = np.random.default_rng(0).integers(0, 255, (256, 256, 3), dtype=np.uint8) if config["image"] else None
    request = GenerationInput(
        prompt="a red fox walking through snow",
        image=image,
        num_frames=16,
        fps=8,
        width=256,
        height=256,
        num_inference_steps=4,
        seed=1,
        guidance=1.0,
    )
    backend.generate(request, lambda *_: None)  # warm-up
    seconds = []
    for _ in range(config["runs"]):
        started = time.perf_counter()
        backend.generate(request, lambda *_: None)
        seconds.append(time.perf_counter() - started)
    return {
        "seconds": seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "threads": torch.get_num_threads(),
    }


def bench_cpu(runs: int) -> list[dict]:
    from service.backends import tiny

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        models_dir = Path(folder) / "models"
        tiny.build(models_dir / f"tiny-ltx-v{tiny.FORMAT_VERSION}")
        for mode, image in (("text-to-video", False), ("image-to-video", True)):
            results = {}
            for label, threads in (("torch default threads", 0), ("service (1 thread)", 1)):
                config = {
                    "threads": threads,
                    "image": image,
                    "runs": runs,
                    "data_dir": folder,
                    "models_dir": str(models_dir),
                }
                output = subprocess.run(
                    [sys.executable, __file__, "--child", json.dumps(config)],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                results[label] = json.loads(output.stdout.strip().splitlines()[-1])
            baseline = statistics.median(results["torch default threads"]["seconds"])
            for label, result in results.items():
                median = statistics.median(result["seconds"])
                rows.append(
                    {
                        "backend": "tiny",
                        "mode": mode,
                        "config": f"{label} [{result['threads']}]",
                        "clip": "16 frames 256x256, 4 steps",
                        "seconds": median,
                        "peak_mb": result["peak_rss_mb"],
                        "ratio": baseline / median,
                    }
                )
    return rows


# ---------------------------------------------------------------------------------------------
# Quality guard: settings that change the output, against the reference settings on the same seeds

# (model, setting label, settings changes); the values are diffusers' documented defaults and one bolder one
OUTPUT_SETTINGS = {
    "tiny": [
        ("taylorseer:2", {"step_cache": "tiny=taylorseer:2"}),
        ("taylorseer:5", {"step_cache": "tiny=taylorseer:5"}),
        ("pyramid-attention:2", {"step_cache": "tiny=pyramid-attention:2"}),
        ("fp8 denoiser", {"fp8_models": "tiny"}),
    ],
    "wan": [
        ("first-block:0.05", {"step_cache": "wan=first-block:0.05"}),
        ("first-block:0.2", {"step_cache": "wan=first-block:0.2"}),
        ("taylorseer:2", {"step_cache": "wan=taylorseer:2"}),
        ("taylorseer:5", {"step_cache": "wan=taylorseer:5"}),
        ("pyramid-attention:2", {"step_cache": "wan=pyramid-attention:2"}),
        ("fp8 denoiser", {"fp8_models": "wan"}),
    ],
    "hunyuan": [
        ("taylorseer:2", {"step_cache": "hunyuan=taylorseer:2"}),
        ("taylorseer:5", {"step_cache": "hunyuan=taylorseer:5"}),
        ("pyramid-attention:2", {"step_cache": "hunyuan=pyramid-attention:2"}),
        ("fp8 denoiser", {"fp8_models": "hunyuan"}),
    ],
}
QUALITY_SHAPES = {
    "tiny": dict(width=256, height=256, num_frames=9),
    "wan": dict(width=96, height=64, num_frames=9),
    "hunyuan": dict(width=64, height=64, num_frames=9),
}


def frame_quality(reference, candidate) -> tuple[float, float]:
    """Mean PSNR (dB, capped at 100 for identical frames) and SSIM over the frames of two uint8 clips."""
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    psnr, ssim = [], []
    for ours, theirs in zip(reference, candidate, strict=False):
        psnr.append(
            min(100.0, peak_signal_noise_ratio(ours, theirs, data_range=255)) if not (ours == theirs).all() else 100.0
        )
        ssim.append(structural_similarity(ours, theirs, channel_axis=2, data_range=255))
    return float(sum(psnr) / len(psnr)), float(sum(ssim) / len(ssim))


def bench_quality_cpu(args) -> list[dict]:
    """The service's backends on tiny models: reference vs each output-changing setting, same seeds."""
    import torch

    from service.backends import GenerationInput, create_backend, quiet_libraries, tiny
    from service.settings import load_settings
    from tests.service.tiny_hunyuan import build_tiny_hunyuan
    from tests.service.tiny_wan import build_tiny_wan_ti2v

    torch.set_num_threads(1)
    quiet_libraries()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        tiny.build(root / "models" / f"tiny-ltx-v{tiny.FORMAT_VERSION}")
        wan_dir = build_tiny_wan_ti2v(root / "wan")
        hunyuan_text, hunyuan_image = build_tiny_hunyuan(root / "hunyuan")
        base = load_settings(
            environ={},
            data_dir=root / "data",
            models_dir=str(root / "models"),
            wan_model=str(wan_dir),
            wan_i2v_model=str(wan_dir),
            hunyuan_model=str(hunyuan_text),
            hunyuan_i2v_model=str(hunyuan_image),
        )

        import numpy as np

        image = np.random.default_rng(0).integers(0, 255, (96, 128, 3), dtype=np.uint8)

        def clips(model: str, changes: dict, mode: str) -> tuple[list, list[float]]:
            backend = create_backend(model, base.replace(**changes))
            outputs, seconds = [], []
            for seed in args.seeds:
                request = GenerationInput(
                    prompt="a red fox walking through snow",
                    fps=8,
                    num_inference_steps=args.quality_steps,
                    seed=seed,
                    guidance=5.0,
                    image=image if mode == "image" else None,
                    **QUALITY_SHAPES[model],
                )
                backend.generate(request, lambda *_: None) if not outputs else None  # warm-up once per configuration
                started = time.perf_counter()
                outputs.append(backend.generate(request, lambda *_: None))
                seconds.append(time.perf_counter() - started)
            return outputs, seconds

        for model in args.quality_models:
            for mode in args.quality_modes:
                reference, reference_seconds = clips(model, {}, mode)
                baseline = statistics.median(reference_seconds)
                rows.append(
                    {
                        "backend": model,
                        "mode": mode,
                        "setting": "reference (float32, no cache)",
                        "seconds": baseline,
                        "ratio": 1.0,
                        "psnr": float("inf"),
                        "ssim": 1.0,
                    }
                )
                for label, changes in OUTPUT_SETTINGS[model]:
                    outputs, seconds = clips(model, changes, mode)
                    scores = [frame_quality(ours, theirs) for ours, theirs in zip(reference, outputs, strict=False)]
                    median = statistics.median(seconds)
                    rows.append(
                        {
                            "backend": model,
                            "mode": mode,
                            "setting": label,
                            "seconds": median,
                            "ratio": baseline / median,
                            "psnr": statistics.mean(s[0] for s in scores),
                            "ssim": statistics.mean(s[1] for s in scores),
                        }
                    )
                    print(json.dumps(rows[-1]), flush=True)
    return rows


def quality_table(rows: list[dict], device: str) -> str:
    lines = [
        f"device: {device}",
        "",
        "| backend | mode | setting | median s | speed-up vs reference | PSNR dB vs reference | SSIM vs reference |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        psnr = "identical" if row["psnr"] == float("inf") else f"{row['psnr']:.1f}"
        lines.append(
            f"| {row['backend']} | {row['mode']} | {row['setting']} | {row['seconds']:.3f} | {row['ratio']:.2f}x | {psnr} | "
            f"{row['ssim']:.4f} |"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# GPU: full-size architectures with random weights


def _svd_xt(device: str, smoke: bool):
    import torch
    from diffusers import (
        AutoencoderKLTemporalDecoder,
        EulerDiscreteScheduler,
        StableVideoDiffusionPipeline,
        UNetSpatioTemporalConditionModel,
    )
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    with torch.device(device):
        if smoke:
            unet = UNetSpatioTemporalConditionModel(
                block_out_channels=(32, 64),
                layers_per_block=1,
                cross_attention_dim=32,
                num_attention_heads=(2, 4),
                down_block_types=("CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
                up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"),
                projection_class_embeddings_input_dim=96,
                addition_time_embed_dim=32,
            )
            vae = AutoencoderKLTemporalDecoder(
                block_out_channels=(32, 64), down_block_types=("DownEncoderBlock2D",) * 2, layers_per_block=1
            )
            vision = CLIPVisionConfig(
                hidden_size=32,
                projection_dim=32,
                num_hidden_layers=1,
                num_attention_heads=4,
                image_size=224,
                intermediate_size=37,
                patch_size=14,
            )
        else:  # the UNet's class defaults are SVD's; the VAE is SVD's (8x, 4 latent channels); ViT-H/14 encodes the image
            unet = UNetSpatioTemporalConditionModel()
            vae = AutoencoderKLTemporalDecoder(
                block_out_channels=(128, 256, 512, 512),
                down_block_types=("DownEncoderBlock2D",) * 4,
                layers_per_block=2,
                latent_channels=4,
                sample_size=768,
            )
            vision = CLIPVisionConfig(
                hidden_size=1280,
                projection_dim=1024,
                num_hidden_layers=32,
                num_attention_heads=16,
                intermediate_size=5120,
                image_size=224,
                patch_size=14,
            )
        encoder = CLIPVisionModelWithProjection(vision)
    scheduler = EulerDiscreteScheduler(
        beta_schedule="scaled_linear",
        beta_start=0.00085,
        beta_end=0.012,
        interpolation_type="linear",
        num_train_timesteps=1000,
        prediction_type="v_prediction",
        sigma_max=700.0,
        sigma_min=0.002,
        steps_offset=1,
        timestep_spacing="leading",
        timestep_type="continuous",
        use_karras_sigmas=True,
    )
    return StableVideoDiffusionPipeline(
        vae=vae,
        image_encoder=encoder,
        unet=unet,
        scheduler=scheduler,
        feature_extractor=CLIPImageProcessor(crop_size=224, size=224),
    )


def _ltx(device: str, smoke: bool):
    import torch
    from diffusers import (
        AutoencoderKLLTXVideo,
        FlowMatchEulerDiscreteScheduler,
        LTXPipeline,
        LTXVideoTransformer3DModel,
    )

    with torch.device(device):
        if smoke:
            transformer = LTXVideoTransformer3DModel(
                in_channels=8,
                out_channels=8,
                num_attention_heads=2,
                attention_head_dim=8,
                cross_attention_dim=16,
                num_layers=2,
                caption_channels=32,
            )
            vae = AutoencoderKLLTXVideo(
                latent_channels=8,
                block_out_channels=(8, 8, 8, 8),
                decoder_block_out_channels=(8, 8, 8, 8),
                layers_per_block=(1, 1, 1, 1, 1),
                decoder_layers_per_block=(1, 1, 1, 1, 1),
            )
        else:  # the class defaults are LTX-Video 0.9's 2B transformer and its VAE
            transformer = LTXVideoTransformer3DModel()
            vae = AutoencoderKLLTXVideo()
    # the T5-XXL text encoder runs once per clip; random prompt embeddings stand in for it
    return LTXPipeline(
        transformer=transformer, vae=vae, scheduler=FlowMatchEulerDiscreteScheduler(), text_encoder=None, tokenizer=None
    )


def _gpu_case(name: str, optimized: bool, compiled: bool, args) -> dict:
    import numpy as np
    import torch
    from PIL import Image

    device = "cuda" if torch.cuda.is_available() else "cpu"
    smoke = args.gpu_smoke
    pipeline = _svd_xt(device, smoke) if name == "svd-xt" else _ltx(device, smoke)
    dtype = torch.bfloat16 if optimized else torch.float32
    pipeline.to(device, dtype)
    pipeline.set_progress_bar_config(disable=True)
    if compiled:
        if name == "ltx":  # regional compilation: one compiled graph serves all identical blocks
            for block in pipeline.transformer.transformer_blocks:
                block.compile()
        else:
            pipeline.unet.compile()
    steps = args.steps
    if name == "svd-xt":
        width, height, frames = (64, 64, 4) if smoke else (1024, 576, 25)
        image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (height, width, 3), dtype=np.uint8))
        call = dict(
            image=image,
            width=width,
            height=height,
            num_frames=frames,
            num_inference_steps=steps,
            decode_chunk_size=8 if optimized else frames,
            output_type="np",
        )
    else:
        width, height, frames = (64, 64, 9) if smoke else (768, 512, args.ltx_frames)
        channels = 32 if smoke else 4096
        embeds = torch.randn(1, 128, channels, device=device, dtype=dtype)
        mask = torch.ones(1, 128, device=device, dtype=torch.long)
        call = dict(
            prompt_embeds=embeds,
            prompt_attention_mask=mask,
            negative_prompt_embeds=embeds.clone(),
            negative_prompt_attention_mask=mask,
            width=width,
            height=height,
            num_frames=frames,
            num_inference_steps=steps,
            guidance_scale=3.0,
            output_type="np",
        )
        if optimized:
            pipeline.vae.enable_tiling()

    def run(**override) -> float:
        if device == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        with torch.inference_mode():
            pipeline(generator=torch.Generator(device="cpu").manual_seed(0), **(call | override))
        if device == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - started

    warm_started = time.perf_counter()
    run(num_inference_steps=1)  # warm-up (and compilation): same shapes, one step
    warm = time.perf_counter() - warm_started
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    seconds = [run() for _ in range(args.gpu_runs)]
    peak = torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else float("nan")
    pipeline = None  # frees the weights before empty_cache (the closures above share this variable)
    if device == "cuda":
        torch.cuda.empty_cache()
    return {
        "seconds": seconds,
        "peak_mb": peak,
        "warmup_s": warm,
        "clip": f"{frames} frames {width}x{height}, {steps} steps",
    }


def _wan_ti2v(device: str, smoke: bool):
    """Wan 2.2 TI2V-5B: 30 blocks of width 3072 (24 heads x 128), FFN 14336, 48 latent channels, VAE x16 with a 2x2 patch."""
    import torch
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanPipeline, WanTransformer3DModel

    latent = 4 if smoke else 48
    with torch.device(device):
        if smoke:
            transformer = WanTransformer3DModel(
                num_attention_heads=2,
                attention_head_dim=8,
                in_channels=latent,
                out_channels=latent,
                text_dim=32,
                freq_dim=16,
                ffn_dim=32,
                num_layers=2,
                rope_max_seq_len=32,
            )
            vae = AutoencoderKLWan(
                base_dim=8,
                decoder_base_dim=8,
                z_dim=latent,
                dim_mult=[1, 1, 1, 1],
                num_res_blocks=1,
                latents_mean=[0.0] * latent,
                latents_std=[1.0] * latent,
                is_residual=True,
                patch_size=2,
                in_channels=12,
                out_channels=12,
                scale_factor_spatial=16,
            )
        else:
            transformer = WanTransformer3DModel(
                num_attention_heads=24,
                attention_head_dim=128,
                in_channels=latent,
                out_channels=latent,
                text_dim=4096,
                freq_dim=256,
                ffn_dim=14336,
                num_layers=30,
            )
            # the Wan 2.2 VAE (base 160, decoder 256, residual, 2x2 patch): widths as in the Diffusers checkpoint's config
            vae = AutoencoderKLWan(
                base_dim=160,
                decoder_base_dim=256,
                z_dim=latent,
                is_residual=True,
                patch_size=2,
                in_channels=12,
                out_channels=12,
                scale_factor_spatial=16,
                latents_mean=[0.0] * latent,
                latents_std=[1.0] * latent,
            )
    scheduler = UniPCMultistepScheduler(
        prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=5.0, num_train_timesteps=1000
    )
    return WanPipeline(
        tokenizer=None, text_encoder=None, vae=vae, scheduler=scheduler, transformer=transformer, expand_timesteps=True
    )


def _hunyuan15(device: str, smoke: bool):
    """HunyuanVideo 1.5 (480p): the class defaults are the released 8.3B transformer (54 blocks, 16 heads x 128) and its VAE."""
    import torch
    from diffusers import (
        AutoencoderKLHunyuanVideo15,
        ClassifierFreeGuidance,
        FlowMatchEulerDiscreteScheduler,
        HunyuanVideo15Pipeline,
        HunyuanVideo15Transformer3DModel,
    )

    with torch.device(device):
        if smoke:
            transformer = HunyuanVideo15Transformer3DModel(
                in_channels=9,
                out_channels=4,
                num_attention_heads=2,
                attention_head_dim=16,
                num_layers=2,
                num_refiner_layers=1,
                text_embed_dim=32,
                text_embed_2_dim=32,
                image_embed_dim=16,
                rope_axes_dim=(4, 6, 6),
                target_size=64,
                task_type="t2v",
            )
            vae = AutoencoderKLHunyuanVideo15(latent_channels=4, block_out_channels=(8, 8, 8, 8, 8), layers_per_block=1)
        else:
            transformer = HunyuanVideo15Transformer3DModel(task_type="t2v")
            vae = AutoencoderKLHunyuanVideo15()
    # the Qwen2.5-VL and ByT5 text encoders run once per clip; random embeddings stand in for them
    return HunyuanVideo15Pipeline(
        text_encoder=None,
        tokenizer=None,
        transformer=transformer,
        vae=vae,
        scheduler=FlowMatchEulerDiscreteScheduler(shift=5.0),
        text_encoder_2=None,
        tokenizer_2=None,
        guider=ClassifierFreeGuidance(guidance_scale=6.0),
    )


def _speed_call(name: str, pipeline, device: str, dtype, smoke: bool, args) -> dict:
    import numpy as np
    import torch
    from PIL import Image

    steps = args.steps
    if name == "svd-xt":
        width, height, frames = (64, 64, 4) if smoke else (1024, 576, 25)
        image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (height, width, 3), dtype=np.uint8))
        return dict(
            image=image, width=width, height=height, num_frames=frames, num_inference_steps=steps, decode_chunk_size=8
        )
    if name == "ltx":
        width, height, frames = (64, 64, 9) if smoke else (768, 512, args.ltx_frames)
        embeds = torch.randn(1, 128, 32 if smoke else 4096, generator=torch.Generator().manual_seed(0)).to(
            device, dtype
        )
        mask = torch.ones(1, 128, device=device, dtype=torch.long)
        return dict(
            prompt_embeds=embeds,
            prompt_attention_mask=mask,
            negative_prompt_embeds=embeds.flip(1),
            negative_prompt_attention_mask=mask,
            width=width,
            height=height,
            num_frames=frames,
            num_inference_steps=steps,
            guidance_scale=3.0,
        )
    if name == "wan":
        width, height, frames = (64, 64, 9) if smoke else (1280, 704, args.wan_frames)
        embeds = torch.randn(1, 512, 32 if smoke else 4096, generator=torch.Generator().manual_seed(0)).to(
            device, dtype
        )
        return dict(
            prompt_embeds=embeds,
            negative_prompt_embeds=embeds.flip(1),
            width=width,
            height=height,
            num_frames=frames,
            num_inference_steps=steps,
            guidance_scale=5.0,
        )
    width, height, frames = (64, 64, 9) if smoke else (848, 480, args.hunyuan_frames)
    generator = torch.Generator().manual_seed(0)
    text = torch.randn(1, 1000, 32 if smoke else 3584, generator=generator).to(device, dtype)
    glyph = torch.randn(1, 256, 32 if smoke else 1472, generator=generator).to(device, dtype)
    mask, glyph_mask = (
        torch.ones(1, 1000, device=device, dtype=torch.long),
        torch.zeros(1, 256, device=device, dtype=torch.long),
    )
    return dict(
        prompt_embeds=text,
        prompt_embeds_mask=mask,
        negative_prompt_embeds=text.flip(1),
        negative_prompt_embeds_mask=mask,
        prompt_embeds_2=glyph,
        prompt_embeds_mask_2=glyph_mask,
        negative_prompt_embeds_2=glyph,
        negative_prompt_embeds_mask_2=glyph_mask,
        width=width,
        height=height,
        num_frames=frames,
        num_inference_steps=steps,
    )


# the configurations measured per model: (label, dtype, compile, compile mode, step cache, fp8 denoiser)
SPEED_CASES = {
    "svd-xt": [
        ("diffusers defaults (fp32)", "float32", False, "default", None, False),
        ("service: bf16 + torch.compile (reference)", "bfloat16", True, "default", None, False),
        ("+ fp8 UNet weights", "bfloat16", True, "default", None, True),
        ("+ CUDA graphs (reduce-overhead)", "bfloat16", True, "reduce-overhead", None, False),
    ],
}
for _model, _caches in (
    ("ltx", ["first-block:0.05", "first-block:0.1", "taylorseer:2", "taylorseer:5", "pyramid-attention:2"]),
    ("wan", ["first-block:0.05", "first-block:0.1", "taylorseer:2", "taylorseer:5", "pyramid-attention:2"]),
    ("hunyuan", ["taylorseer:2", "taylorseer:5", "pyramid-attention:2"]),
):
    SPEED_CASES[_model] = (
        [
            ("diffusers defaults (fp32)", "float32", False, "default", None, False),
            ("service: bf16 + regional compile (reference)", "bfloat16", True, "default", None, False),
        ]
        + [(f"+ step cache {cache}", "bfloat16", True, "default", cache, False) for cache in _caches]
        + [
            ("+ fp8 denoiser weights", "bfloat16", True, "default", None, True),
            ("+ CUDA graphs (reduce-overhead)", "bfloat16", True, "reduce-overhead", None, False),
        ]
    )


def _speed_case(name: str, case: tuple, args) -> dict:
    import types

    import torch

    from service.backends.contract import frames_to_uint8
    from service.backends.speed import SpeedPlan, apply_to_denoiser, parse_step_cache, use_compile_cache

    _label, dtype_name, compiled, mode, cache, fp8 = case
    device = "cuda" if torch.cuda.is_available() else "cpu"
    smoke = args.gpu_smoke
    # a smoke run only exercises the code; inductor on two CPU cores would take minutes per case
    compiled = compiled and (not smoke or getattr(args, "smoke_compile", False))
    factory = {"svd-xt": _svd_xt, "ltx": _ltx, "wan": _wan_ti2v, "hunyuan": _hunyuan15}[name]
    dtype = getattr(torch, dtype_name)
    torch.manual_seed(20261201)  # the same random weights in every case, so PSNR compares settings, not models
    pipeline = factory(device, smoke)
    pipeline.to(device, dtype)
    pipeline.set_progress_bar_config(disable=True)
    plan = SpeedPlan(
        model=name,
        step_cache=parse_step_cache(cache) if cache else None,
        fp8_denoiser=fp8,
        compile=compiled,
        compile_mode=mode,
        compile_cache_dir=args.compile_cache_dir,
    )
    if name == "svd-xt":  # the service's svd.py: fp8 storage, then whole-UNet compile with the on-disk cache
        if fp8:
            pipeline.unet.enable_layerwise_casting(storage_dtype=torch.float8_e4m3fn, compute_dtype=dtype)
        if compiled:
            use_compile_cache(args.compile_cache_dir)
            pipeline.unet.compile(mode=None if mode == "default" else mode)
    else:
        apply_to_denoiser(
            pipeline.transformer, lambda: pipeline.current_timestep, plan, types.SimpleNamespace(dtype=dtype_name)
        )
        if name == "ltx" and dtype_name != "float32":
            pipeline.vae.enable_tiling()
    call = _speed_call(name, pipeline, device, dtype, smoke, args)

    def run(**override):
        if device == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        with torch.inference_mode():
            frames = pipeline(
                generator=torch.Generator(device="cpu").manual_seed(args.seeds[0]),
                output_type="np",
                **(call | override),
            ).frames
        if device == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - started, frames

    warm_started = time.perf_counter()
    run(num_inference_steps=1)  # warm-up (and compilation): same shapes, one step
    warm = time.perf_counter() - warm_started
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    seconds, frames = [], None
    for _ in range(args.gpu_runs):
        took, frames = run()
        seconds.append(took)
    peak = torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else float("nan")
    pipeline = None  # frees the weights before empty_cache (the closures above share this variable)
    if device == "cuda":
        torch.cuda.empty_cache()
    clip = f"{call['num_frames']} frames {call['width']}x{call['height']}, {call['num_inference_steps']} steps"
    return {"seconds": seconds, "peak_mb": peak, "warmup_s": warm, "clip": clip, "frames": frames_to_uint8(frames)}


def bench_speed(args) -> list[dict]:
    """Each model: diffusers defaults, the service's settings (the reference for quality), each new setting."""
    rows = []
    for name in args.gpu_models:
        reference_frames = defaults_seconds = reference_seconds = None
        for case in SPEED_CASES[name]:
            result = _speed_case(name, case, args)
            median = statistics.median(result["seconds"])
            if "(reference)" in case[0]:
                reference_frames, reference_seconds = result["frames"], median
            defaults_seconds = defaults_seconds or median
            psnr, ssim = (
                frame_quality(reference_frames, result["frames"])
                if reference_frames is not None and "(reference)" not in case[0]
                else (float("nan"), float("nan"))
            )
            rows.append(
                {
                    "backend": name,
                    "config": case[0],
                    "clip": result["clip"],
                    "seconds": median,
                    "peak_mb": result["peak_mb"],
                    "vs_defaults": defaults_seconds / median,
                    "vs_service": (reference_seconds / median) if reference_seconds else float("nan"),
                    "warmup_s": result["warmup_s"],
                    "psnr": psnr,
                    "ssim": ssim,
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    return rows


def speed_table(rows: list[dict], device: str) -> str:
    lines = [
        f"device: {device}",
        "",
        "| backend | configuration | clip | median s | peak MB | vs diffusers defaults | vs service bf16+compile | warm-up s | PSNR dB | SSIM |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        lines.append(
            f"| {row['backend']} | {row['config']} | {row['clip']} | {row['seconds']:.2f} | {row['peak_mb']:.0f} | "
            f"{row['vs_defaults']:.2f}x | {row['vs_service']:.2f}x | {row['warmup_s']:.1f} | {row['psnr']:.1f} | {row['ssim']:.4f} |"
        )
    return "\n".join(lines)


def bench_worker_start(args) -> list[dict]:
    """SVD-XT's per-start compile cost: two fresh processes sharing one compile cache directory (cold, then warm)."""
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        for label in ("cold compile cache", "warm compile cache (second start)"):
            config = {"cache": cache, "smoke": args.gpu_smoke, "steps": args.steps}
            output = subprocess.run(
                [sys.executable, __file__, "--start-child", json.dumps(config)],
                capture_output=True,
                text=True,
                check=True,
            )
            result = json.loads(output.stdout.strip().splitlines()[-1])
            rows.append({"label": label, **result})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def _start_child(config: dict) -> dict:
    import argparse as _argparse

    started = time.perf_counter()
    arguments = _argparse.Namespace(
        gpu_smoke=config["smoke"],
        steps=config["steps"],
        gpu_runs=1,
        seeds=[1],
        ltx_frames=9,
        compile_cache_dir=config["cache"],
        smoke_compile=True,
    )
    result = _speed_case("svd-xt", SPEED_CASES["svd-xt"][1], arguments)
    return {"warmup_s": result["warmup_s"], "process_s": time.perf_counter() - started}


def bench_gpu(args) -> list[dict]:
    import torch

    torch.backends.cuda.matmul.allow_tf32 = False  # diffusers' default: plain fp32 matmuls
    rows = []
    for name in args.gpu_models:
        cases = [
            ("diffusers defaults (fp32, whole-clip decode)", False, False),
            ("service: bf16, SDPA, chunked/tiled decode", True, False),
            ("service + torch.compile", True, True),
        ]
        baseline = None
        for label, optimized, compiled in cases:
            if compiled and name not in args.compile_models:
                continue
            result = _gpu_case(name, optimized, compiled, args)
            median = statistics.median(result["seconds"])
            baseline = baseline or median
            rows.append(
                {
                    "backend": name,
                    "mode": "image-to-video" if name == "svd-xt" else "text-to-video",
                    "config": label,
                    "clip": result["clip"],
                    "seconds": median,
                    "peak_mb": result["peak_mb"],
                    "ratio": baseline / median,
                    "warmup_s": result["warmup_s"],
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    return rows


def table(rows: list[dict], device: str) -> str:
    lines = [
        f"device: {device}",
        "",
        "| backend | mode | configuration | clip | median s | peak MB | speed-up vs baseline |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        lines.append(
            f"| {row['backend']} | {row['mode']} | {row['config']} | {row['clip']} | {row['seconds']:.2f} | "
            f"{row['peak_mb']:.0f} | {row['ratio']:.2f}x |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per CPU configuration")
    parser.add_argument("--gpu-runs", type=int, default=2, help="timed runs per GPU configuration")
    parser.add_argument("--steps", type=int, default=4, help="denoising steps in the GPU runs")
    parser.add_argument("--ltx-frames", type=int, default=49)
    parser.add_argument("--wan-frames", type=int, default=49)
    parser.add_argument("--hunyuan-frames", type=int, default=49)
    parser.add_argument("--gpu-models", nargs="+", default=["svd-xt", "ltx"])
    parser.add_argument(
        "--compile-models", nargs="*", default=["svd-xt", "ltx"], help="models to also time with torch.compile"
    )
    parser.add_argument("--gpu-smoke", action="store_true", help="run the GPU code path on the CPU with small configs")
    parser.add_argument("--smoke-compile", action="store_true", help="with --gpu-smoke: compile too (slow on a CPU)")
    parser.add_argument("--skip-cpu", action="store_true")
    parser.add_argument(
        "--quality", action="store_true", help="quality guard: output-changing settings vs reference, same seeds"
    )
    parser.add_argument("--quality-models", nargs="+", default=["tiny", "wan", "hunyuan"])
    parser.add_argument("--quality-steps", type=int, default=10)
    parser.add_argument("--quality-modes", nargs="+", choices=["text", "image"], default=["text", "image"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument(
        "--speed",
        action="store_true",
        help="GPU: every speed setting per model, with PSNR/SSIM vs the service's settings",
    )
    parser.add_argument(
        "--worker-start", action="store_true", help="GPU: SVD-XT compile cost per start, cold vs warm compile cache"
    )
    parser.add_argument(
        "--compile-cache-dir", default=str(Path(tempfile.gettempdir()) / "originframe-bench-compile-cache")
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--start-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_tiny_child(json.loads(args.child))))
        return
    if args.start_child:
        print(json.dumps(_start_child(json.loads(args.start_child))))
        return

    import platform

    import torch

    cpu_name = f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"
    has_gpu = torch.cuda.is_available() or args.gpu_smoke
    gpu_name = torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU (smoke run, small configs)"
    if args.quality:
        rows = bench_quality_cpu(args)
        print(
            quality_table(
                rows,
                f"{cpu_name}, tiny models, {args.quality_steps} steps, seeds {args.seeds}, median of one run per seed",
            )
        )
        return
    if args.speed or args.worker_start:
        if not has_gpu:
            print(
                "no CUDA device: --speed and --worker-start need a GPU (or --gpu-smoke to exercise the code on the CPU)"
            )
            return
        from service.backends import quiet_libraries

        quiet_libraries()
        if args.speed:
            print(speed_table(bench_speed(args), f"{gpu_name}, median of {args.gpu_runs} runs after a warm-up"))
        if args.worker_start:
            for row in bench_worker_start(args):
                print(
                    f"  svd-xt {row['label']}: warm-up (incl. compilation) {row['warmup_s']:.1f} s, whole process {row['process_s']:.1f} s"
                )
        return

    rows = [] if args.skip_cpu else bench_cpu(args.runs)
    if not args.skip_cpu:
        print(table(rows, f"{cpu_name}, median of {args.runs} runs"))
    if has_gpu:
        from service.backends import quiet_libraries

        quiet_libraries()
        gpu_rows = bench_gpu(args)
        print()
        print(table(gpu_rows, f"{gpu_name}, median of {args.gpu_runs} runs after a warm-up"))
        for row in gpu_rows:
            print(f"  {row['backend']} / {row['config']}: warm-up (incl. compilation) {row['warmup_s']:.1f} s")
    else:
        print("\nno CUDA device: the full-size SVD-XT / LTX runs need a GPU (see docs/benchmarks.md)")


if __name__ == "__main__":
    main()
