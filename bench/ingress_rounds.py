"""Combines the rounds of bench/registry-ingress.sh: the import's median round (by end-to-end rate)
becomes <out>.json and its table, the naive script's median round <out>.baselines.jsonl, and every
round is listed beside them.

    ingress_rounds.py <out prefix> <rounds>
"""
import datetime
import json
import os
import statistics
import sys


def main(out, rounds):
    imports, naives, tables = [], [], []
    for round_ in range(1, rounds + 1):
        with open(f"{out}.round{round_}.json", encoding="utf-8") as handle:
            imports.append(json.load(handle))
        with open(f"{out}.round{round_}.md", encoding="utf-8") as handle:
            tables.append(handle.read().strip())
        path = f"{out}.round{round_}.baselines.jsonl"
        if os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                naives.append([json.loads(line) for line in handle if line.strip()])

    rates = [run["end_to_end_per_s"] for run in imports]
    middle = sorted(range(len(imports)), key=lambda i: rates[i])[len(imports) // 2]
    median = dict(imports[middle], rounds=imports, median_round=middle + 1)
    with open(f"{out}.json", "w", encoding="utf-8") as handle:
        json.dump(median, handle, indent=2, sort_keys=True)

    naive_rates = []
    if naives:
        naive_rates = [next(m["value"] for m in lines if m["measure"].startswith("naive ingress: one")) for lines in naives]
        naive_middle = sorted(range(len(naives)), key=lambda i: naive_rates[i])[len(naives) // 2]
        with open(f"{out}.baselines.jsonl", "w", encoding="utf-8") as handle:
            for line in naives[naive_middle]:
                handle.write(json.dumps(dict(line, rounds=naive_rates)) + "\n")

    cores = os.cpu_count()
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    print(f"# Registry district import, {date}, {cores} cores")
    print()
    print(f"The import and the naive script took turns {rounds} times; the figures are each one's median round.")
    print()
    print("| round | end to end after the join, residents/s | COPY, rows/s | / COPY | naive script, residents/s | / naive |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for index, run in enumerate(imports):
        naive = naive_rates[index] if index < len(naive_rates) else None
        print(f"| {index + 1} | {run['end_to_end_per_s']:,.0f} | {run['copy_per_s']:,.0f} | {run['end_to_end_per_s'] / run['copy_per_s']:.1%} | "
              + (f"{naive:,.0f} | {run['end_to_end_per_s'] / naive:.1f}× |" if naive else "– | – |"))
    if naive_rates:
        print(f"| **median** | **{statistics.median(rates):,.0f}** | | | **{statistics.median(naive_rates):,.0f}** | "
              f"**{statistics.median(rates) / statistics.median(naive_rates):.1f}×** |")
    print()
    print(f"## The median round of the import (round {middle + 1})")
    print()
    print(tables[middle])
    if naives:
        print()
        print("## Baseline: the naive integration script, one transaction per resident (median round)")
        print()
        print("| measure | value | unit |")
        print("| --- | ---: | --- |")
        for line in naives[naive_middle]:
            print(f"| {line['measure']} | {line['value']:.2f} | {line['unit']} |")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
