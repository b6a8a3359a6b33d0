"""Gathers one run's results (bench/results/<stamp>-*) into the summary table, markdown and JSON.

    python bench/summary.py <stamp>

Reads what each benchmark wrote (JSON where it writes JSON, the bold figures of its markdown
otherwise), puts each suite figure beside its baseline from the same run, and checks the bars:
district ingress at least 10x the naive script and at least 25 % of COPY, matching p99 under
20 ms, HTTP p99 under 25 ms at 1,000 requests/s per service, every service under 150 MB RSS.
Writes bench/results/<stamp>-summary.md and .json and prints the markdown.
"""
import datetime
import json
import os
import re
import sys

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def read(name):
    path = os.path.join(RESULTS, name)
    return open(path, encoding="utf-8").read() if os.path.exists(path) else None


def read_json(name):
    text = read(name)
    return json.loads(text) if text else None


def read_lines(name):
    text = read(name)
    return [json.loads(line) for line in text.splitlines() if line.strip()] if text else []


def baseline(lines, prefix):
    for line in lines:
        if line["measure"].startswith(prefix):
            return line["value"]
    return None


def ms(text):
    """'7.9ms' / '29.6 ms' / '1.2s' / '850us' -> milliseconds."""
    match = re.match(r"\s*([\d.]+)\s*(us|ms|s)\b", text or "")
    if not match:
        return None
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def main(stamp):
    rows, checks = [], []

    def row(area, measure, value, unit, baseline_text="", ratio=""):
        rows.append({"area": area, "measure": measure, "value": value, "unit": unit, "baseline": baseline_text, "ratio": ratio})

    def check(bar, value, limit, passed, detail):
        checks.append({"bar": bar, "value": value, "limit": limit, "passed": passed, "detail": detail})

    messaging = read_json(f"{stamp}-messaging.json")
    messaging_baselines = read_lines(f"{stamp}-messaging.baselines.jsonl")
    if messaging:
        naive = baseline(messaging_baselines, "naive consumer")
        produce = baseline(messaging_baselines, "kcat produce")
        row("messaging", "relay: outbox → Kafka, acknowledged and deleted", round(messaging["relay_rows_per_s"]), "rows/s",
            f"kcat produce {produce:,.0f}/s" if produce else "", f"{messaging['relay_rows_per_s'] / produce:.0%}" if produce else "")
        row("messaging", "consumer: Kafka → inbox + apply", round(messaging["consumer_events_per_s"]), "events/s",
            f"naive consumer {naive:,.0f}/s" if naive else "", f"{messaging['consumer_events_per_s'] / naive:.0f}×" if naive else "")
        row("messaging", "consumer-group join (excluded from the rates)", round(messaging["consumer_join_s"], 2), "s")

    ingress = read_json(f"{stamp}-registry-ingress.json")
    ingress_baselines = read_lines(f"{stamp}-registry-ingress.baselines.jsonl")
    if ingress:
        rate, copy = ingress["end_to_end_per_s"], ingress["copy_per_s"]
        naive = baseline(ingress_baselines, "naive ingress")
        row("registry", "district ingress end to end (consumed, validated, written, event published)", round(rate), "residents/s",
            f"COPY {copy:,.0f} rows/s", f"{rate / copy:.1%}")
        check("district ingress ≥ 25 % of COPY", f"{rate / copy:.1%}", "25 %", rate / copy >= 0.25, f"{rate:,.0f} vs {copy:,.0f} rows/s")
        if naive:
            row("registry", "district ingress against the naive script", round(rate), "residents/s",
                f"naive {naive:,.0f} residents/s", f"{rate / naive:.1f}×")
            check("district ingress ≥ 10× the naive script", f"{rate / naive:.1f}×", "10×", rate / naive >= 10, f"{rate:,.0f} vs {naive:,.0f} residents/s")
        else:
            check("district ingress ≥ 10× the naive script", "not measured", "10×", False, "no naive ingress baseline in this run")
        row("registry", "consumer-group join (excluded)", round(ingress["join_s"], 2), "s")

    mediation = read(f"{stamp}-mediation.md")
    if mediation:
        sweep = re.search(r"\*\*([\d.]+) s\*\* \(([\d.]+) cases/s\)", mediation)
        if sweep:
            row("mediation", "deadline sweep: overdue cases escalated", float(sweep.group(2)), "cases/s", f"{sweep.group(1)} s in all")
        api = re.search(r"case creation through the API.*?\*\*p50 ([^,]+), p99 ([^*]+)\*\*, ([\d.]+) requests/s", mediation)
        if api:
            row("mediation", "case creation through the API, closed loop (p50 / p99)", f"{ms(api.group(1)):.1f} / {ms(api.group(2)):.1f}", "ms",
                f"{float(api.group(3)):,.0f} requests/s")

    matching = read(f"{stamp}-matching.md")
    if matching:
        found = re.search(r"\*\*p50 ([\d.]+) ms, p99 ([\d.]+) ms\*\*", matching)
        if found:
            p50, p99 = float(found.group(1)), float(found.group(2))
            row("matching", "rank one need among 1,000,000 volunteers (p50 / p99)", f"{p50:.2f} / {p99:.2f}", "ms")
            check("matching p99 < 20 ms", f"{p99:.2f} ms", "20 ms", p99 < 20, "in memory, 20,000 needs each timed")

    service = read(f"{stamp}-matching-service.md")
    if service:
        http = re.search(r"\*\*p50 ([^,]+), p99 ([^*]+)\*\*, ([\d.]+) requests/s", service)
        peak = re.search(r"peak RSS \(VmHWM\), start-up included \| ([\d.]+) MB", service)
        load = re.search(r"RSS under the load \(highest sample\) \| ([\d.]+) MB", service)
        if http:
            row("matching", "ranked candidates over HTTP at 1,000,000 volunteers (p50 / p99)", f"{ms(http.group(1)):.1f} / {ms(http.group(2)):.1f}", "ms",
                f"{float(http.group(3)):,.0f} requests/s")
        if load:
            mb = float(load.group(1))
            row("memory", "volunteer-matching RSS under load with 1,000,000 volunteers", mb, "MB")
            check("volunteer-matching < 150 MB RSS under load with a million volunteers", f"{mb:.0f} MB", "150 MB", mb < 150,
                  "highest VmRSS sample during the HTTP load")
        if peak:
            row("memory", "volunteer-matching peak RSS with 1,000,000 volunteers, start-up included", float(peak.group(1)), "MB")

    http = read_json(f"{stamp}-http.json")
    if http:
        for entry in http:
            service_name, endpoint = entry.get("service"), entry.get("endpoint")
            p50, p99, achieved, target = entry.get("p50_ms"), entry.get("p99_ms"), entry.get("achieved_rps"), entry.get("target_rps")
            errors = entry.get("errors", 0)
            row("http", f"{service_name} {endpoint} (p50 / p99)", f"{p50:.1f} / {p99:.1f}", "ms", f"{achieved:,.0f} of {target:,.0f} requests/s")
            slow = entry.get("slow_statements")
            stalls = "" if slow is None else (
                "; no PostgreSQL statement over 40 ms" if slow == 0 else
                f"; PostgreSQL: {slow} statement{'s' if slow != 1 else ''} over 40 ms ({entry.get('slow_commits')} COMMIT), "
                f"longest {entry.get('longest_statement_ms'):.0f} ms")
            check(f"{service_name} {endpoint}: p99 < 25 ms at {target:,.0f} requests/s", f"{p99:.1f} ms at {achieved:,.0f}/s", "25 ms",
                  p99 < 25 and achieved >= 0.95 * target and not errors, f"errors {errors}{stalls}")
        peaks = {}
        for entry in http:
            peaks[entry["service"]] = max(peaks.get(entry["service"], 0), entry.get("peak_rss_mb") or 0)
        for service_name, mb in sorted(peaks.items()):
            row("memory", f"{service_name} peak RSS under load", mb, "MB")
            check(f"{service_name} < 150 MB RSS under load", f"{mb:.0f} MB", "150 MB", 0 < mb < 150, "VmHWM during the HTTP load")

    cores = os.cpu_count()
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    lines = [f"# Benchmark summary, {date}, {cores} cores (run {stamp})", "",
             "| area | measure | value | unit | baseline (same run) | ratio |", "| --- | --- | ---: | --- | --- | ---: |"]
    for r in rows:
        value = f"{r['value']:,}" if isinstance(r["value"], (int, float)) else r["value"]
        lines.append(f"| {r['area']} | {r['measure']} | {value} | {r['unit']} | {r['baseline']} | {r['ratio']} |")
    lines += ["", "| bar | measured | limit | met |", "| --- | ---: | ---: | --- |"]
    for c in checks:
        lines.append(f"| {c['bar']} | {c['value']} | {c['limit']} | {'yes' if c['passed'] else '**no**'} ({c['detail']}) |")
    markdown = "\n".join(lines) + "\n"
    with open(os.path.join(RESULTS, f"{stamp}-summary.md"), "w", encoding="utf-8") as f:
        f.write(markdown)
    with open(os.path.join(RESULTS, f"{stamp}-summary.json"), "w", encoding="utf-8") as f:
        json.dump({"stamp": stamp, "date": date, "cores": cores, "rows": rows, "bars": checks}, f, indent=2, ensure_ascii=False)
    print(markdown)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: summary.py <stamp>")
    main(sys.argv[1])
