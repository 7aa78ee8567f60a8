"""Every template in the console's folder, rendered by the console's own Jinja2 environment
with planted markup in every value it prints, shows the markup as text: no tag, no attribute
broken out of. The templates are found by listing the folder, so a new one is covered too.

Each value is a `Planted` string that also answers any attribute, item or call with planted
text, iterates as two planted items (so `for key, value in x.items()` runs) and compares and
counts like a number where a template does arithmetic, so every `{{ … }}` a template has prints
planted text. Each template is rendered twice: with planted values true (every `if` taken) and
false (every `else` taken, loops empty).
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import jinja2
import pytest
from jinja2 import meta

from ops.console.core import TEMPLATES, template_environment

PLANT = '"><b id="planted">X</b><meta http-equiv="refresh" content="0;url=/x">\'<i>'
TEMPLATE_NAMES = sorted(path.name for path in TEMPLATES.glob("*.j2"))


_PARAMETER_NAMES = {"_Context__self", "_Context__obj", "params"}


class Planted(str):
    """Planted markup that answers whatever a template asks of a value."""

    truthy = True

    def __new__(cls) -> Planted:
        return super().__new__(cls, PLANT)

    def __bool__(self) -> bool:
        return self.truthy

    def __iter__(self) -> Any:
        return iter([type(self)(), type(self)()] if self.truthy else [])

    def __call__(self, *args: Any, **kwargs: Any) -> Planted:
        return type(self)()

    def __getitem__(self, key: Any) -> Planted:  # type: ignore[override]
        return type(self)()

    def keys(self) -> Any:  # a mapping too (`{**value}`)
        return iter(self)

    def __float__(self) -> float:
        return 1.0

    def __int__(self) -> int:
        return 1

    def __format__(self, spec: str) -> str:
        return format(1.0, spec) if spec and spec[-1] in "fgde%" else str(self)

    def __eq__(self, other: object) -> bool:
        # Python matches a planted keyword name (`**{facet: …}`) against a callee's parameter
        # names with ==: those comparisons must be honest, or every call "repeats" a parameter
        if isinstance(other, str) and other in _PARAMETER_NAMES:
            return False
        return self.truthy

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __lt__(self, other: object) -> bool:
        return self.truthy

    __le__ = __gt__ = __ge__ = __lt__  # type: ignore[assignment]

    def __hash__(self) -> int:
        return str.__hash__(self)

    def __add__(self, other: object) -> Planted:  # type: ignore[override]
        return type(self)()

    __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __add__  # type: ignore[assignment]


class PlantedFalse(Planted):
    truthy = False


def planted_environment() -> jinja2.Environment:
    """The console's environment, with attribute and item lookups on planted values
    answering planted values (everything else, autoescape included, as the console has it)."""
    environment = template_environment()
    plain_getattr, plain_getitem = environment.getattr, environment.getitem

    def getattr_(obj: Any, name: str) -> Any:
        return type(obj)() if isinstance(obj, Planted) else plain_getattr(obj, name)

    def getitem(obj: Any, key: Any) -> Any:
        return type(obj)() if isinstance(obj, Planted) else plain_getitem(obj, key)

    environment.getattr = getattr_  # type: ignore[method-assign]
    environment.getitem = getitem  # type: ignore[method-assign]
    return environment


def every_variable(environment: jinja2.Environment) -> set[str]:
    names: set[str] = set()
    for name in TEMPLATE_NAMES:
        source = (TEMPLATES / name).read_text()
        names |= meta.find_undeclared_variables(environment.parse(source))
    return names - set(environment.globals)


class Elements(HTMLParser):
    """The elements and attributes of a page, as a browser's tokenizer reads them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def test_the_templates_folder_holds_the_templates_the_console_renders():
    assert {"base.html.j2", "error.html.j2", "login.html.j2", "jobs.html.j2"} <= set(TEMPLATE_NAMES)
    assert len(TEMPLATE_NAMES) >= 15


def test_every_template_escapes_in_the_console_environment():
    environment = template_environment()
    for name in TEMPLATE_NAMES:
        template = environment.get_template(name)
        assert environment.is_async is False
        assert template.environment.autoescape is True or template.environment.autoescape(name)


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
@pytest.mark.parametrize("kind", [Planted, PlantedFalse], ids=["true", "false"])
def test_planted_markup_in_every_value_stays_text(name, kind):
    environment = planted_environment()
    context = {variable: kind() for variable in every_variable(environment)}
    html = environment.get_template(name).render(context)

    parser = Elements()
    parser.feed(html)
    tags = {tag for tag, _ in parser.tags}
    assert "b" not in tags and "i" not in tags, f"{name} lets planted markup become a tag"
    assert not any(tag == "meta" and "http-equiv" in attrs for tag, attrs in parser.tags)
    for tag, attrs in parser.tags:
        assert "id" not in attrs or attrs["id"] != "planted", f"{name}: <{tag}> took a planted id"
    if kind is Planted:  # the planted text is there, as text: it reached the page escaped
        assert "&lt;b id=&#34;planted&#34;&gt;" in html or "\\u003cb" in html, name


def test_a_template_without_escaping_would_fail_this_test():
    """The check above finds planted tags when escaping is off (it can fail)."""
    environment = planted_environment()
    environment.autoescape = False
    context = {variable: Planted() for variable in every_variable(environment)}
    parser = Elements()
    parser.feed(environment.get_template("error.html.j2").render(context))
    assert "b" in {tag for tag, _ in parser.tags}
