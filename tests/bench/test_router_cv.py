"""bench/router_cv.py: development folds take bench/router_relabel.yaml's labels, and the
rule's error budget."""

from __future__ import annotations

from bench import router_cv


def test_relabelled_development_sentences_take_their_round_six_label(tmp_path):
    fold = tmp_path / "fold.yaml"
    fold.write_text(
        "match:\n  pricing: [how much is it]\n"
        "no_match:\n"
        "  - Can I speak to a manager?\n"  # -> human
        "  - can you call me back later i'm at work\n"  # -> message
        "  - is it cheaper if i pay for the year\n"  # dropped: the definitions leave it open
        "  - what are your hours\n"
    )
    got = router_cv.load_fold(fold)
    assert got["match"] == {
        "pricing": ["how much is it"],
        "human": ["Can I speak to a manager?"],
        "message": ["can you call me back later i'm at work"],
    }
    assert got["no_match"] == ["what are your hours"]


def test_the_rule_takes_the_highest_recall_within_the_error_budget():
    results = {  # setting -> fold -> (right, paraphrases, errors)
        (0.7, 0.9, 0.5): {"f": (80, 100, [])},
        (0.4, 0.8, 0.5): {"f": (95, 100, ["e1", "e2"])},
        (0.4, 0.7, 0.5): {"f": (97, 100, ["e1", "e2", "e3"])},
    }
    assert router_cv.summary(results)[0][4] == (0.7, 0.9, 0.5)  # no error allowed
    best = router_cv.summary(results, allowed=2)[0]
    assert best[4] == (0.4, 0.8, 0.5) and best[8] == 2  # its errors, as counted
