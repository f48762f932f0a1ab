"""What an ``adapt`` run did and what it found: ``report.json`` (everything), ``report.md`` (a short summary a
person reads) and ``report.png`` (the candidates' judge scores beside the base, and their real scores when
labelled queries were given)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reasonir.adapt.config import AdaptConfig
from reasonir.data.atomic import atomic_open


def write_report(out: Path, config: AdaptConfig, stages: dict[str, dict[str, Any]], seconds: float
                 ) -> dict[str, Any]:
    """Write the three report files into ``out``; return the JSON record."""
    train = stages.get("train", {}).get("summary", {})
    record = {"corpus": config.corpus, "out": str(out), "seconds": round(seconds, 1),
              "chosen": train.get("chosen"), "reason": train.get("reason"),
              "stages": stages, "reproduce": f"reasonir adapt --config {out / 'adapt.toml'}"}
    with atomic_open(out / "report.json", overwrite=True) as fh:
        json.dump(record, fh, indent=2, default=str)
    with atomic_open(out / "report.md", overwrite=True) as fh:
        fh.write(markdown(record))
    picture = _plot(out, train, stages.get("evaluate", {}).get("summary"))
    if picture is not None:
        record["picture"] = str(picture)
    return record


def markdown(record: dict[str, Any]) -> str:
    stages = record["stages"]
    train = stages.get("train", {}).get("summary", {})
    lines = [f"# reasonir adapt: {record['corpus']}", "",
             f"**Handed back: {record['chosen']}.** {record['reason']}", "", "| stage | result | seconds |",
             "|---|---|---|"]
    for name, stage in stages.items():
        lines.append(f"| {name} | {stage['summary'].get('line', '')} | {stage['seconds']:.0f} |")
    if train.get("candidates"):
        confirm = train["confirm"]
        lines += ["", f"Judge: {train.get('judge_queries')} synthesized queries from {train.get('judge_seeds')} seeds, "
                      f"cross-fitted over {train.get('folds')} folds (each candidate scored on the seeds it never "
                      f"trained on); base encoder nDCG@10 {train.get('base_judge')}. On the confirm half "
                      f"({confirm['n']} queries from {confirm['seeds']} seeds) {train.get('confirm_candidate', train['best_on_choose_half'])} changed "
                      f"it by {confirm['change']:+.4f} (95% CI {confirm['ci95'][0]:+.4f} to {confirm['ci95'][1]:+.4f}); "
                      f"the smallest change that half could detect is {confirm['detectable_change']:.4f}.", "",
                  "| candidate | judge nDCG@10 | judge change (95% CI) | detectable | real change | training steps |",
                  "|---|---|---|---|---|---|"]
        evaluation = stages.get("evaluate", {}).get("summary") or {}
        real = {c["name"]: c["real_change"] for c in evaluation.get("judge_check", {}).get("candidates", [])}
        for c in train["candidates"]:
            change = (f"{c['judge_change']:+.4f} ({c['judge_ci95'][0]:+.4f} to {c['judge_ci95'][1]:+.4f})"
                      if "judge_change" in c else "")
            lines.append(f"| {c['name']} | {c['judge']} | {change} | {c.get('judge_detectable', '')} | "
                         f"{real.get(c['name'], '')} | {c['train'].get('steps', '')} |")
    evaluation = stages.get("evaluate", {}).get("summary")
    if evaluation:
        lines += ["", "Labelled queries (every retriever at the depth a served hybrid fuses):", "", "```",
                  evaluation["text"], "```"]
    lines += ["", f"Reproduce: `{record['reproduce']}`", ""]
    return "\n".join(lines)


def _plot(out: Path, train: dict[str, Any], evaluation: dict[str, Any] | None) -> Path | None:
    """Bars of the base and every dense candidate, judge (and real) nDCG@10; None without candidates or
    matplotlib."""
    if not train.get("candidates"):
        return None
    from reasonir.optional import MissingOptionalDependency

    groups = {"judge": {"base": train["base_judge"],
                        **{c["name"]: c["judge"] for c in train["candidates"] if c["form"] == "dense"}}}
    if evaluation:
        results = evaluation["table"]["results"]
        groups["labelled queries"] = {name: results[name]["ndcg@10"] for name in groups["judge"] if name in results}
    try:
        from reasonir.evaluate.plots import plot_bars

        return plot_bars(groups, out / "report.png", title=f"handed back: {train['chosen']}",
                         highlight=train["chosen"])
    except MissingOptionalDependency:
        return None
