"""course_lib.data: the park sentence and the catalogue are consistent and mean what they say."""

from __future__ import annotations

import numpy
import pytest

import course_lib as cl
from course_lib import data


def test_tokens_come_from_the_sentence():
    words = data.SENTENCE.replace(data.BLANK, "").replace(".", "").split()
    assert tuple(words) == data.TOKENS


def test_every_word_has_one_value_per_feature():
    assert all(len(row) == len(data.FEATURES) for row in data.VOCABULARY.values())
    assert set(data.TOKENS) | set(data.CANDIDATES) <= set(data.VOCABULARY)


def test_sentence_embeddings_have_shape_t_by_d():
    x = data.sentence_embeddings()
    assert x.shape == (len(data.TOKENS), len(data.FEATURES)) and x.dtype == numpy.float64


def test_embed_returns_fresh_arrays():
    a = data.embed(["park"])
    a[0, 0] = 123.0
    assert data.embed(["park"])[0, 0] == data.VOCABULARY["park"][0]


def test_unknown_word_is_named():
    with pytest.raises(KeyError, match=r"not in the course vocabulary: \['tennis'\]"):
        data.embed(["park", "tennis"])


def test_hand_made_attention_prefers_the_sports_for_the_blank():
    x = data.sentence_embeddings()
    w_q, w_k, w_v = data.park_projections()
    out, weights = cl.scaled_dot_product_attention(x @ w_q, x @ w_k, x @ w_v)
    last = dict(zip(data.TOKENS, weights[-1]))
    assert last["play"] > last["park"] > max(last["to"], last["the"], last["and"])
    scores = dict(zip(data.CANDIDATES, data.embed(data.CANDIDATES) @ out[-1]))
    assert min(scores[w] for w in data.SPORTS) > max(scores[w] for w in ("book", "house", "sleep"))


def test_catalogue_shapes():
    titles, keys, values = data.catalogue()
    assert len(titles) == len(data.BOOKS) == keys.shape[0] == values.shape[0]
    assert keys.shape[1] == len(data.TOPICS) and values.shape[1] == len(data.CONTENTS)
    assert len(set(titles)) == len(titles)


def test_machine_learning_query_prefers_machine_learning_books():
    titles, keys, values = data.catalogue()
    _, weights = cl.scaled_dot_product_attention(data.topic_query("machine learning")[None, :], keys, values)
    assert titles[int(numpy.argmax(weights[0]))] == "Neural Networks by Hand"


def test_unknown_topic_is_named():
    with pytest.raises(KeyError, match=r"unknown topic\(s\) \['cats'\]"):
        data.topic_query("cats")


def test_data_follows_the_selected_backend(xp_backend):
    assert type(data.sentence_embeddings()) is type(xp_backend.asarray([1.0]))
    assert type(data.catalogue()[1]) is type(xp_backend.asarray([1.0]))
