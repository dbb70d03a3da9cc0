"""A chapter's answers: named values, each glued once (myst-nb, not displayed), and answer paragraphs,
``answers.markdown('''Of the {{ n_claims }} claims ...''')``, Jinja2 templates of those values shown as Markdown."""
from __future__ import annotations

import re
from collections import UserDict
from collections.abc import Mapping

from IPython.display import Markdown

__all__ = ["Answers", "Paragraph", "fill"]


class Answers(UserDict):
    """A chapter's named values, each glued once when set (a name set twice raises); ``markdown`` fills a paragraph."""

    def __setitem__(self, name: str, value: object) -> None:
        if not isinstance(name, str) or not re.fullmatch(r"\w+", name):
            raise ValueError(f"answer name {name!r} is not a word of letters, digits and _; name it after what it "
                             f"means, e.g. 'ovg_chroma'")
        if name in self.data:
            raise ValueError(f"answer {name!r} is set twice (first {self.data[name]!r}, then {value!r}); "
                             f"give the second value a name of its own")
        from myst_nb import glue

        glue(name, value, display=False)
        self.data[name] = value

    def markdown(self, text: str):
        """``text`` with every ``{{ name }}`` replaced by this chapter's value, as ``IPython.display.Markdown``."""
        return Paragraph(fill(text, self.data))


class Paragraph(Markdown):
    """``IPython.display.Markdown`` whose plain-text form is the paragraph itself (not the object's repr)."""

    def __repr__(self) -> str:
        return self.data


def fill(text: str, values: Mapping[str, object]) -> str:
    """``text`` (a Jinja2 template) rendered with ``values``; a name it reads that ``values`` lacks raises KeyError."""
    import jinja2

    try:
        env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False)
        return env.from_string(text.strip("\n")).render(values)
    except jinja2.UndefinedError as err:
        raise KeyError(f"answer paragraph quotes {err.message.removesuffix(' is undefined')}, which the chapter does "
                       f"not set; set it (answers[name] = value) or quote one of: "
                       f"{', '.join(sorted(values)) or 'none'}") from None
    except jinja2.TemplateError as err:
        raise ValueError(f"answer paragraph is not a valid template ({err}): {text.strip()[:80]!r}") from err
