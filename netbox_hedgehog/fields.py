"""Credentials encrypted at rest, and an attribute that cannot be rendered.

A fabric's credentials are stored as Fernet tokens (AES-128-CBC + HMAC-SHA256). The keys come
from the plugin setting ``secret_keys`` (a list: the first encrypts, all decrypt, so a key can be
rotated with ``manage.py hedgehog_rotate_key``); without it they are derived from Django's
``SECRET_KEY`` and ``SECRET_KEY_FALLBACKS``. Every key is stretched to a Fernet key with HKDF, so
any long random string will do.

On the model the attribute is a :class:`Secret`, never a ``str``: a template, an export template,
a custom link (``{{ object.git_token }}``), a serializer or a log line that reaches it gets
``(set)`` or an empty string. Only :func:`reveal` (or ``Secret.reveal()``, which neither Django's
templates nor NetBox's sandboxed Jinja2 will call) returns the clear text; the sources call it
at the moment they hand a credential to a client.
"""

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.models.query_utils import DeferredAttribute

from .errors import SourceError
from .settings import plugin_setting

__all__ = (
    'EncryptedTextField',
    'Secret',
    'SecretDecryptionError',
    'fingerprint',
    'key_materials',
    'reveal',
    'vault',
)

REDACTED = '(set)'


class SecretDecryptionError(SourceError, ValueError):
    """A stored credential cannot be decrypted with the configured keys.

    A :class:`SourceError`, so a sync or a connection test reports it on the fabric like any
    other unreadable source, and a ``ValueError`` for everything else.
    """


def key_materials():
    """The configured key strings, the encrypting one first."""
    keys = plugin_setting('secret_keys') or [settings.SECRET_KEY, *getattr(settings, 'SECRET_KEY_FALLBACKS', [])]
    if isinstance(keys, str):
        keys = [keys]
    if not all(isinstance(key, str) and len(key) >= 32 for key in keys):
        raise ImproperlyConfigured('netbox_hedgehog: each entry of secret_keys must be a string of 32+ characters')
    return tuple(keys)


def _derive(material, purpose):
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(material.encode())


@lru_cache(maxsize=8)
def _vault(materials):
    return MultiFernet(
        [Fernet(base64.urlsafe_b64encode(_derive(material, b'netbox-hedgehog credentials'))) for material in materials]
    )


def vault():
    """The MultiFernet for the configured keys (cached per key list)."""
    return _vault(key_materials())


@lru_cache(maxsize=8)
def _fingerprint_key(material):
    return _derive(material, b'netbox-hedgehog fingerprints')


def fingerprint(value):
    """A keyed, truncated hash of ``value``: equal for equal values, useless for guessing them."""
    return hmac.new(_fingerprint_key(key_materials()[0]), value.encode(), hashlib.sha256).hexdigest()[:24]


class Secret:
    """A credential held by a model instance: either ciphertext read from the database or clear text just given.

    ``str()``, ``repr()`` and HTML rendering give ``(set)`` or ``''``; truthiness says whether a value
    is stored, without decrypting. :meth:`reveal` is marked so that templates cannot call it.
    """

    __slots__ = ('_ciphertext', '_plaintext', 'label')

    def __init__(self, plaintext='', ciphertext='', label='credential'):
        self._plaintext = plaintext
        self._ciphertext = ciphertext
        self.label = label

    @classmethod
    def wrap(cls, value, label='credential'):
        """A Secret for whatever was assigned: a Secret stays as it is, text is new clear text."""
        if isinstance(value, cls):
            return value
        return cls(plaintext='' if value is None else str(value), label=label)

    @property
    def ciphertext(self):
        """The stored form, encrypting a newly given value on first use."""
        if self._plaintext and not self._ciphertext:
            self._ciphertext = vault().encrypt(self._plaintext.encode()).decode()
        return self._ciphertext

    def reveal(self):
        """The clear text. Raises :class:`SecretDecryptionError` when no configured key fits."""
        if self._ciphertext and not self._plaintext:
            try:
                self._plaintext = vault().decrypt(self._ciphertext.encode()).decode()
            except (InvalidToken, ValueError):
                raise SecretDecryptionError(
                    f'the stored {self.label} cannot be decrypted with the configured keys (was SECRET_KEY or the '
                    'secret_keys setting changed?); enter it again'
                ) from None
        return self._plaintext

    reveal.alters_data = True  # Django templates refuse to call it
    reveal.unsafe_callable = True  # so does Jinja2's sandbox (export templates, custom links)

    def __bool__(self):
        return bool(self._plaintext or self._ciphertext)

    def __str__(self):
        return REDACTED if self else ''

    def __repr__(self):
        return f'<Secret {REDACTED if self else "empty"}>'

    def __html__(self):
        return str(self)

    def __copy__(self):
        return Secret(self._plaintext, self._ciphertext, self.label)

    def __deepcopy__(self, memo):
        return self.__copy__()

    def __reduce__(self):
        # Pickled (cached, queued) instances carry the ciphertext only.
        return (Secret, ('', self.ciphertext, self.label))


def reveal(value):
    """The clear text of a credential attribute; plain strings (test doubles, settings) pass through."""
    return value.reveal() if isinstance(value, Secret) else (value or '')


class SecretAttribute(DeferredAttribute):
    """Makes every assignment to the field a :class:`Secret`."""

    def __set__(self, instance, value):
        instance.__dict__[self.field.attname] = Secret.wrap(value, str(self.field.verbose_name))


class EncryptedTextField(models.TextField):
    """A text column holding a Fernet token; the model attribute is a :class:`Secret`."""

    descriptor_class = SecretAttribute

    def from_db_value(self, value, expression, connection):
        return Secret(ciphertext=value or '', label=str(self.verbose_name))

    def to_python(self, value):
        return Secret.wrap(value, str(self.verbose_name))

    def get_prep_value(self, value):
        # Text given to update() or a lookup is clear text too: it is never written unencrypted.
        return Secret.wrap(value).ciphertext

    def value_to_string(self, obj):
        return str(self.value_from_object(obj))
