"""The keys this service signs and marks with, and the lists it trusts, each loaded once on
first use: C2PA signing credentials (configured files, or a development CA in the data
directory), the C2PA and TSA trust lists, and the watermark keyring."""

from __future__ import annotations

import threading
from pathlib import Path

from provenance.credentials import SigningCredentials
from provenance.trust import TrustConfiguration
from provenance.watermark import Keyring
from service.settings import Settings


def load_credentials(settings: Settings) -> SigningCredentials:
    """Configured certificate and key files, or the development CA in the data directory."""
    extra = Path(settings.c2pa_trust_anchors).read_text() if settings.c2pa_trust_anchors else ""
    if settings.c2pa_cert_chain or settings.c2pa_private_key:
        credentials = SigningCredentials.from_files(
            settings.c2pa_cert_chain, settings.c2pa_private_key, tsa_url=settings.c2pa_tsa_url or None
        )
        return credentials.with_trust_anchors(extra) if extra else credentials
    return SigningCredentials.load_or_create_development(
        settings.resolved_c2pa_dir, tsa_url=settings.c2pa_tsa_url or None, trust_anchors_pem=extra
    )


def load_trust(settings: Settings) -> TrustConfiguration:
    """The C2PA and TSA trust lists for reading other signers (local files; empty: none)."""
    return TrustConfiguration.from_files(settings.c2pa_trust_list or None, settings.c2pa_tsa_trust_list or None)


class KeyMaterial:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._credentials: SigningCredentials | None = None
        self._trust: TrustConfiguration | None = None
        self._keyring: Keyring | None = None
        self._lock = threading.Lock()

    @property
    def credentials(self) -> SigningCredentials:
        with self._lock:
            if self._credentials is None:
                self._credentials = load_credentials(self.settings)
            return self._credentials

    @property
    def trust(self) -> TrustConfiguration:
        with self._lock:
            if self._trust is None:
                self._trust = load_trust(self.settings)
            return self._trust

    @property
    def keyring(self) -> Keyring:
        """Watermark keys, created in the key directory on first use (mode 0600)."""
        with self._lock:
            if self._keyring is None:
                self._keyring = Keyring.load_or_create(self.settings.resolved_watermark_keys_dir)
            return self._keyring

    def trust_anchors(self) -> str:
        return self.credentials.trust_anchors_pem()
