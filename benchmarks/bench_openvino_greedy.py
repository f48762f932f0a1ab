"""Does OpenVINO GenAI decode the packaged SmolLM2 as transformers does? Greedy answers to 10 short prompts, token
for token, against transformers in fp32 on the GGUF converted to a transformers folder (``reasonir.llm.hf_convert``).

Three ways OpenVINO GenAI reads the model: the packaged Q4_1 GGUF as it is, in f32; the F16 copy the openvino engine
makes (``reasonir.llm.openvino_engine.f16_copy``), in f32 and in bf16 (the engine's precision on CPUs with bf16
units). Writes benchmarks/results/openvino_greedy.json.

    .venv/bin/python benchmarks/bench_openvino_greedy.py [--tokens 32]
"""
from __future__ import annotations

import argparse
import datetime as dt

from _common import RESULTS_DIR, write_results  # benchmarks/ is the script's folder

PROMPTS = ("What is the capital of France?", "Name a planet.", "Write one question about tides.",
           "What is photosynthesis?", "Give me a synonym for happy.", "What causes rain?",
           "Explain gravity in one sentence.", "Who wrote Hamlet?", "What is 12 times 12?", "Describe a cat.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=32, help="greedy tokens per answer")
    args = parser.parse_args()
    import openvino_genai
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from reasonir.hardware import describe
    from reasonir.llm.embedded import DEFAULT_ALIAS, default_model_path
    from reasonir.llm.hf_convert import convert_gguf
    from reasonir.llm.openvino_engine import f16_copy

    source = default_model_path()
    folder = convert_gguf(source, DEFAULT_ALIAS, "float32").folder
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    ends = {tokenizer.eos_token_id}
    reference = []
    for prompt in PROMPTS:
        inputs = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True,
                                               return_tensors="pt", return_dict=True)
        out = model.generate(**inputs, max_new_tokens=args.tokens, do_sample=False)
        reference.append([t for t in out[0, inputs["input_ids"].shape[1]:].tolist() if t not in ends])
    results = {}
    for name, path, precision in (("Q4_1 GGUF as shipped, f32", source, "f32"),
                                  ("F16 copy, f32", f16_copy(source), "f32"),
                                  ("F16 copy, bf16", f16_copy(source), "bf16")):
        pipe = openvino_genai.LLMPipeline(str(path), "CPU", INFERENCE_PRECISION_HINT=precision)
        ov_tokenizer = pipe.get_tokenizer()
        config = openvino_genai.GenerationConfig()
        config.max_new_tokens, config.do_sample = args.tokens, False
        same, first = 0, None
        for prompt, want in zip(PROMPTS, reference):
            text = ov_tokenizer.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True)
            got = [int(t) for t in pipe.generate(ov_tokenizer.encode(text, add_special_tokens=False).input_ids,
                                                 config).tokens[0] if int(t) not in ends]
            same += got == want
            first = first or ov_tokenizer.decode(got)
        results[name] = {"identical": f"{same}/{len(PROMPTS)}", "first_answer": first}
        print(f"{name}: {same}/{len(PROMPTS)} greedy answers identical to transformers fp32", flush=True)
    write_results(RESULTS_DIR / "openvino_greedy.json", {
        "benchmark": "openvino_greedy", "command": f"python benchmarks/bench_openvino_greedy.py --tokens {args.tokens}",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "cpu": describe(),
        "versions": {"openvino_genai": openvino_genai.__version__, "torch": torch.__version__},
        "reference": "transformers fp32 on the GGUF converted to a transformers folder",
        "reference_first_answer": tokenizer.decode(reference[0]), "results": results})


if __name__ == "__main__":
    main()
