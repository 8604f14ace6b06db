"""The power-iteration checker of the stabilizing notebook: the right answer passes, typical faults are named."""

import torch

from genai_course.exercises.gans import check_power_iteration


def right(weight, u, n_iter):
    w = weight.flatten(1)
    for _ in range(n_iter):
        v = w.T @ u
        v = v / v.norm()
        u = w @ v
        u = u / u.norm()
    return u @ w @ v, u


def test_right_answer_passes():
    assert check_power_iteration(right).passed


def test_frobenius_norm_is_named():
    fb = check_power_iteration(lambda weight, u, n_iter: (weight.flatten(1).norm(), u))
    assert not fb.passed and "Frobenius" in fb.message


def test_unflattened_conv_kernel_is_named():
    fb = check_power_iteration(lambda w, u, n: right(w, u, n) if w.dim() == 2 else (w @ u, u))
    assert not fb.passed and "Flatten" in fb.message


def test_missing_normalization_is_caught():
    def unnormalized(weight, u, n_iter):
        w = weight.flatten(1)
        for _ in range(n_iter):
            v = w.T @ u
            u = w @ v
        return u @ w @ v, u

    fb = check_power_iteration(unnormalized)
    assert not fb.passed and "wrong values" in fb.message


def test_not_attempted():
    def todo(weight, u, n_iter):
        raise NotImplementedError

    assert "Not attempted" in check_power_iteration(todo).message


def test_right_answer_matches_torch_on_a_random_matrix():
    w = torch.randn(20, 10, generator=torch.Generator().manual_seed(3))
    sigma, _ = right(w, torch.nn.functional.normalize(torch.ones(20), dim=0), 300)
    assert abs(sigma.item() - torch.linalg.matrix_norm(w, ord=2).item()) < 1e-4
