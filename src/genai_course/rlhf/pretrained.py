"""The RLHF models shipped with the package, and the functions that make them.

    genai-course recipe rlhf_sft rlhf_reward rlhf_ppo rlhf_dpo   # all four, ~10 minutes on a 2-core CPU
    genai-course recipe rlhf_ppo                                  # one (it reads the ones before it)

Each step starts from the previous one, exactly as the notebooks of chapter 2 describe:

- ``rlhf_sft``: the shipped character GPT (``gpt_char_small``) fine-tuned on demonstrations;
- ``rlhf_reward``: a reward model (SFT trunk + scalar head) trained on the simulated labeler's
  rankings of the SFT model's own samples;
- ``rlhf_ppo``: the SFT policy optimised with PPO against that reward model, KL leash on;
- ``rlhf_dpo``: the SFT policy optimised with DPO on the reward model's rankings, no reward model.

Weights are stored in float16 (half the size; the notebooks' numbers do not change at the
precision they print) with a ``.json`` beside each that records the command, the settings and
the metrics measured right after training; a test re-measures them from the shipped file.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

import torch

from ..checkpoint_io import (
    check_state_dict,
    checkpoint_path,
    read_torch,
    recipe_command,
    record_shipped,
    remake_hint,
    save_torch,
    write_text,
)
from ..errors import CheckpointError
from .labeler import SimulatedLabeler
from .tasks import Instruction, make_instructions

FORMAT = "genai_course.rlhf/2"  # /2: each file stores its GPT config and tokenizer

# Three disjoint instruction sets: what the models train on, what the labeler ranks for the
# reward model, and what the notebooks evaluate on (never trained on).
N_TRAIN, N_COMPARISON, N_EVAL = 4000, 3000, 400
LABELER_BETA = 20.0
K = 4  # responses ranked per prompt


def train_instructions(n: int = N_TRAIN) -> list[Instruction]:
    return make_instructions(n, seed=0)


def comparison_instructions(n: int = N_COMPARISON) -> list[Instruction]:
    return make_instructions(n, seed=1)


def eval_instructions(n: int = N_EVAL) -> list[Instruction]:
    return make_instructions(n, seed=2)


def labeler(seed: int = 0) -> SimulatedLabeler:
    return SimulatedLabeler(beta=LABELER_BETA, seed=seed)


def _path(name: str) -> Path:
    return checkpoint_path(f"rlhf_{name}.pt")


def _command(name: str) -> str:
    return recipe_command(f"rlhf_{name}")


def _save(name: str, module: torch.nn.Module, record: dict, config, tokenizer) -> None:
    """Weights in float16, with the GPT config and tokenizer that rebuild the model, and the metrics."""
    path = _path(name)
    state = {k: v.detach().to(torch.float16) if v.is_floating_point() else v for k, v in module.state_dict().items()}
    blob = {"format": FORMAT, "name": name, "model_config": config.to_dict(), "tokenizer": tokenizer.to_dict()}
    save_torch(path, {**blob, "state": state, "metrics": record})
    write_text(path.with_suffix(".json"), json.dumps(record, indent=2) + "\n")
    record_shipped(path, _command(name))  # last: the manifest records the new .json too
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) and its .json")


def _load_state(name: str):
    """→ (float32 state dict, metrics, GPTConfig, tokenizer) of checkpoint ``name``, checked."""
    from ..gpt.train import config_and_tokenizer

    path = _path(name)
    blob = read_torch(path, remake=_command(name))  # a shipped file is checked against MANIFEST.json
    hint = remake_hint(path, _command(name))
    if not isinstance(blob, dict) or blob.get("format") != FORMAT or blob.get("name") != name:
        raise CheckpointError(
            f"checkpoint {path} is of the wrong kind: not a genai-course RLHF '{name}' checkpoint "
            f"(format {FORMAT}){hint}"
        )
    config, tokenizer = config_and_tokenizer(blob, path, hint)
    state = check_state_dict(blob.get("state"), path, hint)
    metrics = blob.get("metrics") if isinstance(blob.get("metrics"), dict) else {}
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}, metrics, config, tokenizer


def _into(module: torch.nn.Module, state: dict, name: str) -> None:
    try:
        module.load_state_dict(state)
    except RuntimeError as err:
        raise CheckpointError(
            f"checkpoint {_path(name)} does not fit its model: {str(err).splitlines()[0]}"
            f"{remake_hint(_path(name), _command(name))}"
        ) from None


def _load_policy(name: str, device):
    """The GPT stored in checkpoint ``name`` (its own config, tokenizer and weights) → (GPT, tokenizer, metrics)."""
    from ..gpt.model import GPT

    state, metrics, config, tokenizer = _load_state(name)
    model = GPT(config)
    _into(model, state, name)
    return model.to(device).eval(), tokenizer, metrics


def load_sft(device="cpu"):
    """→ (SFT policy GPT, tokenizer, recorded metrics)."""
    return _load_policy("sft", device)


def load_reward_model(device="cpu"):
    """→ (RewardModel, recorded metrics)."""
    from ..gpt.model import GPT
    from .reward_model import RewardModel

    state, metrics, config, _ = _load_state("reward")
    rm = RewardModel(GPT(config))
    _into(rm, state, "reward")
    return rm.to(device).eval(), metrics


def load_ppo(device="cpu"):
    """→ (PPO policy GPT, recorded metrics); the value head is not shipped, only the policy."""
    model, _, metrics = _load_policy("ppo", device)
    return model, metrics


def load_dpo(device="cpu"):
    """→ (DPO policy GPT, recorded metrics)."""
    model, _, metrics = _load_policy("dpo", device)
    return model, metrics


def ranked_comparisons(policy, tokenizer, n: int = N_COMPARISON, device="cpu"):
    """The training rankings of the reward model (and of DPO): the labeler's rankings of K samples
    from the SFT ``policy`` for each of ``n`` comparison instructions, the same every time."""
    from .reward_model import collect_comparisons

    return collect_comparisons(policy, tokenizer, comparison_instructions(n), K, labeler(seed=0), seed=0, device=device)


def held_out_comparisons(policy, tokenizer, device="cpu"):
    """Rankings of K SFT samples for each evaluation instruction, by a second labeler."""
    from .reward_model import collect_comparisons

    return collect_comparisons(policy, tokenizer, eval_instructions(), K, labeler(seed=1), seed=1, device=device)


def _judge(policy, sft, tokenizer, device) -> dict:
    """True score, win rate against SFT and KL to SFT on the evaluation instructions."""
    from .evaluation import evaluate_policy, head_to_head, kl_to_reference

    evals = eval_instructions()
    sft_texts, sft_scores = evaluate_policy(sft, tokenizer, evals, device=device)
    texts, scores = evaluate_policy(policy, tokenizer, evals, device=device)
    match = head_to_head(texts, scores, sft_texts, sft_scores)
    return {
        "eval_true_score": sum(scores) / len(scores),
        "sft_eval_true_score": sum(sft_scores) / len(sft_scores),
        "win_rate_vs_sft": match.win_rate,
        "win_rate_vs_sft_ties_half": match.win_rate_ties_half,
        "head_to_head": {"wins": match.wins, "losses": match.losses, "ties": match.ties, "identical": match.identical},
        "kl_to_sft": kl_to_reference(policy, sft, tokenizer, evals, device=device),
    }


# ------------------------------------------------------------------------------ making them


def make_sft(device="cpu") -> dict:
    from ..gpt.pretrained import load_pretrained
    from .evaluation import evaluate_policy
    from .sft import SFTConfig, make_demonstrations, train_sft

    model, tokenizer, _ = load_pretrained(device)
    instructions = train_instructions()
    cfg = SFTConfig()
    start = time.perf_counter()
    losses = train_sft(model, tokenizer, instructions, make_demonstrations(instructions, seed=0), cfg, device)
    seconds = time.perf_counter() - start
    _, scores = evaluate_policy(model, tokenizer, eval_instructions(), device=device)
    record = {
        "command": _command("sft"),
        "config": asdict(cfg),
        "final_loss": sum(losses[-20:]) / 20,
        "eval_true_score": sum(scores) / len(scores),
        "seconds": seconds,
    }
    _save("sft", model, record, model.config, tokenizer)
    return record


def make_reward(device="cpu") -> dict:
    from .reward_model import RewardModel, RMConfig, pairwise_accuracy, train_reward_model

    sft, tokenizer, _ = load_sft(device)
    start = time.perf_counter()
    data = ranked_comparisons(sft, tokenizer, device=device)
    collect_seconds = time.perf_counter() - start
    held_out = held_out_comparisons(sft, tokenizer, device)
    rm = RewardModel(sft).to(device)
    cfg = RMConfig()
    start = time.perf_counter()
    train_reward_model(rm, data, cfg)
    train_seconds = time.perf_counter() - start
    record = {
        "command": _command("reward"),
        "config": asdict(cfg),
        "rankings": len(data),
        "k": K,
        "labeler_beta": LABELER_BETA,
        "held_out_accuracy_vs_labels": pairwise_accuracy(rm, held_out, "labels"),
        "held_out_accuracy_vs_truth": pairwise_accuracy(rm, held_out, "truth"),
        "collect_seconds": collect_seconds,
        "train_seconds": train_seconds,
    }
    _save("reward", rm, record, sft.config, tokenizer)
    return record


def make_ppo(device="cpu") -> dict:
    from .ppo import PPOConfig, train_ppo

    sft, tokenizer, _ = load_sft(device)
    rm, _ = load_reward_model(device)
    cfg = PPOConfig()
    start = time.perf_counter()
    agent, history = train_ppo(sft, rm, tokenizer, train_instructions(), cfg, device=device)
    seconds = time.perf_counter() - start
    record = {
        "command": _command("ppo"),
        "config": asdict(cfg),
        **_judge(agent.gpt, sft, tokenizer, device),
        "responses_sampled": cfg.iterations * cfg.batch_size,
        "final_rollout_kl": history.kl[-1],
        "final_rollout_reward": history.reward[-1],
        "seconds": seconds,
    }
    _save("ppo", agent.gpt, record, agent.gpt.config, tokenizer)
    return record


def make_dpo(device="cpu") -> dict:
    from .dpo import DPOConfig, train_dpo

    sft, tokenizer, _ = load_sft(device)
    start = time.perf_counter()
    data = ranked_comparisons(sft, tokenizer, device=device)
    collect_seconds = time.perf_counter() - start
    cfg = DPOConfig()
    start = time.perf_counter()
    policy, losses = train_dpo(sft, data, cfg)
    seconds = time.perf_counter() - start
    record = {
        "command": _command("dpo"),
        "config": asdict(cfg),
        "rankings": len(data),
        **_judge(policy, sft, tokenizer, device),
        "responses_sampled": 0,
        "final_loss": sum(losses[-20:]) / min(20, len(losses)),
        "collect_seconds": collect_seconds,
        "seconds": seconds,
    }
    _save("dpo", policy, record, policy.config, tokenizer)
    return record


if __name__ == "__main__":  # the old entry point: point to the recipes instead of silently doing nothing
    raise SystemExit("make these checkpoints with `genai-course recipe rlhf_NAME` (see `genai-course recipe --list`)")
