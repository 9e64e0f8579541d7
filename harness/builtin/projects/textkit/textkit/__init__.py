"""Text helpers."""

from .case import to_camel, to_snake
from .slug import slugify
from .wrap import wrap

__all__ = ["slugify", "to_camel", "to_snake", "wrap"]
