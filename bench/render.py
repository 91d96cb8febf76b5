"""Rendering benchmark: the send's per-recipient path against the naive one, on one core.

    .venv/bin/python bench/render.py [--recipients N] [--naive-sample M] [--seed S]

Builds N synthetic customers in memory (attributes drawn from content/audience.yaml's declared
attributes, locales from it, 0-2 excluded product groups, first names including non-ASCII) for
the demo content's weekly edition of 2026-11-23, and prints:

- variant compile time: cold per variant (MJML + text part + MIME skeleton) and a cached lookup;
- the number of distinct variants;
- the fast path per recipient (segment match + variant lookup, then substitution + MIME bytes);
- tracked links against the same send without them (runs interleaved, the ratio);
- the edition with two experiments of two arms against the same edition with none (copies of the
  content folder, bench/experiment_content.py; runs interleaved, the ratio);
- the naive path on a sample (per recipient: block and layout Jinja with the real values,
  mjml2html, inscriptis, email.message.EmailMessage + as_bytes()) and the ratio.

Single process; pinned to one CPU where the OS allows it. The last line is all figures as JSON.
Not a test: nothing here asserts a target, the figures are for the reader.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from email.message import EmailMessage
from email.headerregistry import Address
from pathlib import Path

from preferences.links import LinkSigner, Purpose
from service.assembly.edition import Edition
from service.assembly.mime import message_id
from service.assembly.recipient import Recipient
from service.assembly.plain_text import html_to_text
from service.assembly.render import Renderer, date_header
from service.content.check import load_content
from service.content.markup.compose import render_block, render_layout, render_preheader, render_subject, variant_context
from service.content.markup.mjml import compile_mjml
from service.settings import Settings

from experiment_content import with_two_experiments, without_experiments
from render_path import EDITION, TEMPLATE, fast_one, fast_path, in_send_order, pin_to_one_cpu, synthetic_customers, timed

ROOT = Path(__file__).resolve().parent.parent
BASE_URL, MAILTO = "https://news.nordhaus.example", "unsubscribe@nordhaus.example"
KEYS = [b"bench-link-key-0123456789abcdef"]


# -- the naive path (everything per recipient) -----------------------------------------------------

def naive_one(edition: Edition, signer: LinkSigner, recipient: Recipient, when: str) -> bytes | None:
    template = edition.template
    assembly = edition.assembly_for(recipient)
    if assembly is None or assembly.skip_reason:
        return None
    locale = assembly.key.locale
    edition_id = f"{template.id}/{edition.date.isoformat()}"
    fallback = template.first_name_fallback.get(locale) or next(iter(template.first_name_fallback.values()), "")
    unsubscribe = signer.url(BASE_URL, recipient.public_id, Purpose.UNSUBSCRIBE)
    segment = assembly.segment
    context = variant_context(template, edition.date, segment.id, segment.name, locale)
    context["recipient"] = {"first_name": recipient.first_name or fallback, "email": recipient.email}
    context["links"] = {
        "preferences": signer.url(BASE_URL, recipient.public_id, Purpose.PREFERENCES),
        "unsubscribe": unsubscribe,
        "view_online": f"{BASE_URL}/view/{edition_id}/" + signer.sign(recipient.public_id, Purpose.VIEW, edition_id),
    }
    context["preheader"] = render_preheader(template, locale, context)
    bodies = {fill.slot.name: [render_block(b, context) for b in fill.chosen] for fill in assembly.fills}
    html = compile_mjml(render_layout(template, bodies, context))
    text = html_to_text(html)
    message = EmailMessage()
    message["From"] = Address(template.sender_name, addr_spec=template.sender_email)
    if template.reply_to:
        message["Reply-To"] = template.reply_to
    message["To"] = Address(recipient.first_name or "", addr_spec=recipient.email)
    message["Subject"] = render_subject(template, locale, context)
    message["Date"] = when
    message["Message-ID"] = message_id(edition_id, recipient.public_id, template.list_id)
    message["List-Id"] = f"{template.name} <{template.list_id}>"
    message["List-Unsubscribe"] = f"<{unsubscribe}>, <mailto:{MAILTO}?subject=unsubscribe>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text, cte="quoted-printable")
    message.add_alternative(html, subtype="html", cte="quoted-printable")
    return message.as_bytes()


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=20000, help="synthetic customers (default 20000)")
    parser.add_argument("--naive-sample", type=int, default=300, help="recipients for the naive path (default 300)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the fast path; the best counts (default 3)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--content", type=Path, default=ROOT / "content")
    args = parser.parse_args(argv)

    cpu = pin_to_one_cpu()
    load_s, content = timed(load_content, args.content)
    template = content.templates[TEMPLATE]
    build_s, customers = timed(synthetic_customers, content, args.recipients, args.seed)
    when = date_header(datetime(2026, 11, 23, 6, 0, tzinfo=timezone.utc))
    signer = LinkSigner(KEYS)
    print(f"newsletter render benchmark: {TEMPLATE} {EDITION}, {len(customers)} synthetic customers, "
          f"{len(content.blocks)} blocks; Python {platform.python_version()}, one process"
          + (f" pinned to CPU {cpu}" if cpu is not None else ""))
    print(f"  content loaded and checked in {load_s * 1e3:.0f} ms; customers built in {build_s * 1e3:.0f} ms")

    # Assembly of every customer's variant (cold: segment match, candidates, variant cache).
    experiment_key = Settings(link_keys=tuple(KEYS)).experiment_key  # as the send assigns arms
    edition = Edition(content, template, EDITION, experiment_key=experiment_key)
    assemblies, skipped, unmatched = {}, {}, 0
    start = time.perf_counter()
    for recipient in customers:
        segment = edition.segment_for(recipient.attributes, recipient.locale)
        if segment is None:
            unmatched += 1
            continue
        assembly = edition.assemble(segment, recipient.locale, recipient.excluded_groups,
                                    customer=recipient.public_id)
        if assembly.skip_reason:
            skipped[assembly.skip_reason] = skipped.get(assembly.skip_reason, 0) + 1
        else:
            assemblies[assembly.key] = assembly
    assemble_cold_s = time.perf_counter() - start
    sent = len(customers) - unmatched - sum(skipped.values())
    per_segment = {}
    for key in assemblies:
        per_segment[key.segment] = per_segment.get(key.segment, 0) + 1

    # CompiledVariant compile: cold, once per distinct variant, then a cached lookup.
    renderer = Renderer(signer, BASE_URL, MAILTO)
    compile_ms = []
    bodies = {a.body_key: a for a in assemblies.values()}  # variants whose text is the same
    for assembly in bodies.values():
        elapsed, _ = timed(renderer.variant, edition, assembly)
        compile_ms.append(elapsed * 1e3)
    some = next(iter(assemblies.values()))
    lookups = 200_000
    start = time.perf_counter()
    for _ in range(lookups):
        renderer.variant(edition, some)
    cached_us = (time.perf_counter() - start) / lookups * 1e6
    html_kb = statistics.mean(len("".join(v.html.literals).encode()) for v in renderer._bodies.values()) / 1024
    print(f"variants: {len(assemblies)} distinct keys, {len(bodies)} distinct bodies (compiled) for {sent} sendable customers "
          f"({unmatched} match no segment, skipped: {skipped or 'none'}); per segment {per_segment}")
    print(f"  assembly of all customers, cold: {assemble_cold_s * 1e3:.0f} ms")
    print(f"  compile per body, cold: mean {statistics.mean(compile_ms):.2f} ms, median "
          f"{statistics.median(compile_ms):.2f} ms, min {min(compile_ms):.2f}, max {max(compile_ms):.2f} "
          f"(total {sum(compile_ms):.0f} ms; HTML {html_kb:.1f} KB a variant)")
    print(f"  compile per variant, cached lookup: {cached_us:.3f} us")

    # The fast path, warm: assembly lookup, then substitution + MIME.
    n = len(customers)
    fast = fast_path(edition, renderer, customers, when, args.repeat)
    full_times, lookup_us, fast_us = fast["full_times"], fast["lookup_us"], fast["fast_us"]
    fast_rate = fast["recipients_per_s"]
    message_kb = fast["message_bytes"] / max(fast["messages"], 1) / 1024
    print(f"fast path (send): {fast_us:.1f} us a recipient = {fast_rate:,.0f} recipients/s on one core "
          f"(best of {args.repeat}: {', '.join(f'{t:.2f} s' for t in full_times)})")
    print(f"  of which assembly lookup (segment + variant key + cache) {lookup_us:.1f} us, "
          f"substitution + MIME {fast_us - lookup_us:.1f} us; messages {message_kb:.1f} KB on average")

    # Tracked links against the links as written: the same recipients, runs interleaved so a
    # phase of the machine hits both alike.
    untracked = Renderer(signer, BASE_URL, MAILTO, track=False)
    for assembly in assemblies.values():  # compiled before the clock runs, as for the tracked one
        untracked.variant(edition, assembly)
    tracked_times, untracked_times = [], []
    ordered = in_send_order(edition, customers)
    for _ in range(args.repeat):
        for renderer_, times in ((renderer, tracked_times), (untracked, untracked_times)):
            gc.collect()
            start = time.perf_counter()
            for r in ordered:
                fast_one(edition, renderer_, r, when)
            times.append(time.perf_counter() - start)
    tracked_us, untracked_us = min(tracked_times) / n * 1e6, min(untracked_times) / n * 1e6
    links = statistics.mean(len(v.links) for v in renderer._bodies.values())
    print(f"  tracked links ({links:.1f} a message): {tracked_us:.1f} us a recipient against {untracked_us:.1f} us "
          f"untracked = {tracked_us / untracked_us:.3f}x (target <= 1.10x)")

    # Two experiments of two arms against none: the same customers (each edition in its send order),
    # runs interleaved.
    with tempfile.TemporaryDirectory(prefix="bench-render-") as scratch:
        armed_dir, experiment_ids = with_two_experiments(args.content, Path(scratch), customers, experiment_key)
        plain_dir = without_experiments(args.content, Path(scratch))
        setups = []
        for folder in (armed_dir, plain_dir):
            loaded = load_content(folder)
            edition_ = Edition(loaded, loaded.templates[TEMPLATE], EDITION, experiment_key=experiment_key)
            setups.append((edition_, Renderer(signer, BASE_URL, MAILTO), in_send_order(edition_, customers)))
        for edition_, renderer_, ordered in setups:  # compiled before the clock runs
            for r in ordered:
                fast_one(edition_, renderer_, r, when)
        armed_times, plain_times = [], []
        for _ in range(args.repeat):
            for (edition_, renderer_, ordered), times in zip(setups, (armed_times, plain_times)):
                gc.collect()
                start = time.perf_counter()
                for r in ordered:
                    fast_one(edition_, renderer_, r, when)
                times.append(time.perf_counter() - start)
        # Distinct bodies (the renderer keeps at most 512 of them at a time).
        armed_bodies, plain_bodies = (len({getattr(e.assembly_for(r), "body_key", None) for r in ordered})
                                      for e, _, ordered in setups)
    armed_us, plain_us = min(armed_times) / n * 1e6, min(plain_times) / n * 1e6
    experiments_ratio = plain_us / armed_us
    print(f"  two experiments of two arms ({', '.join(experiment_ids)}; {armed_bodies} bodies against "
          f"{plain_bodies}): {armed_us:.1f} us a recipient against {plain_us:.1f} us without = "
          f"{experiments_ratio:.3f} of the rate (target >= 0.9)")

    # End to end from nothing, as a fresh send process sees it: compiles included.
    cold_edition = Edition(content, template, EDITION, experiment_key=experiment_key)
    cold_renderer = Renderer(signer, BASE_URL, MAILTO)
    gc.collect()
    cold_s, _ = timed(lambda: [fast_one(cold_edition, cold_renderer, r, when) for r in customers])
    print(f"  from a cold start (every compile included): {cold_s:.2f} s = {n / cold_s:,.0f} recipients/s")

    # The naive path on a sample.
    sample = customers[: args.naive_sample]
    naive_one(edition, signer, sample[0], when)  # warm Jinja's template cache, as a long run would
    gc.collect()
    naive_s, naive_messages = timed(lambda: [naive_one(edition, signer, r, when) for r in sample])
    naive_us = naive_s / len(sample) * 1e6
    naive_rate = len(sample) / naive_s
    ratio = fast_rate / naive_rate
    print(f"naive path (Jinja + mjml2html + inscriptis + EmailMessage per recipient, {len(sample)} recipients): "
          f"{naive_us / 1e3:.2f} ms a recipient = {naive_rate:,.0f} recipients/s")
    print(f"fast / naive: {ratio:.0f}x")
    targets = {"recipients_per_s": fast_rate >= 12_000, "ratio": ratio >= 50}
    print(f"targets: >= 12,000 recipients/s {'met' if targets['recipients_per_s'] else 'MISSED'}; "
          f">= 50x naive {'met' if targets['ratio'] else 'MISSED'}")

    figures = {
        "template": TEMPLATE, "edition": EDITION.isoformat(), "recipients": n, "sendable": sent,
        "unmatched": unmatched, "skipped": skipped, "distinct_variants": len(assemblies), "distinct_bodies": len(bodies),
        "assemble_all_cold_ms": round(assemble_cold_s * 1e3, 1),
        "compile_cold_ms_mean": round(statistics.mean(compile_ms), 3),
        "compile_cold_ms_median": round(statistics.median(compile_ms), 3),
        "compile_cold_ms_max": round(max(compile_ms), 3),
        "compile_cached_us": round(cached_us, 4),
        "fast_us_per_recipient": round(fast_us, 2), "fast_lookup_us": round(lookup_us, 2),
        "fast_substitution_mime_us": round(fast_us - lookup_us, 2),
        "fast_recipients_per_s": round(fast_rate), "cold_start_recipients_per_s": round(n / cold_s),
        "message_kb_mean": round(message_kb, 2),
        "tracked_links_per_message": round(links, 1), "tracked_us_per_recipient": round(tracked_us, 2),
        "untracked_us_per_recipient": round(untracked_us, 2),
        "tracked_to_untracked": round(tracked_us / untracked_us, 3),
        "experiments": experiment_ids, "experiment_bodies": armed_bodies, "no_experiment_bodies": plain_bodies,
        "experiments_us_per_recipient": round(armed_us, 2), "no_experiments_us_per_recipient": round(plain_us, 2),
        "experiments_rate_ratio": round(experiments_ratio, 3),
        "naive_sample": len(sample), "naive_ms_per_recipient": round(naive_us / 1e3, 3),
        "naive_recipients_per_s": round(naive_rate, 1), "ratio_fast_to_naive": round(ratio, 1),
        "targets_met": targets, "python": platform.python_version(), "pinned_cpu": cpu,
        "naive_messages": sum(1 for m in naive_messages if m),
    }
    print(json.dumps(figures, sort_keys=True))
    return figures


if __name__ == "__main__":
    main(sys.argv[1:])
