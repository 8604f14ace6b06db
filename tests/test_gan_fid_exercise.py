"""The Fréchet-distance checker of the DCGAN notebook: the right answer passes, typical faults are named."""

import torch

from genai_course.exercises.gans import check_frechet_distance


def _trace_sqrt(sigma_a, sigma_b):
    return torch.linalg.eigvals(sigma_a @ sigma_b).real.clamp(min=0).sqrt().sum()


def right(mu_a, sigma_a, mu_b, sigma_b):
    return ((mu_a - mu_b) ** 2).sum() + sigma_a.trace() + sigma_b.trace() - 2 * _trace_sqrt(sigma_a, sigma_b)


def test_right_answer_passes():
    fb = check_frechet_distance(right)
    assert fb.passed, fb.message


def test_missing_factor_two_is_named():
    def once(mu_a, sigma_a, mu_b, sigma_b):
        return ((mu_a - mu_b) ** 2).sum() + sigma_a.trace() + sigma_b.trace() - _trace_sqrt(sigma_a, sigma_b)

    fb = check_frechet_distance(once)
    assert not fb.passed and "twice" in fb.message


def test_no_square_root_is_named():
    def no_sqrt(mu_a, sigma_a, mu_b, sigma_b):
        return ((mu_a - mu_b) ** 2).sum() + sigma_a.trace() + sigma_b.trace() - 2 * (sigma_a @ sigma_b).trace()

    fb = check_frechet_distance(no_sqrt)
    assert not fb.passed and "square root" in fb.message


def test_unsquared_mean_term_is_named():
    def unsquared(mu_a, sigma_a, mu_b, sigma_b):
        return (mu_a - mu_b).norm() + sigma_a.trace() + sigma_b.trace() - 2 * _trace_sqrt(sigma_a, sigma_b)

    fb = check_frechet_distance(unsquared)
    assert not fb.passed and "squared distance" in fb.message


def test_not_attempted_and_non_number():
    def todo(*args):
        raise NotImplementedError

    assert "Not attempted" in check_frechet_distance(todo).message
    assert "one number" in check_frechet_distance(lambda *a: "zero").message
