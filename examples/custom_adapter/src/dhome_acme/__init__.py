"""dhome adapter for the Acme home gateway (an example third-party plugin)."""

from dhome_acme.adapter import AcmeAdapter, AcmeConfig

__all__ = ["AcmeAdapter", "AcmeConfig"]
