# ruff: noqa: RUF001
"""Generate the synthetic X API v2 filtered-stream sample data under data/sample.

Writes, deterministically (same arguments -> byte-identical files):

  x_stream.jsonl       N stream messages ({"data", "includes", "matching_rules"}), one a line
  malformed.jsonl      bad lines a collector must dead-letter, with 3 valid ones interleaved
  malformed.README.md  what is wrong with each line of malformed.jsonl, and the outcome
  README.md            what the files are, the command, counts and sha256s

Everything is made up: users, handles, players, drivers, airlines and flight numbers are
fictional (teams, circuits and airport codes are real place names, nothing more). Only
integer arithmetic and `random.Random` draws that do not go through libm are used, so the
output does not depend on the platform either.

Usage: scripts/make-sample-data [--out DIR] [--records N] [--seed S]

One module of ~1,100 lines on purpose: every step draws from one random stream in a fixed
order, and that order is what makes the files byte-identical; the pools are apart.
"""

import argparse
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from typing import Any

from sampledata.pools import (
    AIRLINES,
    AIRPORTS,
    CLUBS,
    CONSTRUCTORS,
    DISPLAY_NAMES,
    DRIVERS,
    EMOJI,
    FLAGS,
    FOOTBALLERS,
    GRANDS_PRIX,
    HANDLE_PARTS,
    HASHTAGS,
    KIND_LABELS,
    KIND_WEIGHTS,
    KINDS,
    LANG_WEIGHTS,
    LANGS,
    NBA_TEAMS,
    NOTE_HEADERS,
    NOTE_PARAGRAPHS,
    PLAYERS,
    RULES,
    SLOT_THEME,
    TEMPLATES,
    THEME_WEIGHTS,
    THEMES,
    VS16,
    ZWJ,
    fancy,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO_ROOT / "data" / "sample"
DEFAULT_RECORDS = 2000
DEFAULT_SEED = 20261123

TWITTER_EPOCH_MS = 1288834974657
# 2026-11-23T05:00:00.000Z, the first message of the sample.
START_MS = 1795410000000
MAX_WEIGHT = 280
URL_WEIGHT = 23
NOTE_MIN_CHARS = 2000
NOTE_MAX_CHARS = 4000
NOTE_ON_THEME = 0.6  # share of a long post's paragraphs about its own rule's topic
POOL_KEEP = 400  # recent in-file tweets that later ones may reply to, quote or retweet
USER_COUNT = 600
OVERSIZE_BYTES = 1_200_000
# str.splitlines() also breaks on these; json.dumps(ensure_ascii=False) leaves them raw,
# so the data never contains them and one line is always one record, however it is read.
LINE_BREAKERS = ("\u0085", "\u2028", "\u2029")


# --- helpers ---------------------------------------------------------------------------


def iso_ms(ms: int, *, keep_ms: bool = False) -> str:
    """`2026-11-23T05:00:00.000Z`. X reports created_at to the second: `.000Z`."""
    days, rem = divmod(ms, 86_400_000)
    y, m, d = civil_from_days(days)
    hh, rem = divmod(rem, 3_600_000)
    mm, rem = divmod(rem, 60_000)
    ss, milli = divmod(rem, 1000)
    return f"{y:04d}-{m:02d}-{d:02d}T{hh:02d}:{mm:02d}:{ss:02d}.{milli if keep_ms else 0:03d}Z"


def civil_from_days(z: int) -> tuple[int, int, int]:
    """Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant)."""
    z += 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return (y + 1 if m <= 2 else y), m, d


def weight(text: str) -> int:
    """twitter-text v3 weighted length (emoji sequences counted per code point: stricter)."""
    total = 0
    for ch in text:
        cp = ord(ch)
        light = (
            cp <= 0x10FF
            or 0x2000 <= cp <= 0x200D
            or 0x2010 <= cp <= 0x201F
            or (0x2032 <= cp <= 0x2037)
        )
        total += 1 if light else 2
    return total


def is_attached(ch: str) -> bool:
    """True if `ch` belongs to the grapheme before it (a mark, joiner, modifier or tag)."""
    cp = ord(ch)
    return (
        unicodedata.category(ch) in ("Mn", "Mc", "Me")
        or cp in (ZWJ, VS16, 0xFE0E)
        or 0x1F3FB <= cp <= 0x1F3FF
        or 0xE0020 <= cp <= 0xE007F
    )


def safe_cut(text: str, limit: int) -> int:
    """An index <= limit to cut `text` at: after a space or sentence mark if one is near."""
    limit = min(limit, len(text))
    for i in range(limit, max(0, limit - 40), -1):
        if text[i - 1] in " \n。、！？،":
            return i
    i = limit
    while i > 0 and i < len(text) and (is_attached(text[i]) or _splits_flag(text, i)):
        i -= 1
    return i


def _splits_flag(text: str, i: int) -> bool:
    run = 0
    while i - run - 1 >= 0 and 0x1F1E6 <= ord(text[i - run - 1]) <= 0x1F1FF:
        run += 1
    return run % 2 == 1 and 0x1F1E6 <= ord(text[i]) <= 0x1F1FF


def cut_to_weight(text: str, max_weight: int) -> int:
    """The longest prefix length whose weight fits in `max_weight`."""
    total = 0
    for i, ch in enumerate(text):
        total += weight(ch)
        if total > max_weight:
            return i
    return len(text)


def tco(rng: Random) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "https://t.co/" + "".join(rng.choice(alphabet) for _ in range(10))


def display_url(expanded: str) -> str:
    shown = re.sub(r"^https?://(www\.)?", "", expanded)
    return shown if len(shown) <= 26 else shown[:26] + "…"


def pick(pool: dict[str, list[str]], lang: str, rng: Random) -> str:
    return rng.choice(pool.get(lang) or pool["en"])


# --- building one text with its entities ------------------------------------------------


@dataclass
class Text:
    """A text and its entities; offsets are code point indices into `text`, end exclusive."""

    text: str = ""
    hashtags: list[dict[str, Any]] = field(default_factory=list)
    mentions: list[dict[str, Any]] = field(default_factory=list)
    urls: list[dict[str, Any]] = field(default_factory=list)

    def add(self, s: str) -> None:
        self.text += s

    def hashtag(self, tag: str) -> None:
        start = len(self.text)
        self.text += "#" + tag
        self.hashtags.append({"start": start, "end": len(self.text), "tag": tag})

    def mention(self, user: dict[str, Any]) -> None:
        start = len(self.text)
        self.text += "@" + user["username"]
        self.mentions.append(
            {"start": start, "end": len(self.text), "username": user["username"], "id": user["id"]}
        )

    def url(self, short: str, expanded: str, shown: str, media_key: str | None = None) -> None:
        start = len(self.text)
        self.text += short
        entity = {
            "start": start,
            "end": len(self.text),
            "url": short,
            "expanded_url": expanded,
            "display_url": shown,
        }
        if media_key:
            entity["media_key"] = media_key
        self.urls.append(entity)

    def extend(self, other: "Text") -> None:
        shift = len(self.text)
        self.text += other.text
        for mine, theirs in (
            (self.hashtags, other.hashtags),
            (self.mentions, other.mentions),
            (self.urls, other.urls),
        ):
            mine.extend({**e, "start": e["start"] + shift, "end": e["end"] + shift} for e in theirs)

    def truncated(self, max_weight: int) -> "Text":
        """A prefix that fits `max_weight` (ellipsis included), dropping cut entities."""
        if weight(self.text) <= max_weight:
            return self
        cut = safe_cut(self.text, cut_to_weight(self.text, max_weight - 1))
        out = Text(self.text[:cut].rstrip() + "…")
        for mine, theirs in (
            (out.hashtags, self.hashtags),
            (out.mentions, self.mentions),
            (out.urls, self.urls),
        ):
            mine.extend(e for e in theirs if e["end"] <= len(out.text) - 1)
        return out

    def weight(self) -> int:
        urls = sum(e["end"] - e["start"] for e in self.urls)
        return weight(self.text) - urls + URL_WEIGHT * len(self.urls)

    def entities(self) -> dict[str, Any]:
        found = {"hashtags": self.hashtags, "mentions": self.mentions, "urls": self.urls}
        return {k: v for k, v in found.items() if v}


@dataclass
class Ctx:
    """One text being written: its theme and language, and the choices made so far."""

    theme: str
    lang: str
    values: dict[str, str] = field(default_factory=dict)
    themes: list[str] = field(default_factory=list)
    used_tags: list[str] = field(default_factory=list)
    mentioned: list[dict[str, Any]] = field(default_factory=list)


SLOT_RE = re.compile(r"\{(\w+)\}")


class Writer:
    def __init__(self, rng: Random, users: list[dict[str, Any]]) -> None:
        self.rng = rng
        self.users = users

    def render(self, out: Text, template: str, ctx: Ctx) -> None:
        parts = SLOT_RE.split(template)
        for i, part in enumerate(parts):
            if i % 2 == 0:
                out.add(part)
                continue
            theme = SLOT_THEME.get(part.rstrip("2"))
            if theme and theme not in ctx.themes:
                ctx.themes.append(theme)
            if part in ("h", "h2"):
                out.hashtag(self.hashtag(ctx))
            elif part == "m":
                user = self.rng.choice(self.users)
                ctx.mentioned.append(user)
                out.mention(user)
            elif part == "u":
                expanded = self.link(ctx)
                out.url(tco(self.rng), expanded, display_url(expanded))
            else:
                if part not in ctx.values:
                    ctx.values[part] = self.slot(part, ctx)
                out.add(ctx.values[part])

    def hashtag(self, ctx: Ctx) -> str:
        pool = HASHTAGS[ctx.theme].get(ctx.lang) or HASHTAGS[ctx.theme]["en"]
        fresh = [t for t in pool if t not in ctx.used_tags] or pool
        tag = self.rng.choice(fresh)
        ctx.used_tags.append(tag)
        return tag

    def link(self, ctx: Ctx) -> str:
        r = self.rng
        return {
            "nba": f"https://stats.example.com/nba/game/00226{r.randint(1000, 9999)}/box-score",
            "f1": "https://timing.example.org/f1/2026/abu-dhabi/race/live",
            "football": f"https://scores.example.net/match/{r.randint(100000, 999999)}",
            "flights": f"https://flightstatus.example.com/{self.flight(ctx).replace(' ', '')}"
            "?date=2026-11-23",
        }[ctx.theme]

    def flight(self, ctx: Ctx) -> str:
        if "flight" not in ctx.values:
            code, _ = self.airline(ctx)
            ctx.values["flight"] = f"{code} {self.rng.randint(10, 2999)}"
        return ctx.values["flight"]

    def airline(self, ctx: Ctx) -> tuple[str, str]:
        if "airline_code" not in ctx.values:
            code, names = self.rng.choice(AIRLINES)
            ctx.values["airline_code"] = code
            ctx.values["airline"] = names.get(ctx.lang, names["en"])
        return ctx.values["airline_code"], ctx.values["airline"]

    def slot(self, name: str, ctx: Ctx) -> str:
        r, lang = self.rng, ctx.lang
        base = name.rstrip("2")
        simple = {
            "team": NBA_TEAMS,
            "player": PLAYERS,
            "driver": DRIVERS,
            "cteam": CONSTRUCTORS,
            "gp": GRANDS_PRIX,
            "club": CLUBS,
            "footballer": FOOTBALLERS,
        }
        if base in simple:
            for _ in range(8):  # team2 differs from team when the pool allows
                value = pick(simple[base], lang, r)
                if name == base or value != ctx.values.get(base):
                    return value
            return value
        if base == "airline":
            return self.airline(ctx)[1]
        if base == "flight":
            return self.flight(ctx)
        if base == "score":
            return f"{r.randint(88, 131)}-{r.randint(85, 128)}"
        if base == "goals":
            return f"{r.randint(0, 4)}-{r.randint(0, 3)}"
        if base == "e":
            return r.choice(EMOJI)
        if base == "flag":
            return r.choice(FLAGS)
        if base == "ap":
            return r.choice([a for a in AIRPORTS if a != ctx.values.get("ap")])
        if base == "gate":
            return f"{r.choice('ABCDEG')}{r.randint(1, 48)}"
        if base == "time":
            return f"{r.randint(0, 23):02d}:{r.choice([0, 5, 15, 20, 35, 40, 45, 55]):02d}"
        if base == "gap":
            return f"+0.{r.randint(12, 987):03d}s"
        ranges = {
            "n": (2, 25),
            "pts": (18, 61),
            "reb": (4, 21),
            "ast": (2, 17),
            "pos": (1, 20),
            "lap": (1, 58),
            "min": (1, 90),
            "hrs": (1, 9),
            "mins": (15, 190),
            "mm": (1, 59),
            "d": (0, 9),
        }
        lo, hi = ranges[base]
        return str(r.randint(lo, hi))

    def compose(self, theme: str, lang: str, *, fill: bool = False) -> tuple[Text, Ctx]:
        """One short post: a template, sometimes more (up to 280 weighted characters)."""
        ctx = Ctx(theme, lang, themes=[theme])
        out = Text()
        self.render(out, self.rng.choice(TEMPLATES[theme][lang]), ctx)
        while fill:
            more = Text(" ")
            trial = Ctx(
                theme,
                lang,
                themes=list(ctx.themes),
                used_tags=list(ctx.used_tags),
                mentioned=list(ctx.mentioned),
            )
            self.render(more, self.rng.choice(TEMPLATES[theme][lang]), trial)
            if out.weight() + more.weight() > MAX_WEIGHT:
                break
            out.extend(more)
            ctx = trial
        return out, ctx

    def note(self, theme: str, lang: str) -> tuple[Text, Ctx]:
        """A long post of 2,000-4,000 characters: a live blog."""
        ctx = Ctx(theme, lang, themes=[theme])
        out = Text()
        self.render(out, NOTE_HEADERS[lang], ctx)
        target = self.rng.randint(NOTE_MIN_CHARS + 150, NOTE_MAX_CHARS - 250)
        paragraphs = NOTE_PARAGRAPHS[lang]
        on_theme = [
            p
            for p in paragraphs
            if any(SLOT_THEME.get(s.rstrip("2")) == theme for s in SLOT_RE.findall(p))
        ]
        while len(out.text) < target:
            out.add("\n\n")
            ctx.values = {}  # new numbers, names and gates in each paragraph
            mostly = on_theme if on_theme and self.rng.random() < NOTE_ON_THEME else paragraphs
            self.render(out, self.rng.choice(mostly), ctx)
        out.add("\n\n")
        self.render(out, "{h} {h2}", ctx)
        ctx.themes = [theme]  # a live blog names everything; it matched one rule
        return out, ctx


# --- records ----------------------------------------------------------------------------


def fresh_metrics(rng: Random) -> dict[str, int]:
    """Metrics of a post seconds old, as the stream delivers it: mostly zeros."""
    return {
        "retweet_count": 0,
        "reply_count": 0,
        "like_count": rng.choice([0, 0, 0, 0, 0, 0, 1, 1, 2, 3]),
        "quote_count": 0,
        "bookmark_count": 0,
        "impression_count": rng.randint(0, 40),
    }


def aged_metrics(rng: Random) -> dict[str, int]:
    likes = rng.randint(0, 10 ** rng.randint(1, 5))
    return {
        "retweet_count": likes // rng.randint(3, 12),
        "reply_count": likes // 20,
        "like_count": likes,
        "quote_count": likes // 50,
        "bookmark_count": likes // 30,
        "impression_count": likes * rng.randint(15, 60) + rng.randint(0, 99),
    }


class Generator:
    def __init__(self, seed: int) -> None:
        self.rng = Random(seed)
        self.seen_ids: set[int] = set()
        self.users = self.make_users()
        self.by_lang = {lang: [u for u in self.users if u["_lang"] == lang] for lang in LANGS}
        self.writer = Writer(self.rng, self.public_users())
        self.pool: list[dict[str, Any]] = []  # recent in-file posts to refer to
        self.stats: dict[str, dict[str, int]] = {}

    # ids and users

    def snowflake(self, ms: int) -> str:
        while True:
            value = (
                ((ms - TWITTER_EPOCH_MS) << 22)
                | (self.rng.randrange(1024) << 12)
                | (self.rng.randrange(8))
            )
            if value not in self.seen_ids:
                self.seen_ids.add(value)
                return str(value)

    def make_users(self) -> list[dict[str, Any]]:
        rng, users, handles = self.rng, [], set()
        for i in range(USER_COUNT):
            lang = rng.choices(LANGS, LANG_WEIGHTS)[0]
            while True:
                handle = rng.choice(HANDLE_PARTS)
                if rng.random() < 0.5:
                    handle += rng.choice(["_", ""]) + rng.choice(HANDLE_PARTS)
                handle = (handle[:11] + str(rng.randint(0, 9999)))[:15]
                if rng.random() < 0.3:
                    handle = handle.capitalize()
                if handle.lower() not in handles:
                    handles.add(handle.lower())
                    break
            created_ms = START_MS - rng.randint(30, 6900) * 86_400_000 - rng.randint(0, 86_399_999)
            if created_ms < TWITTER_EPOCH_MS + 1000 * 86_400_000:
                uid = str(rng.randint(10**6, 10**9))  # an account from before snowflake ids
            else:
                uid = self.snowflake(created_ms)
            name = rng.choice(DISPLAY_NAMES[lang])
            if i % 97 == 0:
                name = fancy(name.split(" ")[0]) + " " + rng.choice(EMOJI)
            users.append(
                {
                    "id": uid,
                    "name": name,
                    "username": handle,
                    "verified": rng.random() < 0.08,
                    "created_at": iso_ms(created_ms),
                    "_lang": lang,
                }
            )
        return users

    def public_users(self) -> list[dict[str, Any]]:
        return [{k: v for k, v in u.items() if not k.startswith("_")} for u in self.users]

    def user(self, lang: str) -> dict[str, Any]:
        pool = self.by_lang[lang] if self.rng.random() < 0.85 else self.users
        return {k: v for k, v in self.rng.choice(pool).items() if not k.startswith("_")}

    # referenced posts

    def external(self, ms: int, theme: str, lang: str) -> dict[str, Any]:
        """A post from before the sample started that a record replies to, quotes or RTs."""
        then = ms - self.rng.randint(60_000, 3 * 86_400_000)
        author = self.user(lang)
        text, _ = self.writer.compose(theme, lang)
        tid = self.snowflake(then)
        data = {
            "id": tid,
            "text": text.text,
            "author_id": author["id"],
            "created_at": iso_ms(then),
            "lang": lang,
            "conversation_id": tid,
            "public_metrics": aged_metrics(self.rng),
        }
        if text.entities():
            data["entities"] = text.entities()
        data["edit_history_tweet_ids"] = [tid]
        return {"data": data, "author": author, "theme": theme, "lang": lang}

    def target(self, ms: int, theme: str, lang: str) -> dict[str, Any]:
        same = [p for p in self.pool[-120:] if p["theme"] == theme]
        if same and self.rng.random() < 0.55:
            post = self.rng.choice(same)
            data = {**post["data"], "public_metrics": aged_metrics(self.rng)}
            return {**post, "data": data}
        return self.external(ms, theme, lang)

    # one message

    def message(self, ms: int) -> dict[str, Any]:
        rng = self.rng
        kind = rng.choices(KINDS, KIND_WEIGHTS)[0]
        theme = rng.choices(THEMES, THEME_WEIGHTS)[0]
        lang = rng.choices(LANGS, LANG_WEIGHTS)[0]
        tid = self.snowflake(ms)
        author = self.user(lang)
        build = getattr(self, f"build_{kind}")
        msg = build(tid, ms, author, theme, lang)
        self.count("kind", KIND_LABELS[kind])
        self.count("lang", msg["data"]["lang"])
        for rule in msg["matching_rules"]:
            self.count("rule", rule["tag"])
        if "attachments" in msg["data"]:
            self.count("shape", "with media")
        if "entities" in msg["data"]:
            self.count("shape", "with entities")
        if (
            "edit_history_tweet_ids" in msg["data"]
            and len(msg["data"]["edit_history_tweet_ids"]) > 1
        ):
            self.count("shape", "edited")
        return msg

    def count(self, group: str, key: str) -> None:
        bucket = self.stats.setdefault(group, {})
        bucket[key] = bucket.get(key, 0) + 1

    def assemble(
        self,
        tid: str,
        ms: int,
        author: dict[str, Any],
        text: Text,
        ctx: Ctx,
        *,
        lang: str,
        **extra: Any,
    ) -> dict[str, Any]:
        """The message: data (in X's field order), includes and matching_rules."""
        refs: list[dict[str, Any]] = extra.pop("refs", [])
        media: list[dict[str, Any]] = []
        if extra.pop("media", False):
            media = self.attach(text, tid, ms, author)
        data: dict[str, Any] = {
            "id": tid,
            "text": text.text,
            "author_id": author["id"],
            "created_at": iso_ms(ms),
            "lang": lang,
            "conversation_id": extra.pop("conversation_id", tid),
            "public_metrics": fresh_metrics(self.rng),
        }
        if text.entities():
            data["entities"] = text.entities()
        if refs:
            data["referenced_tweets"] = [{"type": kind, "id": p["data"]["id"]} for kind, p in refs]
        data.update(extra)
        if media:
            data["attachments"] = {"media_keys": [m["media_key"] for m in media]}
        data["edit_history_tweet_ids"] = self.edit_history(tid, ms, bool(refs))
        if data["edit_history_tweet_ids"][0] != tid:
            data["conversation_id"] = data["edit_history_tweet_ids"][0]
        users = [author]
        for u in ctx.mentioned + [p["author"] for _, p in refs]:
            if all(u["id"] != seen["id"] for seen in users):
                users.append(u)
        includes: dict[str, Any] = {"users": users}
        if refs:
            includes["tweets"] = [p["data"] for _, p in refs]
        if media:
            includes["media"] = media
        rules = [{"id": RULES[t], "tag": t} for t in ctx.themes]
        return {"data": data, "includes": includes, "matching_rules": rules}

    def edit_history(self, tid: str, ms: int, has_refs: bool) -> list[str]:
        if has_refs or self.rng.random() >= 0.012:
            return [tid]
        return [self.snowflake(ms - self.rng.randint(20_000, 600_000)), tid]

    def attach(self, text: Text, tid: str, ms: int, author: dict[str, Any]) -> list[dict[str, Any]]:
        rng, media = self.rng, []
        for n in range(rng.choice([1, 1, 1, 2, 4])):
            kind = rng.choices(["photo", "video", "animated_gif"], [70, 22, 8])[0]
            mid = self.snowflake(ms - rng.randint(2_000, 90_000))
            key = {"photo": "3_", "video": "7_", "animated_gif": "16_"}[kind] + mid
            w, h = rng.choice([(1200, 675), (1080, 1350), (1920, 1080), (750, 1334)])
            item: dict[str, Any] = {"media_key": key, "type": kind}
            name = "".join(
                rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
                for _ in range(15)
            )
            if kind == "photo":
                item["url"] = f"https://pbs.twimg.com/media/{name}.jpg"
            else:
                folder = "ext_tw_video_thumb" if kind == "video" else "tweet_video_thumb"
                item["preview_image_url"] = (
                    f"https://pbs.twimg.com/{folder}/{mid}/pu/img/{name}.jpg"
                )
            if kind == "video":
                item["duration_ms"] = rng.randint(4_000, 140_000)
            item["width"], item["height"] = w, h
            media.append(item)
            if n == 0:
                short = tco(rng)
                if text.text:
                    text.add(" ")
                expanded = f"https://x.com/{author['username']}/status/{tid}/" + (
                    "photo/1" if kind == "photo" else "video/1"
                )
                text.url(short, expanded, "pic.x.com/" + short[-10:], media_key=key)
        return media

    def build_original(
        self, tid: str, ms: int, author: dict[str, Any], theme: str, lang: str
    ) -> dict[str, Any]:
        text, ctx = self.writer.compose(theme, lang, fill=self.rng.random() < 0.12)
        with_media = self.rng.random() < 0.13 and text.weight() + 24 <= MAX_WEIGHT
        msg = self.assemble(tid, ms, author, text, ctx, lang=lang, media=with_media)
        self.remember(msg, author, theme, lang)
        return msg

    def build_reply(
        self, tid: str, ms: int, author: dict[str, Any], theme: str, lang: str
    ) -> dict[str, Any]:
        parent = self.target(ms, theme, lang)
        text = Text()
        text.mention(parent["author"])
        text.add(" ")
        body, ctx = self.writer.compose(theme, lang)
        text.extend(body)
        ctx.mentioned.insert(0, parent["author"])
        msg = self.assemble(
            tid,
            ms,
            author,
            text,
            ctx,
            lang=lang,
            refs=[("replied_to", parent)],
            conversation_id=parent["data"]["conversation_id"],
            in_reply_to_user_id=parent["author"]["id"],
        )
        self.remember(msg, author, theme, lang)
        return msg

    def build_quote(
        self, tid: str, ms: int, author: dict[str, Any], theme: str, lang: str
    ) -> dict[str, Any]:
        quoted = self.target(ms, theme, self.rng.choices(LANGS, LANG_WEIGHTS)[0])
        text, ctx = self.writer.compose(theme, lang)
        msg = self.assemble(tid, ms, author, text, ctx, lang=lang, refs=[("quoted", quoted)])
        self.remember(msg, author, theme, lang)
        return msg

    def build_retweet(
        self, tid: str, ms: int, author: dict[str, Any], theme: str, lang: str
    ) -> dict[str, Any]:
        orig = self.target(ms, theme, lang)
        text = Text("RT ")
        text.mention(orig["author"])
        text.add(": ")
        body = Text(orig["data"]["text"])
        ents = orig["data"].get("entities", {})
        body.hashtags = list(ents.get("hashtags", []))
        body.mentions = list(ents.get("mentions", []))
        body.urls = list(ents.get("urls", []))
        text.extend(body)
        text = text.truncated(MAX_WEIGHT)
        ctx = Ctx(
            orig["theme"],
            orig["lang"],
            themes=[orig["theme"]],
            mentioned=[orig["author"]]
            + [u for u in self.writer.users if any(m["id"] == u["id"] for m in text.mentions[1:])],
        )
        return self.assemble(
            tid, ms, author, text, ctx, lang=orig["lang"], refs=[("retweeted", orig)]
        )

    def build_note(
        self, tid: str, ms: int, author: dict[str, Any], theme: str, lang: str
    ) -> dict[str, Any]:
        full, ctx = self.writer.note(theme, lang)
        short = full.truncated(MAX_WEIGHT)
        msg = self.assemble(tid, ms, author, short, ctx, lang=lang)
        note: dict[str, Any] = {"text": full.text}
        if full.entities():
            note["entities"] = full.entities()
        data = msg["data"]
        msg["data"] = {
            **{k: v for k, v in data.items() if k != "edit_history_tweet_ids"},
            "note_tweet": note,
            "edit_history_tweet_ids": data["edit_history_tweet_ids"],
        }
        return msg

    def build_special(
        self, tid: str, ms: int, author: dict[str, Any], theme: str, lang: str
    ) -> dict[str, Any]:
        """Posts X cannot give a language: emoji only (und), hashtags only (qht), media (zxx)."""
        del lang
        rng = self.rng
        variant = rng.choice(["und", "qht", "zxx"])
        ctx = Ctx(theme, "en", themes=[theme])
        text = Text()
        if variant == "und":
            text.add(" ".join(rng.choice(EMOJI) * rng.randint(1, 3) for _ in range(3)))
        elif variant == "qht":
            self.writer.render(text, "{h} {h2}", ctx)
        return self.assemble(tid, ms, author, text, ctx, lang=variant, media=variant == "zxx")

    def remember(self, msg: dict[str, Any], author: dict[str, Any], theme: str, lang: str) -> None:
        data = msg["data"]
        keep = {
            k: data[k]
            for k in (
                "id",
                "text",
                "author_id",
                "created_at",
                "lang",
                "conversation_id",
                "public_metrics",
                "entities",
                "edit_history_tweet_ids",
            )
            if k in data
        }
        self.pool.append({"data": keep, "author": author, "theme": theme, "lang": lang})
        del self.pool[:-POOL_KEEP]


# --- files ------------------------------------------------------------------------------


def dumps(obj: Any) -> bytes:
    line = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    if any(ch in line for ch in LINE_BREAKERS):
        raise ValueError("a generated line contains a Unicode line separator")
    return line.encode("utf-8")


def stream_lines(gen: Generator, records: int) -> list[bytes]:
    lines, ms = [], START_MS
    for _ in range(records):
        lines.append(dumps(gen.message(ms)))
        ms += gen.rng.randint(40, 2400)
    return lines


def nine(msg: dict[str, Any]) -> dict[str, Any]:
    """The same message with ids starting with 9, so none collides with x_stream.jsonl."""
    old = msg["data"]["id"]
    new = "9" + old[1:]
    text = json.dumps(msg, ensure_ascii=False).replace(old, new)
    return json.loads(text)


MALFORMED: list[tuple[str, str, str]] = [
    # (what is wrong, expected outcome, reason prefix the collector gives)
    ("valid record", "valid", ""),
    ("truncated object: a real message cut off inside `data.text`", "dead-letter", "invalid JSON"),
    (
        "trailing garbage: a second object glued after the first (a lost newline)",
        "dead-letter",
        "invalid JSON",
    ),
    (
        "single quotes: a Python `repr()` of a message, with `True`/`None`",
        "dead-letter",
        "invalid JSON",
    ),
    ("valid JSON object, `data` present but without `id`", "dead-letter", "no id"),
    (
        "valid JSON object without `data` at all: an X stream `errors` message "
        "(operational-disconnect)",
        "dead-letter",
        "no id",
    ),
    ("valid record", "valid", ""),
    ("`data.id` is `null`", "dead-letter", "bad id"),
    ('`data.id` is an object (`{"$numberLong": ...}`)', "dead-letter", "bad id"),
    ('`data.id` is an empty string `""`', "dead-letter", "bad id"),
    (
        "invalid UTF-8: Latin-1 bytes, a stray 0xFF, an overlong and a truncated sequence "
        "inside an otherwise well-formed object",
        "dead-letter",
        "invalid JSON",
    ),
    ("a JSON array (holding a message) instead of an object", "dead-letter", "no id"),
    ("a bare JSON string", "dead-letter", "no id"),
    ("oversize: valid JSON, valid `data.id`, a `text` of about 1.2 MB", "dead-letter", "oversize"),
    ("valid record", "valid", ""),
]
REASONS = {
    "invalid JSON": "`invalid JSON: ...`",
    "no id": "`no id at 'data.id'`",
    "bad id": "`id at 'data.id' is not a non-empty string or integer`",
    "oversize": f"`oversize: {OVERSIZE_BYTES} bytes > max_record_bytes 900000`",
}


def malformed_lines(gen: Generator) -> list[bytes]:
    ms = START_MS + 3_600_000
    valid = []
    for _ in range(3):
        ms += gen.rng.randint(500, 3000)
        valid.append(nine(gen.message(ms)))
    bad = nine(gen.message(ms + 777))
    data = bad["data"]
    full = dumps(bad).decode("utf-8")
    cut = full.index(',"author_id"') - 7
    glued = dumps({"data": {"id": data["id"], "text": data["text"]}})
    no_id = {
        "data": {k: v for k, v in data.items() if k != "id"},
        "matching_rules": bad["matching_rules"],
    }
    disconnect = {
        "errors": [
            {
                "title": "operational-disconnect",
                "disconnect_type": "UpstreamOperationalDisconnect",
                "detail": "This stream has been disconnected upstream for operational reasons.",
                "type": "https://api.twitter.com/2/problems/operational-disconnect",
            }
        ]
    }
    not_utf8 = (
        b'{"data":{"id":"' + data["id"].encode() + b'","text":"S\xe3o Paulo \xff '
        b'caf\xc3\xa9 \xc0\xaf \xe2\x82","lang":"pt"}}'
    )
    big = oversize(data["id"], data["author_id"], ms + 999)
    return [
        dumps(valid[0]),
        full[:cut].encode("utf-8"),
        glued + glued,
        repr(
            {
                "data": {
                    "id": data["id"],
                    "text": "it's a repr",
                    "author_id": data["author_id"],
                    "possibly_sensitive": False,
                    "geo": None,
                },
                "includes": {"users": [{"id": data["author_id"], "verified": True}]},
            }
        ).encode(),
        dumps(no_id),
        dumps(disconnect),
        dumps(valid[1]),
        dumps({**bad, "data": {**data, "id": None}}),
        dumps({**bad, "data": {**data, "id": {"$numberLong": data["id"]}}}),
        dumps({**bad, "data": {**data, "id": ""}}),
        not_utf8,
        dumps([bad]),
        dumps("data.id is in here somewhere, trust me"),
        big,
        dumps(valid[2]),
    ]


def oversize(tid: str, author_id: str, ms: int) -> bytes:
    """A valid message of exactly OVERSIZE_BYTES bytes (newline excluded)."""
    chunk = ("GOAL " + FLAGS[0] + " golaço ゴール هدف गोल " + EMOJI[15] + ' "q" \\ ') * 50

    def build(text: str) -> bytes:
        return dumps(
            {
                "data": {
                    "id": tid,
                    "text": text,
                    "author_id": author_id,
                    "created_at": iso_ms(ms),
                    "lang": "und",
                    "edit_history_tweet_ids": [tid],
                },
                "matching_rules": [{"id": RULES["football"], "tag": "football"}],
            }
        )

    text = ""
    while len(build(text + chunk)) <= OVERSIZE_BYTES:
        text += chunk
    text += "x" * (OVERSIZE_BYTES - len(build(text)))
    line = build(text)
    if len(line) != OVERSIZE_BYTES:
        raise AssertionError(len(line))
    return line


NL = b"\n"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def malformed_readme(lines: list[bytes]) -> str:
    rows = []
    for n, (line, (what, outcome, reason)) in enumerate(zip(lines, MALFORMED, strict=True), 1):
        if outcome == "valid":
            rid = json.loads(line)["data"]["id"]
            result = f"valid: produced to the topic with key `{rid}`"
        else:
            result = f"dead-letter, {reason}: {REASONS[reason]}"
        rows.append(f"| {n} | {len(line):,} | {what} | {result} |")
    valid = [
        json.loads(line)["data"]["id"]
        for line, m in zip(lines, MALFORMED, strict=True)
        if m[1] == "valid"
    ]
    return "\n".join(
        [
            "# malformed.jsonl",
            "",
            "Bad input a collector must dead-letter, with three valid records interleaved so a",
            "test can check that the good records around bad ones still land. Generated by",
            "`scripts/make-sample-data` (see README.md); do not edit by hand, regenerate.",
            "",
            f"{len(lines)} lines, each ending in `\\n`: {len(lines) - len(valid)} bad and "
            f"{len(valid)} valid. Every `data.id` here starts",
            "with `9`, so none collides with `x_stream.jsonl`; the valid ones are",
            f"{', '.join(f'`{v}`' for v in valid)}.",
            "Line 11 is not UTF-8: read the file as bytes. Byte counts exclude the newline.",
            "",
            "Reason categories are the prefixes of the `reason` that `Collector.encode`",
            "(src/lakefeed/collector/daemon.py) writes to the dead-letter topic, with",
            "`id_path: data.id` (the `replay` default) and the default `max_record_bytes`",
            f"(900000; line 14 is {OVERSIZE_BYTES:,} bytes, also over Kafka's default 1 MiB",
            "`message.max.bytes`).",
            "",
            "| line | bytes | what is wrong | expected outcome |",
            "|---:|---:|---|---|",
            *rows,
            "",
        ]
    )


def stats_table(gen: Generator) -> list[str]:
    out = []
    for group in ("rule", "kind", "lang", "shape"):
        items = sorted(gen.stats.get(group, {}).items(), key=lambda kv: (-kv[1], kv[0]))
        out.append(f"- {group}: " + ", ".join(f"{k} {v}" for k, v in items))
    return out


def readme(
    records: int, seed: int, files: dict[str, bytes], gen: Generator, stream: list[bytes]
) -> str:
    command = f"scripts/make-sample-data --records {records} --seed {seed}"
    widest = max(len(line) for line in stream)
    table = [
        f"| `{name}` | {len(body):,} | {body.count(NL):,} | `{sha256(body)}` |"
        for name, body in files.items()
    ]
    return "\n".join(
        [
            "# Sample data",
            "",
            "Synthetic input for tests, benchmarks and the `replay` source. **Nothing here is",
            "real**: users, handles, ids, display names, players, drivers, footballers, airlines",
            "and flight numbers are made up (team names, circuits and airport codes are used as",
            "place names only). Links are random `t.co` codes expanding to `example.com`-style",
            "hosts or to the fake posts; media URLs are random `pbs.twimg.com` paths.",
            "",
            "Generated, deterministically, with (from the repository root, Python 3.11+, stdlib):",
            "",
            "```sh",
            command,
            "```",
            "",
            "Same arguments give byte-identical files; `--out DIR` writes elsewhere. Do not edit",
            "the files by hand: change the script and regenerate, then update the checksums here",
            "(the script writes this README too).",
            "",
            "| file | bytes | lines | sha256 |",
            "|---|---:|---:|---|",
            *table,
            "",
            "## x_stream.jsonl",
            "",
            f"{records:,} messages, one a line, shaped as the X API v2 filtered stream delivers",
            "them with expansions (`author_id`, `referenced_tweets.id`,",
            "`referenced_tweets.id.author_id`, `entities.mentions.username`,",
            '`attachments.media_keys`): `{"data": {...}, "includes": {"users": [...],',
            '"tweets": [...], "media": [...]}, "matching_rules": [{"id", "tag"}]}`.',
            'Written with `json.dumps(obj, ensure_ascii=False, separators=(",", ":"))`,',
            f"UTF-8, `\\n` line endings; the longest line is {widest:,} bytes.",
            "",
            "- `data.id` is a 19-digit snowflake string, unique and strictly increasing down the",
            "  file; its timestamp matches `created_at` (from 2026-11-23T05:00:00.000Z).",
            "- Replies, quotes and retweets point (`referenced_tweets`, `includes.tweets`) either",
            "  at an earlier post of the file, or at an older post that exists only in",
            "  `includes.tweets`; every referenced id is smaller than the referring `data.id`.",
            "- Entity offsets (`start`, `end`) are Unicode code point indices into `data.text`",
            "  (Python `str` indices), `end` exclusive; `note_tweet.entities` index into",
            "  `note_tweet.text`. `data.text` is as X delivers it, so `&amp;`, `&lt;` appear.",
            "- Long posts carry `note_tweet.text` of 2,000-4,000 characters; their `data.text` is",
            "  the first 280 (weighted) characters and an ellipsis.",
            "- Texts mix English, Spanish, Portuguese, Japanese, Arabic (RTL, with harakat and",
            "  U+200F marks), Hindi, French; emoji with skin tones, ZWJ sequences, flags",
            "  (including the England tag sequence), keycaps; combining marks",
            "  (decomposed é, ã, ễ); quotes,",
            "  backslashes (`¯\\_(ツ)_/¯`, a Windows path, a literal `\\n`) and real newlines.",
            "- No line contains U+0085, U+2028 or U+2029, so `str.splitlines()` gives one record",
            "  per line as well as splitting on `\\n` does.",
            "",
            "Counts:",
            "",
            *stats_table(gen),
            "",
            "## malformed.jsonl",
            "",
            "Bad lines (invalid JSON, missing or unusable `data.id`, invalid UTF-8, a 1.2 MB",
            "record) with three valid records interleaved: see `malformed.README.md`, which lists",
            "every line and the outcome a collector should reach.",
            "",
        ]
    )


def positive(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help="directory to write to (default: data/sample in the repository)",
    )
    parser.add_argument(
        "--records",
        type=positive,
        default=DEFAULT_RECORDS,
        help=f"messages in x_stream.jsonl (default {DEFAULT_RECORDS})",
    )
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})"
    )
    args = parser.parse_args(argv)

    gen = Generator(args.seed)
    stream = stream_lines(gen, args.records)
    stream_stats = {group: dict(counts) for group, counts in gen.stats.items()}
    bad = malformed_lines(gen)
    gen.stats = stream_stats

    files = {
        "x_stream.jsonl": b"".join(line + b"\n" for line in stream),
        "malformed.jsonl": b"".join(line + b"\n" for line in bad),
    }
    files["malformed.README.md"] = malformed_readme(bad).encode("utf-8")
    files["README.md"] = readme(args.records, args.seed, dict(files), gen, stream).encode()

    args.out.mkdir(parents=True, exist_ok=True)
    for name, body in files.items():
        (args.out / name).write_bytes(body)
        print(f"{args.out / name}: {len(body):,} bytes, sha256 {sha256(body)}")
    return 0
