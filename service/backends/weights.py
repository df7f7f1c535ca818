"""Whether a model's weights can be loaded without a download."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from service.settings import Settings


def weights_availability(source: str, settings: Settings) -> tuple[bool, str]:
    """(available, reason) for a hub id or a local directory."""
    path = Path(source).expanduser()
    if path.is_dir():
        if (path / "model_index.json").exists():
            return True, f"local directory {path}"
        return False, f"{path} has no model_index.json"
    if source.startswith((".", "/", "~")):
        return False, f"local directory {path} does not exist"
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(source, "model_index.json")
    except Exception as error:  # a malformed id, an unreadable cache
        return False, f"cannot look up {source}: {error}"
    if isinstance(cached, str):
        return True, f"{source} in the local hub cache"
    if settings.allow_downloads:
        return True, f"{source} will be downloaded on first use"
    return False, f"weights for {source} are not on this machine and downloads are off (ORIGINFRAME_ALLOW_DOWNLOADS)"
