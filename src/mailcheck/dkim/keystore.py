"""Many domains, one process: pick the DKIM signer by the From domain.

A hoster signs for hundreds of domains. A :class:`KeyStore` holds one
:class:`~mailcheck.dkim.sign.DkimSigner` per signing domain, from a mapping or
from a directory of key files named ``DOMAIN.SELECTOR.pem`` (or ``.key``).
Several files for one domain make one dual-signing signer (RSA + Ed25519).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from mailcheck.dkim.keys import DkimKey, KeyType, load_key
from mailcheck.dkim.names import normalize_selector, normalize_signing_domain
from mailcheck.dkim.sign import DkimSigner, check_headers, normalize_newlines, split_message
from mailcheck.errors import ConfigError, ParseError, SigningError

KEY_SUFFIXES = (".pem", ".key")


class KeyStore(Mapping[str, DkimSigner]):
    """Signers by signing domain; :meth:`sign` picks one by the message's From domain.

    A From domain without its own signer is signed by the nearest parent
    domain's signer (``news.example.org`` by ``example.org``), which DMARC's
    relaxed alignment accepts.

    Example::

        store = KeyStore.from_directory("/etc/mail/dkim")
        signed = store.sign(raw_message)
    """

    def __init__(self, signers: Mapping[str, DkimSigner] | None = None) -> None:
        """Build from ``{domain: signer}``.

        Raises:
            ConfigError: a key is not a domain or differs from its signer's domain.
        """
        self._signers: dict[str, DkimSigner] = {}
        for domain, signer in (signers or {}).items():
            try:
                name = normalize_signing_domain(domain)
            except ParseError:
                raise ConfigError(f"key store: {domain!r} is not a domain name") from None
            if name != signer.domain:
                raise ConfigError(f"key store: {domain} maps to a signer for {signer.domain}")
            self._signers[name] = signer

    @classmethod
    def from_directory(cls, path: str | os.PathLike[str], /, **options: object) -> KeyStore:
        """Load every ``DOMAIN.SELECTOR.pem`` (or ``.key``) file of a directory.

        Args:
            path: the directory.
            **options: passed to each :class:`DkimSigner` (``headers``, ``oversign``...).

        Raises:
            ConfigError: the directory cannot be read, a file name does not follow the
                pattern, or one domain has two keys of the same type (keep only the
                key in use; stage the next one elsewhere, see the rotation procedure).
            KeyFileError: a key file cannot be loaded.
        """
        folder = Path(path)
        try:
            files = sorted(p for p in folder.iterdir() if p.suffix in KEY_SUFFIXES)
        except OSError as exc:
            raise ConfigError(f"{folder}: cannot read key directory ({exc.strerror})") from None
        found: dict[str, dict[KeyType, tuple[str, DkimKey]]] = {}
        for file in files:
            domain, selector = _split_name(file)
            key = load_key(file)
            per_type = found.setdefault(domain, {})
            if key.type in per_type:
                raise ConfigError(
                    f"{folder}: two {key.type.value} keys for {domain} "
                    f"({per_type[key.type][0]} and {selector})"
                )
            per_type[key.type] = (selector, key)
        signers = {
            domain: DkimSigner(domain, keys=_ordered(per_type), **options)  # type: ignore[arg-type]
            for domain, per_type in found.items()
        }
        return cls(signers)

    def __getitem__(self, domain: str) -> DkimSigner:
        return self._signers[domain.lower().rstrip(".")]

    def __iter__(self) -> Iterator[str]:
        return iter(self._signers)

    def __len__(self) -> int:
        return len(self._signers)

    def __repr__(self) -> str:
        return f"KeyStore({len(self._signers)} domains)"

    def signer_for(self, from_domain: str, /) -> DkimSigner | None:
        """The signer for a From domain: its own, else its nearest parent's, else ``None``."""
        labels = from_domain.lower().rstrip(".").split(".")
        for start in range(len(labels) - 1):
            signer = self._signers.get(".".join(labels[start:]))
            if signer is not None:
                return signer
        return None

    def sign(self, message: bytes, /, *, timestamp: int | None = None) -> bytes:
        """Sign with the signer of the message's From domain.

        Raises:
            SigningError: the message cannot be signed, or no signer covers its From domain.
        """
        header_block, _ = split_message(normalize_newlines(message))
        from_domain = check_headers(header_block)
        signer = self.signer_for(from_domain)
        if signer is None:
            raise SigningError(f"no DKIM key for From domain {from_domain}")
        return signer.sign(message, timestamp=timestamp)


def _split_name(file: Path) -> tuple[str, str]:
    domain, dot, selector = file.stem.rpartition(".")
    try:
        if not dot or not selector:
            raise ParseError(file.stem, 0, "no selector")
        return normalize_signing_domain(domain), normalize_selector(selector)
    except ParseError:
        raise ConfigError(
            f"{file}: key files are named DOMAIN.SELECTOR.pem (e.g. example.org.202611.pem)"
        ) from None


def _ordered(per_type: Mapping[KeyType, tuple[str, DkimKey]]) -> list[tuple[str, DkimKey]]:
    # RSA first: the signature every receiver verifies sits nearest the top.
    return [per_type[t] for t in (KeyType.RSA, KeyType.ED25519) if t in per_type]
