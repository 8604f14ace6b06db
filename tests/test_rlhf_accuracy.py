"""Held-out pairwise accuracy of a reward model: both denominators, checked by brute force over pairs."""

import itertools

import pytest
import torch

from genai_course.rlhf.reward_model import Comparisons, accuracy_from_rewards

torch.set_num_threads(1)


def comparisons(rankings, true_scores) -> Comparisons:
    n, k = len(rankings), len(rankings[0])
    return Comparisons(
        prompts=torch.zeros(n, 3, dtype=torch.long),
        responses=torch.zeros(n, k, 2, dtype=torch.long),
        mask=torch.ones(n, k, 2),
        rankings=torch.tensor(rankings),
        true_scores=torch.tensor(true_scores),
    )


def brute_force(rewards, data, against, decided_only):
    hits, count = 0.0, 0
    for row, ranking in enumerate(data.rankings.tolist()):
        for i, j in itertools.combinations(range(len(ranking)), 2):
            w, lo = ranking[i], ranking[j]  # the labeler put w above lo
            s_w, s_l = float(data.true_scores[row, w]), float(data.true_scores[row, lo])
            r_w, r_l = float(rewards[row, w]), float(rewards[row, lo])
            if (against == "truth" or decided_only) and s_w == s_l:
                continue
            better_first = True if against == "labels" else s_w > s_l  # the order to agree with
            hits += 0.5 if r_w == r_l else float((r_w > r_l) == better_first)
            count += 1
    return hits / count


@pytest.mark.parametrize("against,decided_only", [("labels", False), ("labels", True), ("truth", False)])
def test_accuracy_matches_brute_force(against, decided_only):
    g = torch.Generator("cpu").manual_seed(0)
    n, k = 30, 4
    rankings = [torch.randperm(k, generator=g).tolist() for _ in range(n)]
    true_scores = (torch.randint(0, 4, (n, k), generator=g) / 4).tolist()  # many ties on purpose
    rewards = torch.randint(0, 5, (n, k), generator=g).float()  # ties in reward too
    data = comparisons(rankings, true_scores)
    got = accuracy_from_rewards(rewards, data, against, decided_only=decided_only)
    assert got == pytest.approx(brute_force(rewards, data, against, decided_only))


def test_tied_pairs_are_coin_flips_against_the_labels_and_absent_against_the_truth():
    # one prompt, two identical responses (tie in true score and in reward) and one better one
    data = comparisons([[0, 1, 2]], [[1.0, 0.5, 0.5]])
    rewards = torch.tensor([[2.0, 0.0, 0.0]])
    # pairs (0,1) and (0,2) are right; (1,2) ties in truth and reward → half a hit when counted
    assert accuracy_from_rewards(rewards, data, "labels") == pytest.approx(2.5 / 3)
    assert accuracy_from_rewards(rewards, data, "labels", decided_only=True) == pytest.approx(1.0)
    assert accuracy_from_rewards(rewards, data, "truth") == pytest.approx(1.0)


def test_bad_against_is_rejected():
    data = comparisons([[0, 1]], [[1.0, 0.0]])
    with pytest.raises(ValueError, match="against"):
        accuracy_from_rewards(torch.zeros(1, 2), data, "gold")
