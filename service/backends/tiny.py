"""`tiny`: the embedded default. A real LTX-Video pipeline, but built from small configs.

The components are created once with seeded random weights, written with
`save_pretrained` to the data directory, and from then on loaded through the same
`from_pretrained` path as the full-size models. Its frames are coloured noise (the
weights are untrained); what it proves is that every stage around the model runs.
Frames come out at a quarter of the requested size and are upscaled, so the watermark
and the screens see frames of the size the client asked for.
"""

from __future__ import annotations

import json
import os
import shutil
import string
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from service.backends.contract import (
    IMAGE_TO_VIDEO,
    TEXT_TO_VIDEO,
    BackendInfo,
    GenerationInput,
    StepCallback,
    frames_to_uint8,
    resize_frames,
    step_callback,
)
from service.backends.speed import apply_to_denoiser, running_timestep, speed_plan

if TYPE_CHECKING:
    from service.settings import Settings


NAME = "tiny"
FORMAT_VERSION = 1  # bump when the configs below change, so old builds are replaced
_MODEL_SIDE_MULTIPLE = 32  # LTX latents are 1/4 of the pixels here and patches are 1 latent wide
_MAX_MODEL_SIDE = 64
_TEMPORAL_COMPRESSION = 4


def info(settings: Settings) -> BackendInfo:
    return BackendInfo(
        name=NAME,
        description="Tiny LTX-Video architecture with seeded random weights (CPU, seconds; output is noise)",
        modes=(TEXT_TO_VIDEO, IMAGE_TO_VIDEO),
        source=str(model_directory(settings)),
        defaults={
            "num_frames": 16,
            "fps": 8,
            "width": 256,
            "height": 256,
            "num_inference_steps": 4,
            "guidance": 1.0,
        },
        parameters=(
            "prompt",
            "negative_prompt",
            "image",
            "num_frames",
            "fps",
            "width",
            "height",
            "num_inference_steps",
            "seed",
            "guidance",
        ),
        size_multiple=2,
        min_side=256,
        frames_rule="any",
        extra={"version": f"tiny-ltx-v{FORMAT_VERSION}", "speed": speed_plan(NAME, settings).describe(settings.dtype)},
    )


def model_directory(settings: Settings) -> Path:
    return settings.resolved_models_dir / f"tiny-ltx-v{FORMAT_VERSION}"


def build_tokenizer():
    """A character-level tokenizer, built locally (no hub download); tests reuse it for the other tiny models."""
    from tokenizers import (
        Regex,
        Tokenizer,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )
    from transformers import PreTrainedTokenizerFast

    characters = sorted(set(string.ascii_lowercase + string.digits + " .,;:!?'\"-()" + "àâäçéèêëîïôöùûüÿñßáíóúãõ"))
    vocabulary = {"<pad>": 0, "</s>": 1, "<unk>": 2}
    for character in characters:
        vocabulary[character] = len(vocabulary)
    tokenizer = Tokenizer(models.WordLevel(vocabulary, unk_token="<unk>"))
    tokenizer.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tokenizer.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    tokenizer.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, pad_token="<pad>", eos_token="</s>", unk_token="<unk>", model_max_length=128
    )


def build(directory: Path) -> None:
    """Create the tiny pipeline with seeded weights and save it (atomically) to directory."""
    import torch
    from diffusers import (
        AutoencoderKLLTXVideo,
        FlowMatchEulerDiscreteScheduler,
        LTXPipeline,
        LTXVideoTransformer3DModel,
    )
    from transformers import T5Config, T5EncoderModel

    torch.manual_seed(20261126)
    transformer = LTXVideoTransformer3DModel(
        in_channels=8,
        out_channels=8,
        patch_size=1,
        patch_size_t=1,
        num_attention_heads=4,
        attention_head_dim=8,
        cross_attention_dim=32,
        num_layers=1,
        caption_channels=32,
    )
    vae = AutoencoderKLLTXVideo(
        in_channels=3,
        out_channels=3,
        latent_channels=8,
        block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(8, 8, 8, 8),
        layers_per_block=(1, 1, 1, 1, 1),
        decoder_layers_per_block=(1, 1, 1, 1, 1),
        spatio_temporal_scaling=(True, True, False, False),
        decoder_spatio_temporal_scaling=(True, True, False, False),
        decoder_inject_noise=(False, False, False, False, False),
        upsample_residual=(False, False, False, False),
        upsample_factor=(1, 1, 1, 1),
        timestep_conditioning=False,
        patch_size=1,
        patch_size_t=1,
        encoder_causal=True,
        decoder_causal=False,
    )
    text_encoder = T5EncoderModel(
        T5Config(
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
        )  # type: ignore[call-arg]  # transformers' dataclass stub omits the generation ids PreTrainedConfig takes as kwargs
    )
    pipeline: Any = LTXPipeline(  # diffusers' pipeline stubs lack DiffusionPipeline's methods
        transformer=transformer,
        vae=vae,
        scheduler=FlowMatchEulerDiscreteScheduler(),
        text_encoder=text_encoder,
        tokenizer=build_tokenizer(),
    )
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".building-", dir=directory.parent))
    try:
        pipeline.save_pretrained(staging)
        (staging / "originframe.json").write_text(json.dumps({"format_version": FORMAT_VERSION, "seed": 20261126}))
        try:
            os.rename(staging, directory)
        except OSError:
            if not (directory / "model_index.json").exists():  # lost a race with another process: theirs is fine
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


class TinyBackend:
    """Loads the saved pipeline once; generate() is safe to call from one worker thread at a time."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.directory = model_directory(settings)
        self._lock = threading.Lock()
        # diffusers pipelines (untyped)
        self._text_to_video: Any = None
        self._image_to_video: Any = None

    def info(self) -> BackendInfo:
        return info(self.settings)

    def availability(self) -> tuple[bool, str]:
        return True, "built locally on first use" if not (self.directory / "model_index.json").exists() else "ready"

    def load(self) -> None:
        import torch
        from diffusers import LTXImageToVideoPipeline, LTXPipeline

        with self._lock:
            if self._text_to_video is not None:
                return
            if not (self.directory / "model_index.json").exists():
                build(self.directory)
            dtype = getattr(torch, self.settings.dtype)
            pipeline = LTXPipeline.from_pretrained(self.directory, dtype=dtype)
            # the image pipeline shares this transformer: the timestep comes from whichever pipeline is running
            apply_to_denoiser(
                pipeline.transformer,
                lambda: running_timestep(self._text_to_video, self._image_to_video),
                speed_plan(NAME, self.settings),
                self.settings,
            )
            pipeline.to(self.settings.device)
            pipeline.set_progress_bar_config(disable=True)
            image_pipeline: Any = LTXImageToVideoPipeline(**pipeline.components)  # its stub lacks the mixin's methods
            image_pipeline.set_progress_bar_config(disable=True)
            self._text_to_video, self._image_to_video = pipeline, image_pipeline

    @property
    def loaded(self) -> bool:
        return self._text_to_video is not None

    def generate(self, request: GenerationInput, on_step: StepCallback) -> np.ndarray:
        import torch
        from PIL import Image

        self.load()
        width, height, frames = request.width, request.height, request.num_frames
        # resolved by the service before a job runs
        assert width is not None and height is not None and frames is not None
        assert request.num_inference_steps is not None and request.seed is not None
        model_width = min(
            _MAX_MODEL_SIDE, max(_MODEL_SIDE_MULTIPLE, width // 4 // _MODEL_SIDE_MULTIPLE * _MODEL_SIDE_MULTIPLE)
        )
        model_height = min(
            _MAX_MODEL_SIDE, max(_MODEL_SIDE_MULTIPLE, height // 4 // _MODEL_SIDE_MULTIPLE * _MODEL_SIDE_MULTIPLE)
        )
        # LTX makes 4k+1 frames here; make enough and keep the first num_frames
        model_frames = ((frames - 1 + _TEMPORAL_COMPRESSION - 1) // _TEMPORAL_COMPRESSION) * _TEMPORAL_COMPRESSION + 1
        arguments = dict(
            prompt=request.prompt or "",
            negative_prompt=request.negative_prompt,
            height=model_height,
            width=model_width,
            num_frames=model_frames,
            frame_rate=request.fps,
            num_inference_steps=request.num_inference_steps,
            guidance_scale=request.guidance,
            generator=torch.Generator(device="cpu").manual_seed(request.seed),
            output_type="np",
            callback_on_step_end=step_callback(on_step, request.num_inference_steps),
        )
        with torch.inference_mode():
            if request.image is not None:
                image = Image.fromarray(request.image).resize((model_width, model_height), Image.Resampling.BICUBIC)
                output = self._image_to_video(image=image, **arguments).frames
            else:
                output = self._text_to_video(**arguments).frames
        video = frames_to_uint8(output)[:frames]
        return resize_frames(video, width, height)
