"""Structured extraction of sanctions news: schema, prompts, model backends, evaluation."""

from .batch.run import Outcome, extract_many
from .core.documents import Document
from .core.errors import BackendError, ConfigError, DocumentError, ExtractionFailed, ExtractorError, PromptError
from .core.meta import RunMeta
from .core.pipeline import Extractor, extract
from .core.schema import ArticleExtraction, SanctionAction, Target
from .core.settings import Settings

__all__ = [
    "ArticleExtraction",
    "BackendError",
    "ConfigError",
    "Document",
    "DocumentError",
    "ExtractionFailed",
    "Extractor",
    "ExtractorError",
    "Outcome",
    "PromptError",
    "RunMeta",
    "SanctionAction",
    "Settings",
    "Target",
    "extract",
    "extract_many",
]
