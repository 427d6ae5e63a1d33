"""Note templates and their prompts: versioned YAML files in ``prompts/``, loaded and validated.

A template names its sections (with cue words and a description the offline
drafter matches against), whether it has goals, and the prompt a chat model gets.
A prompt variable that is not supplied is an error, never an empty string.
"""

from __future__ import annotations

import string
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from assistant.errors import TemplateError

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"


class SectionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    title: str
    description: str = Field(description="What belongs here; the offline drafter matches speech against it.")
    cues: list[str] = Field(default_factory=list, description="Words or phrases that point speech to this section.")
    drafted_by: Literal["transcript", "ot", "goals"] = "transcript"
    max_statements: int = 6


class PromptSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    system: str
    user: str

    def variables(self) -> set[str]:
        names: set[str] = set()
        for text in (self.system, self.user):
            names.update(field for _, field, _, _ in string.Formatter().parse(text) if field)
        return names

    def render(self, **values: str) -> tuple[str, str]:
        missing = self.variables() - values.keys()
        if missing:
            raise TemplateError(f"prompt variables not supplied: {', '.join(sorted(missing))}")
        return self.system.format(**values), self.user.format(**values)


class Template(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    version: str
    title: str
    audience: Literal["OT", "coordinator", "evaluator"] = "OT"
    description: str = ""
    sections: list[SectionSpec]
    goals: bool = False
    speakers: dict[str, str] = Field(
        default_factory=dict,
        description="How statements name who spoke, by speaker (OT, client, other, unknown); empty: the defaults.",
    )
    min_similarity: float | None = Field(
        default=None, ge=-1.0, le=1.0, description="Offline drafter: the least score that places a sentence."
    )
    prompt: PromptSpec

    @model_validator(mode="after")
    def _check(self) -> Template:
        ids = [s.id for s in self.sections]
        if len(ids) != len(set(ids)):
            raise ValueError("section ids must be unique")
        unknown = set(self.speakers) - {"OT", "client", "other", "unknown"}
        if unknown:
            names = ", ".join(sorted(unknown))
            raise ValueError(f"speakers: unknown speaker(s) {names}; use OT, client, other, unknown")
        required = {"transcript", "sections"}
        missing = required - self.prompt.variables()
        if missing:
            raise ValueError(f"prompt must use {{{'}, {'.join(sorted(missing))}}}")
        return self

    @property
    def key(self) -> str:
        return f"{self.id}@{self.version}"


def template_paths(folder: Path = PROMPTS_DIR) -> list[Path]:
    return sorted(folder.glob("*.yaml"))


def load_template_file(path: Path) -> Template:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise TemplateError(f"{path.name}: cannot read the template ({exc})") from exc
    try:
        return Template.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise TemplateError(f"{path.name}: {where}: {first['msg']}") from exc


@lru_cache(maxsize=8)
def all_templates(folder: Path = PROMPTS_DIR) -> dict[str, Template]:
    """Every template by id (newest version) and by ``id@version``."""
    found: dict[str, Template] = {}
    for path in template_paths(folder):
        template = load_template_file(path)
        found[template.key] = template
        current = found.get(template.id)
        if current is None or _version_key(template.version) > _version_key(current.version):
            found[template.id] = template
    return found


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in version.split("."))


def load_template(name: str, folder: Path = PROMPTS_DIR) -> Template:
    templates = all_templates(folder)
    if name not in templates:
        ids = sorted({t.id for t in templates.values()})
        raise TemplateError(f"no template '{name}'; choose one of: {', '.join(ids)}")
    return templates[name]
