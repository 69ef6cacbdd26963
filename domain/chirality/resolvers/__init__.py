"""Resolver backends: `echo` (deterministic, no model) and `openai` (any compatible endpoint)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from domain.chirality.errors import invalid_arguments

if TYPE_CHECKING:
    from config.chirality import ChiralitySettings
    from domain.chirality.calls import Resolver
    from domain.chirality.problem import Problem

RESOLVER_NAMES: tuple[str, ...] = ("openai", "echo")


def make_resolver(name: str, *, settings: ChiralitySettings, problem: Problem) -> Resolver:
    """The named resolver; call inside the event loop that will use it."""
    if name == "echo":
        from domain.chirality.resolvers.echo import EchoResolver

        return EchoResolver()
    if name == "openai":
        from domain.chirality.resolvers.openai_chat import OpenAIResolver

        return OpenAIResolver(settings=settings, problem=problem)
    raise invalid_arguments(f"unknown resolver {name!r}; resolvers: {', '.join(RESOLVER_NAMES)}",
                            resolver=name)
