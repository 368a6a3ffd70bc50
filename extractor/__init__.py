"""Structured extraction of sanctions news: schema, prompts, model backends, evaluation."""

from .batch import Outcome, extract_many
from .documents import Document
from .errors import BackendError, ConfigError, DocumentError, ExtractionFailed, ExtractorError, PromptError
from .pipeline import Extractor, RunMeta, extract
from .schema import ArticleExtraction, SanctionAction, Target
from .settings import Settings

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
