"""Exports in each format leaklens spread reads, written here from each format's documented structure
(Twitter API v1.1 statuses, API v2 response pages, twarc-csv's columns, the 4chan API's thread JSON,
Telegram Desktop's result.json), around one planted story:

- a dump file is first attached to a 4chan thread (its md5, as 4chan gives it), then posted on a
  Telegram channel (its file name), then tweeted (its URL, its sha256): a cross-platform hop;
- the first tweet is retweeted 30 times in 5 minutes: a planted cascade;
- 8 accounts created on the same day retweet the same 12 tweets within seconds of each other and post
  the same texts: a planted coordinated group;
- 200 unrelated accounts react to a news story within 10 minutes, each with its own words and the
  same link, some retweeting the story once: an organic burst.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

T0 = datetime(2017, 5, 5, 18, 38, tzinfo=UTC)  # the 4chan post
DUMP_NAME = "financement_campagne_2017.txt"
DUMP_BYTES = ("Compte-rendu du comité de financement.\nVirements prévus : 12 000 euros.\n" * 20).encode()
DUMP_SHA = hashlib.sha256(DUMP_BYTES).hexdigest()
GROUP = [f"relay{k}" for k in range(8)]
ORGANIC_N = 200
FIRST_TWEET = 860000000000000001
WORDS = (
    "election debate minister vote campaign france paris results poll leak email hack party "
    "candidate report story news breaking today evening crowd street people media watch live"
).split()


def v1_time(dt: datetime) -> str:
    return dt.strftime("%a %b %d %H:%M:%S +0000 %Y")


def v1_user(name: str, created: datetime, uid: int) -> dict:
    return {
        "id": uid,
        "id_str": str(uid),
        "screen_name": name,
        "name": name.title(),
        "created_at": v1_time(created),
        "followers_count": 10,
        "verified": False,
    }


def v1_status(
    tid: int,
    user: dict,
    when: datetime,
    text: str,
    *,
    urls=(),
    tags=(),
    retweet: dict | None = None,
    reply_to: int | None = None,
) -> dict:
    st = {
        "created_at": v1_time(when),
        "id": tid,
        "id_str": str(tid),
        "text": text,
        "truncated": False,
        "entities": {
            "hashtags": [{"text": t, "indices": [0, len(t) + 1]} for t in tags],
            "urls": [
                {"url": f"https://t.co/{k}", "expanded_url": u, "display_url": u[8:30]} for k, u in enumerate(urls)
            ],
            "user_mentions": [],
        },
        "user": user,
        "in_reply_to_status_id": reply_to,
        "in_reply_to_status_id_str": str(reply_to) if reply_to else None,
        "lang": "fr",
        "retweet_count": 0,
    }
    if retweet is not None:
        st["retweeted_status"] = retweet
        st["text"] = f"RT @{retweet['user']['screen_name']}: {retweet['text']}"[:140]
    return st


def build(root: Path) -> dict[str, Path]:
    rnd = random.Random(17)
    root.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    dump = root / "dump"
    dump.mkdir()
    (dump / DUMP_NAME).write_bytes(DUMP_BYTES)
    out["dump"] = dump

    # --- 4chan: the first appearance, with the file attached ------------------------------------
    op = 123456700
    posts = [
        {
            "no": op,
            "resto": 0,
            "now": "05/05/17(Fri)14:38:00",
            "time": int(T0.timestamp()),
            "name": "Anonymous",
            "id": "Xk3pQ9aB",
            "sub": "Macron campaign docs",
            "com": "Here are the files.<br>More soon.",
            "filename": DUMP_NAME[:-4],
            "ext": ".txt",
            "fsize": len(DUMP_BYTES),
            "md5": base64.b64encode(hashlib.md5(DUMP_BYTES).digest()).decode(),
            "tim": 1494009480123,
            "replies": 5,
            "images": 1,
            "semantic_url": "macron-campaign-docs",
        }
    ]
    parent = op
    for k in range(5):  # a reply chain: each quotes the previous one (depth 5)
        no = op + 10 + k
        posts.append(
            {
                "no": no,
                "resto": op,
                "now": "05/05/17(Fri)14:40:00",
                "time": int(T0.timestamp()) + 60 * (k + 1),
                "name": "Anonymous",
                "id": f"Pp{k}zz",
                "com": f'<a href="#p{parent}" class="quotelink">&gt;&gt;'
                f"{parent}</a><br>bump {k} &amp; mirror <script>alert(1)</script>",
            }
        )
        parent = no
    out["4chan"] = root / "thread.json"
    out["4chan"].write_text(json.dumps({"posts": posts}), encoding="utf-8")

    # --- Telegram: 40 minutes later, a channel posts the file (full export: two chats) -------------
    t_tg = T0 + timedelta(minutes=40)
    channel = {
        "name": "Leaks FR",
        "type": "public_channel",
        "id": 1099887766,
        "messages": [
            {
                "id": 1,
                "type": "service",
                "date": "2017-05-05T18:00:00",
                "date_unixtime": str(int((T0 - timedelta(hours=1)).timestamp())),
                "actor": "Leaks FR",
                "actor_id": "channel1099887766",
                "action": "create_channel",
                "title": "Leaks FR",
                "text": "",
            },
            {
                "id": 2,
                "type": "message",
                "date": "2017-05-05T19:18:00",
                "date_unixtime": str(int(t_tg.timestamp())),
                "from": "Leaks FR",
                "from_id": "channel1099887766",
                "file": f"files/{DUMP_NAME}",
                "file_name": DUMP_NAME,
                "mime_type": "text/plain",
                "text": [
                    "Documents de la campagne ",
                    {"type": "hashtag", "text": "#MacronLeaks"},
                    " ",
                    {"type": "link", "text": "https://boards.4chan.org/pol/thread/123456700"},
                ],
                "text_entities": [],
            },
            {
                "id": 3,
                "type": "message",
                "date": "2017-05-05T19:20:00",
                "date_unixtime": str(int(t_tg.timestamp()) + 120),
                "from": "Leaks FR",
                "from_id": "channel1099887766",
                "reply_to_message_id": 2,
                "text": "Partagez.",
            },
        ],
    }
    other = {
        "name": "Friend",
        "type": "personal_chat",
        "id": 4455,
        "messages": [
            {
                "id": 7,
                "type": "message",
                "date": "2017-05-05T19:30:00",
                "date_unixtime": str(int(t_tg.timestamp()) + 720),
                "from": "Friend",
                "from_id": "user4455",
                "forwarded_from": "Leaks FR",
                "text": "look",
            }
        ],
    }
    out["telegram"] = root / "result.json"
    out["telegram"].write_text(
        json.dumps(
            {
                "about": "Here is the data you requested.",
                "personal_information": {"user_id": 1},
                "chats": {"about": "This page lists all chats from this export.", "list": [channel, other]},
                "left_chats": {"about": "", "list": []},
            },
            indent=1,
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    out["telegram_chat"] = root / "channel.json"
    out["telegram_chat"].write_text(json.dumps(channel, indent=1, ensure_ascii=False), encoding="utf-8")

    # --- Twitter v1.1: the first tweet, its planted cascade, the planted group ---------------------
    t_tw = T0 + timedelta(hours=2)
    url = f"https://archive.org/download/EMLEAKS/{DUMP_NAME}"
    founder = v1_user("leakfirst", datetime(2012, 3, 1, tzinfo=UTC), 1000)
    first = v1_status(
        FIRST_TWEET,
        founder,
        t_tw,
        f"#MacronLeaks les documents {url} sha256 {DUMP_SHA}",
        urls=[url],
        tags=["MacronLeaks"],
    )
    lines = [first]
    tid = FIRST_TWEET + 1
    for k in range(30):  # 30 retweets within 5 minutes, 15 of them in the first minute
        u = v1_user(f"fan{k}", datetime(2010, 1, 1, tzinfo=UTC) + timedelta(days=97 * k), 2000 + k)
        lines.append(
            v1_status(tid, u, t_tw + timedelta(seconds=4 * k if k < 15 else 61 + 16 * (k - 15)), "", retweet=first)
        )
        tid += 1
    born = datetime(2017, 5, 3, 9, tzinfo=UTC)
    group = [v1_user(n, born + timedelta(minutes=7 * k), 3000 + k) for k, n in enumerate(GROUP)]
    sources = []
    for r in range(12):  # 12 tweets by others, each retweeted by the group within 20 s
        src_user = v1_user(f"source{r}", datetime(2011, 1, 1, tzinfo=UTC), 4000 + r)
        when = t_tw + timedelta(minutes=10 + 7 * r)
        src = v1_status(tid, src_user, when, f"Story {r} #MacronLeaks", tags=["MacronLeaks"])
        tid += 1
        sources.append(src)
        lines.append(src)
        for k, u in enumerate(group):
            lines.append(v1_status(tid, u, when + timedelta(seconds=30 + 2 * k + rnd.random()), "", retweet=src))
            tid += 1
    group_texts = []
    for r in range(6):  # and the same six slogans, posted together
        when = t_tw + timedelta(minutes=15 + 11 * r)
        text = f"Slogan {r}: la vérité sur le financement #MacronLeaks partagez avant censure numéro {r}"
        for k, u in enumerate(group):
            st = v1_status(tid, u, when + timedelta(seconds=3 * k), f"@someone {text}", tags=["MacronLeaks"])
            tid += 1
            group_texts.append(st)
            lines.append(st)
    out["v1"] = root / "tweets_v1.jsonl"
    with open(out["v1"], "w", encoding="utf-8") as f:
        for st in lines[:-10]:
            f.write(json.dumps(st, ensure_ascii=False) + "\n")
    # the last ten as a JSON array file (the other v1.1 shape)
    out["v1_array"] = root / "tweets_v1_array.json"
    out["v1_array"].write_text(json.dumps(lines[-10:], ensure_ascii=False), encoding="utf-8")

    # --- Twitter v2 pages: the organic burst (includes with users, the story it reacts to) ----------
    t_news = t_tw + timedelta(hours=3)
    news_url = "https://www.lemonde.fr/politique/article/2017/05/05/le-point-sur-les-documents.html"
    newsroom = {"id": "9000", "username": "lemondefr", "name": "Le Monde", "created_at": "2009-01-01T00:00:00.000Z"}
    news = {
        "id": "870000000000000000",
        "author_id": "9000",
        "created_at": _v2(t_news),
        "text": f"Le point {news_url}",
        "entities": {"urls": [{"start": 9, "end": 32, "url": "https://t.co/n", "expanded_url": news_url}]},
        "edit_history_tweet_ids": ["870000000000000000"],
    }
    tweets, users = [], [newsroom]
    for k in range(ORGANIC_N):
        uid_ = str(50000 + k)
        users.append(
            {
                "id": uid_,
                "username": f"citizen{k}",
                "name": f"Citizen {k}",
                "created_at": _v2(datetime(2008, 1, 1, tzinfo=UTC) + timedelta(days=11 * k + rnd.randint(0, 9))),
            }
        )
        when = t_news + timedelta(seconds=rnd.uniform(5, 600))
        t = {
            "id": str(870000000000001000 + k),
            "author_id": uid_,
            "created_at": _v2(when),
            "edit_history_tweet_ids": [str(870000000000001000 + k)],
        }
        if k % 3 == 0:
            t["text"] = f"RT @lemondefr: Le point {news_url}"
            t["referenced_tweets"] = [{"type": "retweeted", "id": news["id"]}]
        else:
            words = rnd.sample(WORDS, 9)
            t["text"] = " ".join(words) + f" {news_url}"
            t["entities"] = {"urls": [{"start": 0, "end": 23, "url": "https://t.co/n", "expanded_url": news_url}]}
        tweets.append(t)
    out["v2"] = root / "burst_v2.jsonl"
    with open(out["v2"], "w", encoding="utf-8") as f:
        for page in range(0, ORGANIC_N, 100):
            f.write(
                json.dumps(
                    {
                        "data": tweets[page : page + 100],
                        "includes": {"users": users, "tweets": [news]},
                        "meta": {"result_count": 100},
                        "__twarc": {"url": "https://api.twitter.com/2/tweets/search/all", "version": "2.10.4"},
                    }
                )
                + "\n"
            )

    # --- twarc-csv: the group's slogans again (duplicates across files), texts with newlines -------
    out["twarc_csv"] = root / "group_twarc.csv"
    cols = [
        "id",
        "conversation_id",
        "referenced_tweets.replied_to.id",
        "referenced_tweets.retweeted.id",
        "referenced_tweets.quoted.id",
        "author_id",
        "in_reply_to_user_id",
        "retweeted_user_id",
        "created_at",
        "text",
        "lang",
        "entities.hashtags",
        "entities.urls",
        "author.id",
        "author.created_at",
        "author.username",
        "author.name",
        "__twarc.retrieved_at",
        "__twarc.url",
        "__twarc.version",
    ]
    with open(out["twarc_csv"], "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
        for st in group_texts[:16]:
            u = st["user"]
            when = datetime.strptime(st["created_at"], "%a %b %d %H:%M:%S %z %Y")
            w.writerow(
                [
                    st["id_str"],
                    st["id_str"],
                    "",
                    "",
                    "",
                    u["id_str"],
                    "",
                    "",
                    _v2(when),
                    st["text"].replace(": ", ":\nline two\n", 1),
                    "fr",
                    json.dumps(["#MacronLeaks"]),
                    "[]",
                    u["id_str"],
                    _v2(datetime.strptime(u["created_at"], "%a %b %d %H:%M:%S %z %Y")),
                    u["screen_name"],
                    u["name"],
                    "2017-05-06T00:00:00+00:00",
                    "https://api.twitter.com/2/tweets",
                    "2.10.4",
                ]
            )
        # a quote of the first tweet, from an account of its own
        w.writerow(
            [
                str(tid),
                str(tid),
                "",
                "",
                str(FIRST_TWEET),
                "7777",
                "",
                "",
                _v2(t_tw + timedelta(minutes=3)),
                "Is this real?\nLooks like it",
                "en",
                "[]",
                "[]",
                "7777",
                "2015-01-01T00:00:00.000Z",
                "sceptic",
                "Sceptic",
                "",
                "",
                "",
            ]
        )
    # --- generic CSV: the same story on another platform, a day later -------------------------------
    out["csv"] = root / "other.csv"
    with open(out["csv"], "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "time", "author", "text", "reply_to", "repost_of", "quote_of", "urls", "platform"])
        w.writerow(
            [
                "fb1",
                (T0 + timedelta(days=1)).isoformat(),
                "page_a",
                "Les documents\nde la campagne",
                "",
                "",
                "",
                url,
                "other",
            ]
        )
        w.writerow(
            ["fb2", (T0 + timedelta(days=1, minutes=5)).isoformat(), "page_b", "Partagé", "", "fb1", "", "", "other"]
        )
    return out


def _v2(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.000Z")
