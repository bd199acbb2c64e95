"""Lessons: the chapter as a guided walk-through whose answers are computed from the model on screen."""

from .chapter import APPLICATION_LABELS, APPLICATIONS, LESSONS
from .course import Asked, Lesson, Question, allows, format_answers, parse_answers, score

__all__ = [
    "APPLICATIONS",
    "APPLICATION_LABELS",
    "LESSONS",
    "Asked",
    "Lesson",
    "Question",
    "allows",
    "format_answers",
    "parse_answers",
    "score",
]
