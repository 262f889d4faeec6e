"""Notebook 14's generated data and measurements: the park language (course_lib.park_language) and the
repeated random sequences with the head measurements (course_lib.induction)."""

from __future__ import annotations

import math

import numpy
import pytest

from conftest import host
from course_lib import gpt, induction
from course_lib import park_language as pl

# ---------------------------------------------------------------- the park language


def test_the_same_seed_gives_the_same_stories(numpy_backend):
    a, b, c = pl.make_dataset(3, 50, 20), pl.make_dataset(3, 50, 20), pl.make_dataset(4, 50, 20)
    assert a.train.texts == b.train.texts and a.heldout.texts == b.heldout.texts
    assert a.train.texts != c.train.texts


def test_no_heldout_story_is_a_training_story(numpy_backend):
    data = pl.make_dataset(0, 500, 200)
    assert not set(data.heldout.texts) & set(data.train.texts) and len(data.heldout) == 200


def test_the_place_decides_the_sport_after_play(numpy_backend):
    data = pl.make_dataset(1, 300, 0)
    for text in data.train.texts:
        words = text.split()
        place = next(w for w in words if w in pl.PLACES)
        after_play = [words[i + 1] for i, w in enumerate(words) if w in ("play", "plays")]
        assert after_play == [pl.PLACES[place]], text


def test_pronouns_and_verbs_agree_with_the_subject(numpy_backend):
    for text in pl.make_dataset(2, 300, 0).train.texts:
        words = text.split()
        singular = words[0] in pl.NAMES
        pronouns = {w for w in words if w in ("he", "she", "they")}
        assert pronouns <= ({pl.NAMES[words[0]]} if singular else {"they"}), text
        verb = next(w for w in words if w in ("go", "goes"))
        assert verb == ("goes" if singular else "go"), text


def test_arrays_mark_the_real_words_and_the_sport(numpy_backend):
    data = pl.make_dataset(0, 40, 10)
    tokens, targets, real, sport = (host(a) for a in (data.train.tokens, data.train.targets, data.train.real,
                                                      data.train.sport))
    assert tokens.shape == targets.shape == (40, pl.CONTEXT)
    assert (tokens[:, 0] == pl.VOCABULARY.index(pl.BOS)).all()
    numpy.testing.assert_array_equal(tokens[:, 1:], targets[:, :-1])  # targets are the next tokens
    assert (real.sum(axis=1) == [len(t.split()) for t in data.train.texts]).all()
    assert (sport.sum(axis=1) == 1).all()
    assert {pl.VOCABULARY[i] for i in targets[sport]} <= set(pl.PLACES.values())


def test_the_longest_story_fits_the_context():
    longest = "the kids who live near us go to the old park in the morning . at the park the kids play football with mia ."
    assert len(longest.split()) + 1 == pl.CONTEXT  # its start and its words
    assert max(len(t.split()) for t in pl.make_dataset(0, 3000, 0).train.texts) <= pl.CONTEXT - 1


def test_encode_and_decode(numpy_backend):
    ids = pl.encode("sam goes to the park .", length=9)
    assert host(ids).shape == (1, 9) and pl.decode(ids[0]) == "sam goes to the park ."
    with pytest.raises(KeyError, match=r"not in the park language's vocabulary: \['moon'\]"):
        pl.encode("sam goes to the moon .")
    with pytest.raises(ValueError, match=r"at most 3 words"):
        pl.encode("sam goes to the park .", length=4)
    with pytest.raises(ValueError, match=r"n_train must be a whole number >= 0 of stories, but n_train=-1"):
        pl.make_dataset(0, -1)


def test_the_bigram_baseline_counts_word_pairs(numpy_backend):
    tokens, targets = numpy.array([[0, 1, 1]]), numpy.array([[1, 1, 2]])
    log_probs = host(pl.bigram_log_probs(tokens, targets, 3, smoothing=1.0))
    numpy.testing.assert_allclose(numpy.exp(log_probs), [[1 / 4, 2 / 4, 1 / 4], [1 / 5, 2 / 5, 2 / 5], [1 / 3] * 3])


# ---------------------------------------------------------------- repeated random sequences


def test_the_segment_appears_twice_at_varying_places(numpy_backend):
    data = induction.make_batch(200, 0)
    tokens, targets = host(data.tokens), host(data.targets)
    first, second, length = host(data.first), host(data.second), host(data.length)
    sequences = numpy.concatenate([tokens, targets[:, -1:]], axis=1)  # (N, T + 1)
    for row, a, b, n in zip(sequences, first, second, length):
        assert b >= a + n and b + n <= induction.CONTEXT + 1
        numpy.testing.assert_array_equal(row[b : b + n], row[a : a + n])
    # nothing is fixed: every length, every distance between the copies and every start the context allows occurs
    shortest, room = induction.MIN_LENGTH, induction.CONTEXT + 1  # room: the tokens of a sequence and its last target
    assert set(length.tolist()) == set(range(shortest, induction.MAX_LENGTH + 1))
    assert set((second - first).tolist()) == set(range(shortest, room - shortest + 1))
    assert set(first.tolist()) == set(range(room - 2 * shortest + 1))
    assert length.min() >= induction.MIN_LENGTH and length.max() <= induction.MAX_LENGTH


def test_the_induction_key_holds_the_next_token(numpy_backend):
    data = induction.make_batch(100, 1)
    keys, tokens, targets = host(induction.induction_keys(data)), host(data.tokens), host(data.targets)
    first, second = (host(m) for m in induction.copy_masks(data))
    b, p = numpy.nonzero(keys >= 0)
    numpy.testing.assert_array_equal(tokens[b, keys[b, p]], targets[b, p])  # what follows the earlier occurrence
    assert (keys[b, p] < p).all() and (second == (keys >= 0)).all()
    assert (first.sum(axis=1) == host(data.length) - 1).all() and (second.sum(axis=1) == first.sum(axis=1)).all()


def test_make_batch_refuses_segments_that_do_not_fit():
    with pytest.raises(ValueError, match=r"two copies of max_length .*max_length=20, context=32"):
        induction.make_batch(4, 0, max_length=20, context=32)
    with pytest.raises(ValueError, match=rf"max_length={induction.CONTEXT}, context={induction.CONTEXT}"):
        induction.make_batch(4, 0, max_length=induction.CONTEXT)


def test_head_scores_ablation_and_copy_losses(numpy_backend):
    params = gpt.init_params(induction.VOCAB_SIZE, induction.CONTEXT, 8, 2, 2, 0, seed=0)
    data = induction.make_batch(20, 2)
    scores = induction.head_scores(params, data)
    assert scores["previous"].shape == scores["induction"].shape == (2, 2)
    assert ((scores["previous"] > 0) & (scores["previous"] < 1)).all()
    first, second = induction.copy_losses(params, data)
    assert abs(first - math.log(64)) < 1.0 and abs(second - math.log(64)) < 1.0  # untrained: about ln 64
    off = induction.ablate(params, 1, 0)
    assert not host(off["1.w_o"])[0].any() and numpy.array_equal(host(off["1.w_o"])[1], host(params["1.w_o"])[1])
    assert host(params["1.w_o"])[0].any()  # the original is left alone
    with pytest.raises(ValueError, match=r"layers 0..1 and heads 0..1, but layer=2, head=0"):
        induction.ablate(params, 2, 0)
    losses = host(induction.token_losses(params, data.tokens, data.targets))
    assert losses.mean() == pytest.approx(gpt.loss_and_grads(params, data.tokens, data.targets)[0], rel=1e-12)
