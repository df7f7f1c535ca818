"""Generation speed and peak memory per backend.

CPU (always): the tiny embedded model, text-to-video and image-to-video, with the service's
settings (1 torch thread) against torch's default thread count, each measured in its own
subprocess so its peak RSS is its own.

GPU (when CUDA is available, or --gpu-smoke to exercise the code on the CPU with small
configs): full-size SVD-XT and LTX-Video architectures built from their configs with random
weights (the same compute as the released weights), diffusers defaults (fp32, whole-clip VAE
decode) against the service's optimized settings (bf16, SDPA, chunked decode, torch.compile).

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
    from service.generation import create_backend, quiet_libraries
    from service.generation.contract import GenerationInput
    from service.settings import load_settings

    quiet_libraries()
    settings = load_settings(environ={}, data_dir=Path(config["data_dir"]), models_dir=config["models_dir"])
    backend = create_backend("tiny", settings)
    backend.load()
    image = np.random.default_rng(0).integers(0, 255, (256, 256, 3), dtype=np.uint8) if config["image"] else None
    request = GenerationInput(prompt="a red fox walking through snow", image=image, num_frames=16, fps=8, width=256,
                              height=256, num_inference_steps=4, seed=1, guidance=1.0)
    backend.generate(request, lambda *_: None)  # warm-up
    seconds = []
    for _ in range(config["runs"]):
        started = time.perf_counter()
        backend.generate(request, lambda *_: None)
        seconds.append(time.perf_counter() - started)
    return {"seconds": seconds, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "threads": torch.get_num_threads()}


def bench_cpu(runs: int) -> list[dict]:
    from service.generation import tiny

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        models_dir = Path(folder) / "models"
        tiny.build(models_dir / f"tiny-ltx-v{tiny.FORMAT_VERSION}")
        for mode, image in (("text-to-video", False), ("image-to-video", True)):
            results = {}
            for label, threads in (("torch default threads", 0), ("service (1 thread)", 1)):
                config = {"threads": threads, "image": image, "runs": runs, "data_dir": folder, "models_dir": str(models_dir)}
                output = subprocess.run([sys.executable, __file__, "--child", json.dumps(config)], capture_output=True, text=True, check=True)
                results[label] = json.loads(output.stdout.strip().splitlines()[-1])
            baseline = statistics.median(results["torch default threads"]["seconds"])
            for label, result in results.items():
                median = statistics.median(result["seconds"])
                rows.append({"backend": "tiny", "mode": mode, "config": f"{label} [{result['threads']}]", "clip": "16 frames 256x256, 4 steps",
                             "seconds": median, "peak_mb": result["peak_rss_mb"], "ratio": baseline / median})
    return rows


# ---------------------------------------------------------------------------------------------
# GPU: full-size architectures with random weights


def _svd_xt(device: str, smoke: bool):
    import torch
    from diffusers import AutoencoderKLTemporalDecoder, EulerDiscreteScheduler, StableVideoDiffusionPipeline, UNetSpatioTemporalConditionModel
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    with torch.device(device):
        if smoke:
            unet = UNetSpatioTemporalConditionModel(block_out_channels=(32, 64), layers_per_block=1, cross_attention_dim=32,
                num_attention_heads=(2, 4), down_block_types=("CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
                up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"),
                projection_class_embeddings_input_dim=96, addition_time_embed_dim=32)
            vae = AutoencoderKLTemporalDecoder(block_out_channels=(32, 64), down_block_types=("DownEncoderBlock2D",) * 2, layers_per_block=1)
            vision = CLIPVisionConfig(hidden_size=32, projection_dim=32, num_hidden_layers=1, num_attention_heads=4,
                                      image_size=224, intermediate_size=37, patch_size=14)
        else:  # the UNet's class defaults are SVD's; the VAE is SVD's (8x, 4 latent channels); ViT-H/14 encodes the image
            unet = UNetSpatioTemporalConditionModel()
            vae = AutoencoderKLTemporalDecoder(block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4,
                                               layers_per_block=2, latent_channels=4, sample_size=768)
            vision = CLIPVisionConfig(hidden_size=1280, projection_dim=1024, num_hidden_layers=32, num_attention_heads=16,
                                      intermediate_size=5120, image_size=224, patch_size=14)
        encoder = CLIPVisionModelWithProjection(vision)
    scheduler = EulerDiscreteScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012, interpolation_type="linear",
        num_train_timesteps=1000, prediction_type="v_prediction", sigma_max=700.0, sigma_min=0.002, steps_offset=1,
        timestep_spacing="leading", timestep_type="continuous", use_karras_sigmas=True)
    return StableVideoDiffusionPipeline(vae=vae, image_encoder=encoder, unet=unet, scheduler=scheduler,
                                        feature_extractor=CLIPImageProcessor(crop_size=224, size=224))


def _ltx(device: str, smoke: bool):
    import torch
    from diffusers import AutoencoderKLLTXVideo, FlowMatchEulerDiscreteScheduler, LTXPipeline, LTXVideoTransformer3DModel

    with torch.device(device):
        if smoke:
            transformer = LTXVideoTransformer3DModel(in_channels=8, out_channels=8, num_attention_heads=2, attention_head_dim=8,
                                                     cross_attention_dim=16, num_layers=2, caption_channels=32)
            vae = AutoencoderKLLTXVideo(latent_channels=8, block_out_channels=(8, 8, 8, 8), decoder_block_out_channels=(8, 8, 8, 8),
                layers_per_block=(1, 1, 1, 1, 1), decoder_layers_per_block=(1, 1, 1, 1, 1))
        else:  # the class defaults are LTX-Video 0.9's 2B transformer and its VAE
            transformer = LTXVideoTransformer3DModel()
            vae = AutoencoderKLLTXVideo()
    # the T5-XXL text encoder runs once per clip; random prompt embeddings stand in for it
    return LTXPipeline(transformer=transformer, vae=vae, scheduler=FlowMatchEulerDiscreteScheduler(), text_encoder=None, tokenizer=None)


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
        call = dict(image=image, width=width, height=height, num_frames=frames, num_inference_steps=steps,
                    decode_chunk_size=8 if optimized else frames, output_type="np")
    else:
        width, height, frames = (64, 64, 9) if smoke else (768, 512, args.ltx_frames)
        channels = 32 if smoke else 4096
        embeds = torch.randn(1, 128, channels, device=device, dtype=dtype)
        mask = torch.ones(1, 128, device=device, dtype=torch.long)
        call = dict(prompt_embeds=embeds, prompt_attention_mask=mask, negative_prompt_embeds=embeds.clone(),
                    negative_prompt_attention_mask=mask, width=width, height=height, num_frames=frames,
                    num_inference_steps=steps, guidance_scale=3.0, output_type="np")
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
    del pipeline
    if device == "cuda":
        torch.cuda.empty_cache()
    return {"seconds": seconds, "peak_mb": peak, "warmup_s": warm, "clip": f"{frames} frames {width}x{height}, {steps} steps"}


def bench_gpu(args) -> list[dict]:
    import torch

    torch.backends.cuda.matmul.allow_tf32 = False  # diffusers' default: plain fp32 matmuls
    rows = []
    for name in args.gpu_models:
        cases = [("diffusers defaults (fp32, whole-clip decode)", False, False),
                 ("service: bf16, SDPA, chunked/tiled decode", True, False),
                 ("service + torch.compile", True, True)]
        baseline = None
        for label, optimized, compiled in cases:
            if compiled and name not in args.compile_models:
                continue
            result = _gpu_case(name, optimized, compiled, args)
            median = statistics.median(result["seconds"])
            baseline = baseline or median
            rows.append({"backend": name, "mode": "image-to-video" if name == "svd-xt" else "text-to-video", "config": label,
                         "clip": result["clip"], "seconds": median, "peak_mb": result["peak_mb"], "ratio": baseline / median,
                         "warmup_s": result["warmup_s"]})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def table(rows: list[dict], device: str) -> str:
    lines = [f"device: {device}", "", "| backend | mode | configuration | clip | median s | peak MB | speed-up vs baseline |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for row in rows:
        lines.append(f"| {row['backend']} | {row['mode']} | {row['config']} | {row['clip']} | {row['seconds']:.2f} | "
                     f"{row['peak_mb']:.0f} | {row['ratio']:.2f}x |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per CPU configuration")
    parser.add_argument("--gpu-runs", type=int, default=2, help="timed runs per GPU configuration")
    parser.add_argument("--steps", type=int, default=4, help="denoising steps in the GPU runs")
    parser.add_argument("--ltx-frames", type=int, default=49)
    parser.add_argument("--gpu-models", nargs="+", default=["svd-xt", "ltx"])
    parser.add_argument("--compile-models", nargs="*", default=["svd-xt", "ltx"], help="models to also time with torch.compile")
    parser.add_argument("--gpu-smoke", action="store_true", help="run the GPU code path on the CPU with small configs")
    parser.add_argument("--skip-cpu", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_tiny_child(json.loads(args.child))))
        return

    import platform

    import torch

    rows = [] if args.skip_cpu else bench_cpu(args.runs)
    if not args.skip_cpu:
        print(table(rows, f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores), median of {args.runs} runs"))
    if torch.cuda.is_available() or args.gpu_smoke:
        from service.generation import quiet_libraries

        quiet_libraries()
        gpu_rows = bench_gpu(args)
        device = torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU (smoke run, small configs)"
        print()
        print(table(gpu_rows, f"{device}, median of {args.gpu_runs} runs after a warm-up"))
        for row in gpu_rows:
            print(f"  {row['backend']} / {row['config']}: warm-up (incl. compilation) {row['warmup_s']:.1f} s")
    else:
        print("\nno CUDA device: the full-size SVD-XT / LTX runs need a GPU (see docs/benchmarks.md)")


if __name__ == "__main__":
    main()
