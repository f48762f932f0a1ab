"""Does the openvino engine sample from the distribution llama-server samples from? Both truncate a token's
distribution with top_k, top_p and min_p and scale it by the temperature, but in another order: llama-server
(its ``/props`` ``samplers``) runs top_k, top_p, min_p on the raw distribution and applies the temperature last;
OpenVINO GenAI (``sampling/logit_processor.hpp``) runs top_k, then the temperature, then min_p and top_p on the
scaled distribution. At temperature 0.8 the scaled distribution is sharper, so the same top_p and min_p cut more.

This measures, on the contexts synthesis samples in (the small-style HQ question prompt on SciFact documents, the
packaged SmolLM2 in fp32 through transformers, each answer sampled with llama-server's chain), the final
distribution each chain gives at every step: the mean total-variation distance of OpenVINO settings from
llama-server's chain, the tokens each keeps and its entropy. Both chains start with top_k 40, so the 40 largest
logits of a step decide both.

    .venv/bin/python benchmarks/bench_sampling_chains.py [--documents 24] [--tokens 64]

Writes benchmarks/results/sampling_chains.json.
"""
from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from _common import RESULTS_DIR, write_results  # benchmarks/ is the script's folder

ROOT = Path(__file__).resolve().parents[1]
SCIFACT = ROOT.parent / "shared" / "data" / "scifact"
RESULTS = RESULTS_DIR / "sampling_chains.json"


def llama_chain(logits, temperature: float, top_p: float, min_p: float):
    """llama-server's chain on the top-k logits (sorted, descending): top_p and min_p on the raw softmax, then the
    temperature over what is left."""
    import torch

    p = torch.softmax(logits, -1)
    keep = torch.cumsum(p, -1) - p < top_p  # the smallest prefix reaching top_p
    keep &= p >= min_p * p[0]
    scaled = torch.where(keep, logits / temperature, torch.tensor(float("-inf")))
    return torch.softmax(scaled, -1)


def openvino_chain(logits, temperature: float, top_p: float, min_p: float):
    """OpenVINO GenAI's chain on the top-k logits (sorted, descending): the temperature, then min_p and top_p on the
    scaled softmax."""
    import torch

    p = torch.softmax(logits / temperature, -1)
    keep = p >= min_p * p[0]
    p = torch.where(keep, p, torch.zeros_like(p))
    p = p / p.sum()
    keep &= torch.cumsum(p, -1) - p < top_p
    p = torch.where(keep, p, torch.zeros_like(p))
    return p / p.sum()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=24)
    parser.add_argument("--tokens", type=int, default=64)
    args = parser.parse_args()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from reasonir.data import load_corpus
    from reasonir.llm.embedded import DEFAULT_ALIAS, default_model_path
    from reasonir.llm.hf_convert import convert_gguf
    from reasonir.llm.openvino_engine import SAMPLING_AS_LLAMA_SERVER, truncation_after_temperature
    from reasonir.synth.config import SynthConfig
    from reasonir.synth.prompts import load_prompts

    sampling = SynthConfig()
    temperature, top_p = sampling.temperature, sampling.top_p
    top_k, min_p = SAMPLING_AS_LLAMA_SERVER["top_k"], SAMPLING_AS_LLAMA_SERVER["min_p"]
    folder = convert_gguf(default_model_path(), DEFAULT_ALIAS, "float32").folder
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    prompts = load_prompts(style="small")
    documents = load_corpus(SCIFACT / "corpus.jsonl")[: args.documents]
    generator = torch.Generator().manual_seed(0)
    steps = []  # the top-k logits of every sampled step, sorted
    with torch.inference_mode():
        for doc in documents:
            text = " ".join(doc.text.split()[:200])
            messages = [{"role": "system", "content": prompts.texts["system"]},
                        {"role": "user", "content": prompts.render("hq_query", document=text)}]
            ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                                return_dict=True)["input_ids"]
            past = None
            for _ in range(args.tokens):
                out = model(input_ids=ids, past_key_values=past, use_cache=True)
                past = out.past_key_values
                top = torch.topk(out.logits[0, -1], top_k)
                steps.append(top.values)
                probs = llama_chain(top.values, temperature, top_p, min_p)
                token = top.indices[torch.multinomial(probs, 1, generator=generator)]
                if int(token) == tokenizer.eos_token_id:
                    break
                ids = token.view(1, 1)
    mapped_min_p = min_p ** (1 / temperature)
    settings = {
        "untranslated: min_p 0.05, top_p 0.95": (min_p, top_p),
        "truncation_after_temperature (the engine's)": truncation_after_temperature(temperature, top_p, min_p)[::-1],
        "min_p 0.05^(1/T), top_p 0.95": (mapped_min_p, top_p),
        **{f"min_p 0.05^(1/T), top_p {q}": (mapped_min_p, q) for q in (0.97, 0.98, 0.99, 1.0)},
    }
    reference = [llama_chain(s, temperature, top_p, min_p) for s in steps]

    def summary(dists) -> dict:
        kept = [float((d > 0).sum()) for d in dists]
        entropy = [float(-(d[d > 0] * d[d > 0].log()).sum()) for d in dists]
        return {"tokens_kept_mean": round(sum(kept) / len(kept), 3),
                "entropy_nats_mean": round(sum(entropy) / len(entropy), 4)}

    rows = {"llama-server chain": {"tv_distance_mean": 0.0, **summary(reference)}}
    for name, (mp, tp) in settings.items():
        dists = [openvino_chain(s, temperature, tp, mp) for s in steps]
        tv = [0.5 * float((d - r).abs().sum()) for d, r in zip(dists, reference)]
        rows[f"openvino chain, {name}"] = {"min_p": round(mp, 5), "top_p": tp,
                                            "tv_distance_mean": round(sum(tv) / len(tv), 4),
                                            "tv_distance_max": round(max(tv), 4), **summary(dists)}
    for name, row in rows.items():
        print(f"{name:55s} {row}")
    write_results(RESULTS, {
        "benchmark": "bench_sampling_chains", "date": dt.date.today().isoformat(),
        "command": "benchmarks/bench_sampling_chains.py " + f"--documents {args.documents} --tokens {args.tokens}",
        "temperature": temperature, "top_k": top_k, "steps": len(steps), "documents": len(documents),
        "note": "mean over sampled steps of the final distribution's distance from llama-server's chain",
        "chains": rows})


if __name__ == "__main__":
    main()
