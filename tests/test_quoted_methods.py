"""A method quoted as code in a sentence about results reads by its reader name; code that does more than name a
method (a call, a list, a fenced block) stays as typed."""
from spectral_collapse.framework.method_labels import name_quoted_methods
from spectral_collapse.reference.method_names import METHOD_NAMES


def test_a_quoted_method_label_reads_by_its_name_and_other_code_stays():
    text = ("For `ddim` and `ovg_edm` the spread is small; run `studies --methods ddim` or pass `['ddim', 'ovg']`.\n"
            "```python\nrun(methods=`ovg`)\n```\n`ihc-sr-x4-edm-quick` and `ovg_edmx` stay.")
    out = name_quoted_methods(text)
    assert out.startswith(f"For {METHOD_NAMES['ddim']} and {METHOD_NAMES['ovg_edm']} the spread")
    assert "`studies --methods ddim`" in out and "`['ddim', 'ovg']`" in out
    assert "run(methods=`ovg`)" in out                      # inside a fenced block
    assert "`ihc-sr-x4-edm-quick`" in out and "`ovg_edmx`" in out
    assert name_quoted_methods(out) == out


def test_a_chapter_kernel_names_quoted_methods_in_markdown():
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.display import Markdown

    from spectral_collapse.pipeline.notebook import show_missing_as_dash

    shell = InteractiveShell.instance()
    try:
        assert show_missing_as_dash()
        data, _ = shell.display_formatter.format(Markdown("moves most for `ovg_taba`, -4.087 dB, 1e-07, `-1`"))
        # numbers, exponents and code as typed
        assert data["text/markdown"] == f"moves most for {METHOD_NAMES['ovg_taba']}, -4.087 dB, 1e-07, `-1`"
    finally:
        InteractiveShell.clear_instance()
