"""course_lib.blank_sentences: a seeded data set whose answer only the order of the places decides.

What is checked: the same seed gives the same sentences; held-out templates are not
training templates and the park sentence is in no split; each sentence is its template
filled in, names two or three different places, and its answer is what is played at the
last of them (the cue); padding and the positions the held-out cues sit at.
"""

from __future__ import annotations

import re
from collections import Counter

import numpy
import pytest

from conftest import host
from course_lib import blank_sentences as bs


@pytest.fixture(scope="module")
def data():
    return bs.make_dataset(seed=0, n_train=400, n_heldout=200)


def splits(data):
    return (
        ("train", data.train, data.train_templates),
        ("heldout", data.heldout, data.heldout_templates),
    )


def template_pattern(template: str) -> re.Pattern:
    """A regular expression for every sentence the template can give (before its tail and ending)."""
    place = rf"(?:(?:{'|'.join(bs.ADJECTIVES)}) )?(?:{'|'.join(bs.PLACES)})"
    text = re.escape(template).replace(r"\{name\}", f"(?:{'|'.join(bs.NAMES)})")
    for slot in bs.SLOTS:
        text = text.replace(re.escape(f"{{{slot}}}"), place)
    tails = "|".join(re.escape(t) + " " for t in bs.TAILS if t)
    endings = "|".join(map(re.escape, bs.ENDINGS))
    return re.compile(rf"{text} (?:{tails})?(?:{endings}) {re.escape(bs.BLANK)}")


def places_in(sentence: str) -> list[str]:
    return [w for w in sentence.split() if w in bs.PLACES]


# ---------------------------------------------------------------- seeded and made by code


def test_the_same_seed_gives_the_same_data_set():
    a, b = bs.make_dataset(seed=3, n_train=50, n_heldout=20), bs.make_dataset(seed=3, n_train=50, n_heldout=20)
    assert a.train.sentences == b.train.sentences and a.heldout.sentences == b.heldout.sentences
    for name in ("tokens", "lengths", "answer", "cue"):
        numpy.testing.assert_array_equal(host(getattr(a.train, name)), host(getattr(b.train, name)))


def test_another_seed_gives_other_sentences():
    assert bs.make_dataset(seed=1, n_train=50).train.sentences != bs.make_dataset(seed=2, n_train=50).train.sentences


def test_sizes_are_as_asked(data):
    assert len(data.train) == 400 and len(data.heldout) == 200
    assert host(data.train.tokens).shape == (400, max(map(len, (s.split() for s in data.train.sentences))))


def test_arrays_are_on_the_selected_backend(xp_backend):
    made = bs.make_dataset(seed=0, n_train=5, n_heldout=5)
    for array in (made.train.tokens, made.train.lengths, made.train.answer, made.heldout.cue):
        assert type(array) is type(xp_backend.asarray([0]))
    assert type(bs.encode(bs.PARK_SENTENCE)[0]) is type(xp_backend.asarray([0]))


# ---------------------------------------------------------------- held out: whole templates, and the park sentence


def test_heldout_templates_are_not_training_templates(data):
    assert not set(data.train_templates) & set(data.heldout_templates)
    assert not set(data.train.sentences) & set(data.heldout.sentences)


def test_every_sentence_is_its_template_filled_in(data):
    for _, split, templates in splits(data):
        patterns = [template_pattern(t) for t in templates]
        for sentence, i in zip(split.sentences, split.template):
            assert patterns[i].fullmatch(sentence), (templates[i], sentence)


def test_no_sentence_fits_a_template_of_the_other_split(data):
    for (_, split, _), (_, _, others) in zip(splits(data), reversed(splits(data))):
        patterns = [template_pattern(t) for t in others]
        assert not any(p.fullmatch(s) for p in patterns for s in split.sentences)


def test_every_template_is_used(data):
    for _, split, templates in splits(data):
        assert set(split.template) == set(range(len(templates)))


def test_the_park_sentence_is_in_no_split(data):
    park = " ".join(bs.PARK_SENTENCE.rstrip(".").split())
    assert park == "I like to go to the park and play ___"
    assert all(park not in split.sentences for _, split, _ in splits(data))
    assert all(len(places_in(s)) >= 2 for _, split, _ in splits(data) for s in split.sentences)


# ---------------------------------------------------------------- the answer: what is played at the last place


def test_every_sentence_names_two_or_three_different_places(data):
    for _, split, _ in splits(data):
        for sentence in split.sentences:
            places = places_in(sentence)
            assert 2 <= len(places) <= 3 and len(set(places)) == len(places), sentence


def test_the_answer_is_decided_by_the_cue_the_last_place(data):
    for _, split, _ in splits(data):
        for sentence, cue, answer in zip(split.sentences, host(split.cue), host(split.answer)):
            words = sentence.split()
            assert words[cue] in bs.PLACES and words[cue] == places_in(sentence)[-1], sentence
            assert data.answers[answer] == bs.PLACES[words[cue]], sentence


def test_every_place_gives_a_different_answer_and_the_ending_is_shared():
    assert len(set(bs.ANSWERS)) == len(bs.PLACES) and bs.ANSWERS == tuple(bs.PLACES.values())
    assert {"cricket", "football", "basketball"} <= set(bs.ANSWERS)  # the course's sports (data.SPORTS)
    assert all(ending.endswith("play") for ending in bs.ENDINGS)  # the words before the blank say nothing


def test_swapping_the_places_keeps_the_words_and_changes_the_answer(data):
    """The mean of the word vectors cannot decide: the same bag of words has another answer."""
    sentence, answer = data.train.sentences[0], int(host(data.train.answer)[0])
    first, last = places_in(sentence)[0], places_in(sentence)[-1]
    swapped = " ".join({first: last, last: first}.get(w, w) for w in sentence.split())
    assert Counter(swapped.split()) == Counter(sentence.split())
    assert data.answers.index(bs.PLACES[places_in(swapped)[-1]]) != answer


def test_answers_are_spread_over_every_place(data):
    counts = numpy.bincount(host(data.train.answer), minlength=len(bs.ANSWERS))
    assert counts.min() > 0.5 * counts.mean()


def test_heldout_cues_sit_at_positions_seen_in_training(data):
    """Counted from the start and counted back from the blank (the model's positions)."""
    for count in (lambda s: host(s.cue), lambda s: host(s.lengths) - 1 - host(s.cue)):
        assert set(count(data.heldout)) <= set(count(data.train))
    assert len(set(host(data.train.cue))) >= 8  # the cue moves around


# ---------------------------------------------------------------- tokens and padding


def test_tokens_spell_the_sentence_and_padding_follows_the_blank(data):
    for _, split, _ in splits(data):
        tokens, lengths = host(split.tokens), host(split.lengths)
        for row, length, sentence in zip(tokens, lengths, split.sentences):
            assert " ".join(data.vocabulary[i] for i in row[:length]) == sentence
            assert data.vocabulary[row[length - 1]] == bs.BLANK
            assert (row[length:] == 0).all() and bs.VOCABULARY[0] == bs.PAD
            assert (row[: length - 1] > 1).all()  # neither padding nor the blank before the end


def test_lengths_vary_and_fit_max_length(data):
    lengths = numpy.concatenate([host(data.train.lengths), host(data.heldout.lengths)])
    assert lengths.max() <= bs.MAX_LENGTH and len(set(lengths)) >= 8


def test_encode_the_park_sentence():
    tokens, lengths = bs.encode(bs.PARK_SENTENCE)
    assert host(tokens).shape == (1, 10) and host(lengths).tolist() == [10]
    words = [bs.VOCABULARY[i] for i in host(tokens)[0]]
    assert words == ["I", "like", "to", "go", "to", "the", "park", "and", "play", "___"]


def test_encode_pads_a_batch_of_sentences():
    tokens, lengths = bs.encode(["not the park but the hall to play ___", "not the beach but the rink to play ___ ."])
    assert host(lengths).tolist() == [9, 9]
    tokens, lengths = bs.encode(["the park and play ___", "not the beach but the rink to play ___"])
    assert host(lengths).tolist() == [5, 9] and (host(tokens)[0, 5:] == 0).all()


def test_encode_names_unknown_words():
    with pytest.raises(KeyError, match=r"\['tennis'\]"):
        bs.encode("I like to play tennis at the park and play ___")


def test_encode_needs_the_blank_at_the_end():
    with pytest.raises(ValueError, match="must end with the blank"):
        bs.encode("I like to go to the park")


@pytest.mark.parametrize("kw", [{"n_train": -1}, {"n_heldout": 2.5}, {"n_train": True}])
def test_make_dataset_refuses_a_bad_size(kw):
    with pytest.raises(ValueError, match=next(iter(kw))):
        bs.make_dataset(**kw)


def test_vocabulary_has_every_word_once():
    assert len(set(bs.VOCABULARY)) == len(bs.VOCABULARY) and bs.VOCABULARY[:2] == (bs.PAD, bs.BLANK)
