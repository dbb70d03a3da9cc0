"""Chart text names schedules and the training seed as the prose does, from the schedule registry."""
from spectral_collapse.plotting.labels import chart_label
from spectral_collapse.studies.schedule import SCHEDULE_NAMES, schedule_name


def test_schedule_keys_and_the_training_seed_read_in_words_on_charts():
    keyed = [k for k in SCHEDULE_NAMES if "_" in k]
    assert keyed                                              # the registry has identifier keys to name
    for k in keyed:
        shown = chart_label(k)
        assert "_" not in shown and shown == schedule_name(k).removeprefix("the ")
    assert chart_label("train_seed") == "training seed"
    assert chart_label("low") == "low" and chart_label("every_4_steps_x") == "every_4_steps_x"
