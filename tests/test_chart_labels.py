"""Chart text names schedules and the training seed as the prose does, from the schedule registry."""
from spectral_collapse.plotting.labels import chart_label
from spectral_collapse.studies.ovg_schedule import SCHEDULE_NAMES


def test_schedule_keys_and_the_training_seed_read_in_words_on_charts():
    keyed = [k for k in SCHEDULE_NAMES if "_" in k]
    assert keyed                                              # the registry has identifier keys to name
    for k in keyed:
        shown = chart_label(k)
        assert "_" not in shown and shown == SCHEDULE_NAMES[k].removeprefix("the ")
    assert chart_label("train_seed") == "training seed"
    assert chart_label("low") == "low" and chart_label("every_4_steps_x") == "every_4_steps_x"


def test_a_layered_chart_keeps_the_one_axis_title_a_layer_sets():
    """Vega-Lite joins differing layer titles of a shared axis; naming an untitled layer's field must not add one."""
    import re

    import altair as alt
    import pandas as pd
    import pytest

    from spectral_collapse.plotting.labels import reader_spec

    vl_convert = pytest.importorskip("vl_convert")
    df = pd.DataFrame({"s_hf": [0.8, 0.9], "s_lf": [0.5, 0.6]})
    titled = alt.Chart(df).mark_point().encode(x=alt.X("s_hf:Q", title="S_HF (texture)"), y="s_lf:Q")
    plain = alt.Chart(df).mark_line().encode(x="s_hf:Q", y="s_lf:Q")
    texts = re.findall(r"<text\b[^>]*>([^<]*)</text>", vl_convert.vegalite_to_svg(reader_spec(alt.layer(titled, plain).to_dict())))
    assert "S_HF (texture)" in texts and not any("," in t and "S_HF" in t for t in texts)
    alone = re.findall(r"<text\b[^>]*>([^<]*)</text>", vl_convert.vegalite_to_svg(reader_spec(plain.to_dict())))
    assert "S_HF" in alone and "s_hf" not in alone          # a single chart still names its field
