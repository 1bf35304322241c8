"""A description's ``train:`` recipe: checked with the description (description/recipe.py)."""

from __future__ import annotations

import pytest

import convscope
from convscope.description.recipe import read_recipe

BASE = {"input": "8x8x1", "layers": ["flatten", {"type": "dense", "units": 2}]}


def test_a_recipe_is_read_and_the_zoo_carries_the_published_ones():
    assert read_recipe({**BASE, "train": {"epochs": 3, "lr": 0.1, "augment": True}}) == \
        {"epochs": 3, "lr": 0.1, "augment": True}
    assert convscope.load({**BASE, "train": {"data": "digits"}}).name == "model"
    from convscope import zoo
    from convscope.description.load import load_description

    recipe = read_recipe(load_description("mnist1d_cnn")[0])
    # the recipe of benchmarks/train_targets.py that reaches the paper's 94 %
    assert recipe == {"data": "mnist1d", "epochs": 100, "batch_size": 100, "lr": 0.01,
                      "label_smoothing": 0.1}
    assert {"mnist1d_cnn", "mnist1d_plus", "digits_cnn"} <= set(zoo.names())


@pytest.mark.parametrize(("recipe", "message"), [
    ([1, 2], "train: must be a mapping of training settings"),
    ({"epoch": 3}, "unknown training setting 'epoch'"),
    ({"epochs": 2.5}, "train.epochs: must be a whole number"),
    ({"lr": "fast"}, "train.lr: must be a number"),
    ({"augment": 1}, "train.augment: must be true or false"),
    ({"epochs": True}, "train.epochs: must be a whole number"),
])
def test_a_bad_recipe_is_refused_with_its_path(recipe, message):
    with pytest.raises(convscope.SpecError) as err:
        convscope.load({**BASE, "train": recipe})
    assert message in str(err.value)
