"""Generation backends, one self-contained file each, chosen by the request's `model`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import numpy as np

from service.backends.contract import (
    IMAGE_TO_VIDEO,
    TEXT_TO_VIDEO,
    BackendInfo,
    GenerationCancelled,
    GenerationInput,
    StepCallback,
)

if TYPE_CHECKING:
    from service.settings import Settings


__all__ = [
    "IMAGE_TO_VIDEO",
    "KNOWN_MODELS",
    "TEXT_TO_VIDEO",
    "Backend",
    "BackendInfo",
    "GenerationCancelled",
    "GenerationInput",
    "StepCallback",
    "create_backends",
    "quiet_libraries",
]

KNOWN_MODELS = ("tiny", "svd", "svd-xt", "ltx", "wan", "hunyuan")


class Backend(Protocol):
    def info(self) -> BackendInfo: ...
    def availability(self) -> tuple[bool, str]: ...
    def load(self) -> None: ...
    @property
    def loaded(self) -> bool: ...
    def generate(self, request: GenerationInput, on_step: StepCallback) -> np.ndarray: ...


def quiet_libraries() -> None:
    """Progress bars and load chatter from diffusers/transformers would flood worker logs."""
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    for library in (diffusers_logging, transformers_logging):
        library.disable_progress_bar()
        library.set_verbosity_error()


def create_backend(name: str, settings: Settings) -> Backend:
    if name == "tiny":
        from service.backends.tiny import TinyBackend

        return TinyBackend(settings)
    if name in ("svd", "svd-xt"):
        from service.backends.svd import SvdBackend

        return SvdBackend(settings, name)
    if name == "ltx":
        from service.backends.ltx import LtxBackend

        return LtxBackend(settings)
    if name == "wan":
        from service.backends.wan import WanBackend

        return WanBackend(settings)
    if name == "hunyuan":
        from service.backends.hunyuan import HunyuanBackend

        return HunyuanBackend(settings)
    raise ValueError(f"unknown model {name!r}; known models: {', '.join(KNOWN_MODELS)}")


def create_backends(settings: Settings) -> dict[str, Backend]:
    """The backends this deployment offers (setting enabled_models); nothing is loaded yet."""
    return {name: create_backend(name, settings) for name in settings.models}
