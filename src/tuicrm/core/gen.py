"""Synthetic but realistic customers, deterministic for a seed.

Names are built from parts (region or Latin prefix, a trade name, a trade and a legal
form) through a bijective shuffle of the index, so a million names are unique without
checking, and their pinyin comes from cached parts instead of a million pypinyin calls.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from functools import cache
from pathlib import Path
from typing import cast

from tuicrm.core.store import Store, utc_now
from tuicrm.core.store.searchbuild import GramBatches, SearchIndexBuilder
from tuicrm.core.text import (
    name_grams,
    normalize_name,
    pinyin_full,
    pinyin_initials,
)

REGIONS_2 = (
    "北京 上海 广州 深圳 杭州 南京 苏州 成都 重庆 武汉 西安 长沙 郑州 济南 青岛 大连 沈阳 "
    "天津 厦门 福州 合肥 南昌 昆明 贵阳 南宁 海口 兰州 银川 西宁 太原 佛山 宁波 无锡 东莞"
).split()
CORES = (
    "恒达 鑫源 宏泰 金桥 华信 瑞丰 永盛 博远 天成 汇通 明辉 正泰 新程 嘉禾 东方 立信 远航 "
    "中联 协力 盛世 安泰 腾飞 卓越 长青 富源 海纳 星辰 德润 启明 云帆 致远 华宇 广益 润泽 "
    "凯旋 万象 和信 佳利 福瑞 国泰 顺达 锦程 利群 宝丰 时代 同创 信达 美华 元亨 昌盛 晨光 "
    "百川 正大 银河 北辰 南风 光华 欣荣 景明 鸿运 宇通 普惠 精诚 乐活 青松 蓝海 红日 金石 "
    "天虹 众合 弘毅 聚能 科创 恒信 泰和 永兴 华美 大地 诚通 新锐 智达 领航 万通 天瑞 九州 "
    "安达 宏图 金鼎 华康 瑞祥 吉祥 隆兴 兴业 荣昌 泰丰 天元 华泰 康达 金源 永利 新华 盛达 "
    "宏达 联创 恒通 三和 四海 五洲 六合 七星 八方 千禧 百盛 万和 亿达 兆丰 恒丰 福星 祥瑞 "
    "金辉 银泰 天宇 海川 山河 松林 梅园 竹韵 兰亭 菊香 春晖 夏荷 秋实 冬青 东升 西岭 南华 "
    "北斗 中天 上品 下沙 左岸 右岸 前程 后浪 高远 深蓝 清源 明德 厚德 载物 求实 创新 务实 "
    "开元 泰康 长城 黄河 长江 珠江 泰山 华山 衡山 嵩山 峨眉 昆仑 天山 祁连 太行 燕山 秦岭"
).split()
TRADES = (
    "科技 贸易 建材 教育 医疗 食品 物流 电子 机械 服装 化工 传媒 咨询 能源 环保 设备 网络 "
    "软件 家居 文化 农业 地产 汽车 餐饮"
).split()
LEGAL = ("有限公司", "股份有限公司", "集团", "商贸公司", "工作室", "商行", "实业有限公司",
         "技术有限公司", "发展有限公司", "贸易商行", "控股集团", "服务部")
LATIN = ("A", "B", "C", "D", "E", "ABC", "TCL", "IBM", "K", "M", "X", "Z", "HK", "SZ", "GD")
INDUSTRIES = ("制造业", "零售业", "服务业", "教育", "建筑业", "互联网", "医疗", "金融", "物流",
              "能源")
REGIONS = ("华东", "华南", "华北", "华中", "西南", "西北", "东北")
SOURCES = ("展会", "线上引流", "转介绍", "电话营销", "老客户推荐")
SIZES = ((5, "1-10人"), (30, "10-50人"), (80, "50-100人"), (150, "100-200人"),
         (300, "200-500人"), (800, "500-1000人"), (3000, "1000人以上"))
STATUSES = ("培育中", "跟进中", "待谈判", "方案制定中", "合作中", "待挽回", "已流失")
STAGES = ("潜在", "意向", "合作中", "战略级")
NEEDS = ("工业设备", "快消品", "办公耗材", "信息化系统", "建材原料", "软件系统", "仓储系统",
         "原材料", "咨询服务", "培训服务")
SCENARIOS = ("企业采购", "个人消费", "项目合作")
PREFERENCES = ("成本敏感型", "品质追求型", "创新驱动型")
SPEEDS = ("24小时内", "48小时内", "48小时以上")
DECISIONS = ("快速决策型", "谨慎评估型", "长期犹豫型")
RELATIONS = ("紧密型", "稳定型", "松散型")
POTENTIALS = ("高", "中", "低")
METHODS = ("上门拜访", "电话", "线上会议", "邮件", "微信")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红建文辉鹏飞亮宁"
TITLES = (("总经理", "decision-maker"), ("采购经理", "decision-maker"), ("技术总监", "influencer"),
          ("财务主管", "influencer"), ("行政主管", "user"), ("项目经理", "user"))
CONTENTS = (
    ("沟通新设备采购需求", "预算待确认"),
    ("介绍新品与促销活动", "竞品价格更低，希望了解差异化优势"),
    ("发送案例资料", "对质量满意，正在比较报价"),
    ("讨论系统升级方案", "需要增加数据模块"),
    ("了解停止采购的原因", "价格降低10%可考虑恢复合作"),
    ("回访售后服务情况", "物流偏慢，希望改进"),
    ("邀请参加产品演示会", "同意参加演示"),
    ("提交年度合作方案", "方向认可，需内部评估"),
    ("季度业务回顾", "整体满意，计划增购"),
    ("确认交付时间", "希望提前一周交付"),
)
TODOS = ("整理报价单", "提交方案", "安排技术交流", "寄送样品", "确认合同条款", "跟进付款进度")
OWNER_COUNT = 40
FOLLOWUP_COUNTS = (1, 3, 4, 5, 5, 6, 7, 9)
CONTACT_COUNTS = (1, 2, 2, 3, 4)
CARES = ("价格", "质量", "交付速度", "售后服务", "系统稳定性")


def owners() -> list[str]:
    """The generated sales reps' names."""
    rng = random.Random(1)
    names: list[str] = []
    while len(names) < OWNER_COUNT:
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
        if name not in names:
            names.append(name)
    return names


def _name_space() -> int:
    return len(REGIONS_2) * len(CORES) * len(TRADES) * len(LEGAL)


def company_name(index: int, rng: random.Random) -> tuple[str, str, str]:
    """The ``index``-th name with its pinyin and initials; distinct for distinct indexes
    below :func:`_name_space`."""
    name, _, pinyin, initials = _company(index, rng)
    return name, pinyin, initials


def _company(index: int, rng: random.Random) -> tuple[str, str, str, str]:
    """:func:`company_name` with the normalised name second. Each part's keys are
    worked out once: the parts are plain Han characters and upper-case Latin letters,
    which normalise one by one, so a name's keys are its parts' keys joined."""
    space = _name_space()
    shuffled = (index * 7_919_357) % space  # the multiplier is prime and shares no factor
    shuffled, legal = divmod(shuffled, len(LEGAL))
    shuffled, trade = divmod(shuffled, len(TRADES))
    region, core = divmod(shuffled, len(CORES))
    prefix = REGIONS_2[region % len(REGIONS_2)]
    if rng.random() < 0.12:
        prefix = LATIN[region % len(LATIN)] + prefix
    a, b, c, d = (_part_keys(prefix), _part_keys(CORES[core]), _part_keys(TRADES[trade]),
                  _part_keys(LEGAL[legal]))
    return (a[0] + b[0] + c[0] + d[0], a[1] + b[1] + c[1] + d[1], a[2] + b[2] + c[2] + d[2],
            a[3] + b[3] + c[3] + d[3])


@cache
def _part_keys(part: str) -> tuple[str, str, str, str]:
    """A name part, normalised, in pinyin and as initials."""
    return part, normalize_name(part), pinyin_full(part), pinyin_initials(part)


def generate(
    store: Store,
    count: int,
    *,
    seed: int = 1,
    end: dt.date | None = None,
    start_index: int = 0,
    progress: Callable[[int], None] | None = None,
    phase: Callable[[str, float, float], None] | None = None,
) -> int:
    """Add ``count`` generated customers with contacts, follow-ups and to-dos.

    Everything is written in one transaction, in id order, with the indexes that the
    rows would hit at random places built once after the load. Into a database without
    customers, the search indexes are built once at the end too; otherwise each batch's
    grams and search documents are added with it. ``phase`` hears the name, wall seconds
    and CPU seconds of each step. Returns how many customers were added.
    """
    if start_index + count > _name_space():
        raise ValueError(f"--customers: at most {_name_space()} generated customers")
    end = end or dt.date.today()
    rng = random.Random(seed)
    reps = owners()
    now = utc_now()
    conn = store.conn
    first_id = int(conn.execute("SELECT coalesce(max(id), 0) FROM customers").fetchone()[0]) + 1
    fresh = first_id == 1
    timer = _PhaseTimer(phase)
    batch = 20_000
    # Grams of a fresh load, gathered per gram in id order: one sorted insert at the end.
    gathered = GramBatches(batch=None)
    # Into a new database file, the full-text index is built on another thread.
    building = fresh and isinstance(store.path, Path)
    with store.unjournaled(fresh), \
            (SearchIndexBuilder(store) if building else nullcontext()) as builder, \
            store.write(), _choice_tables(conn, end):
        # A writer thread inserts one batch while this one draws the next: SQLite
        # releases the GIL while it works, so the two overlap.
        with store.bulk_load(rebuild_indexes=count >= first_id), \
                ThreadPoolExecutor(max_workers=1, thread_name_prefix="gen-writer") as writer:
            def wait(written: Future[int] | None) -> None:
                if written is not None:
                    n = written.result()  # re-raises the writer's error here
                    if progress:
                        progress(n)

            pending: Future[int] | None = None
            for offset in range(0, count, batch):
                n = min(batch, count - offset)
                rows = _batch(rng, start_index + offset, first_id + offset, n, end, reps, now)
                names = [(cast(int, row[0]), cast(str, row[2])) for row in rows[0]]  # id, norm
                if fresh:
                    gathered.add(first_id + offset, [norm for _, norm in names])
                    grams: list[tuple[str, int]] | None = None
                else:
                    grams = sorted((gram, customer_id) for customer_id, norm in names
                                   for gram in name_grams(norm))
                wait(pending)
                pending = writer.submit(_write, store, rows, grams, first_id + offset, n,
                                        seed, builder)
            wait(pending)
            timer.lap("rows")
            runs = gathered.take() or {}
            store.add_common_grams(gathered.common)
            if fresh and builder is not None:
                # The builder appends them on the other core while this one segments
                # and builds the indexes.
                builder.add_grams(runs)
                builder.end()
            elif fresh:
                store.add_gram_runs(runs)
                timer.lap("grams")
            if fresh and builder is None:
                store.reindex()
                timer.lap("search index")
            # Before the indexes come back: updating every customer would otherwise
            # rebuild those on the columns segmentation sets a second time.
            store.resegment()
            timer.lap("segmentation")
        timer.lap("indexes")
        if builder is not None:
            builder.adopt(store)
            timer.lap("search index")
    timer.lap("commit")
    return count


class _PhaseTimer:
    """Reports the wall and CPU seconds since the last lap."""

    def __init__(self, report: Callable[[str, float, float], None] | None) -> None:
        self.report = report
        self.wall = time.perf_counter()
        self.cpu = time.process_time()

    def lap(self, name: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        if self.report:
            self.report(name, wall - self.wall, cpu - self.cpu)
        self.wall, self.cpu = wall, cpu


def _write(store: Store, rows: tuple[list[tuple[object, ...]], ...],
           grams: list[tuple[str, int]] | None, id0: int, n: int, seed: int,
           builder: SearchIndexBuilder | None) -> int:
    """Insert a batch; with ``grams`` (not a fresh load), index it too; with a
    ``builder``, hand it the batch's search documents."""
    customers, plans, todos = rows
    conn = store.conn
    conn.executemany(_CUSTOMER_SQL, customers)
    conn.executemany(_PLAN_SQL, plans)
    conn.execute(_CONTACTS_FROM_PLAN_SQL, {"seed": seed, "surnames": SURNAMES, "given": GIVEN})
    conn.execute(_FOLLOWUPS_FROM_PLAN_SQL, {"seed": seed})
    conn.execute("DELETE FROM temp.gen_plan")
    conn.executemany(_TODO_SQL, todos)
    if builder is not None:
        builder.add(store.search_documents_json(id0, id0 + n - 1))
    if grams is not None:
        store.add_name_grams(grams)
        store.index_new_customers(id0, id0 + n - 1, grams=False)
    return n


_CUSTOMER_SQL = (
    "INSERT INTO customers (id, name, name_norm, pinyin, initials, kind, contact, industry, "
    "size, employees, region, source, first_contact_date, first_deal_date, last_deal_date, "
    "total_amount, order_count, status, stage, owner, need_categories, usage_scenario, "
    "preference, response_speed, decision_style, relationship, potential, last_contact_date, "
    "created_at, updated_at, updated_by) VALUES "
    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
    "'gen')"
)
# Follow-ups and contacts are made in SQL from one plan row per customer (how many of
# each, the first contact and the latest follow-up as days before the end date, the
# owner): binding seven million rows one by one was most of a million-customer run.
# Each row's random choices come from a hash of its customer id, its number and the
# seed: 32-bit multiply and xor-shift rounds (SQLite has no xor; a | b - a & b is one),
# in layers SQLite keeps apart (OFFSET stops it from inlining a subquery), so each round
# runs once per row. A follow-up's day lies in its own stretch of the span between the
# first contact and the latest follow-up, so ids follow the dates.
_PLAN_SQL = "INSERT INTO temp.gen_plan VALUES (?, ?, ?, ?, ?, ?)"
_XOR_SHIFT = "((x | (x >> {0})) - (x & (x >> {0})))"


def _hashed(rows_sql: str) -> str:
    """``rows_sql`` (which gives a 32-bit ``x`` per row) with ``x`` mixed as ``h``."""
    return f"""
    SELECT *, {_XOR_SHIFT.format(15)} AS h FROM ({rows_sql} LIMIT -1 OFFSET 0)
    LIMIT -1 OFFSET 0"""


def _numbered(count_column: str, salt: int) -> str:
    """Each plan row ``count_column`` times, numbered ``j`` from 0, with its ``x``."""
    return f"""
    SELECT p.*, n.j, ((p.customer_id * 32 + {salt} + n.j) * 2654435761 + :seed)
        % 4294967296 AS x
    FROM temp.gen_plan p CROSS JOIN temp.gen_numbers n WHERE n.j < p.{count_column}"""


_FOLLOWUPS_FROM_PLAN_SQL = f"""
INSERT INTO followups (customer_id, date, method, participants, content, feedback, owner,
    satisfaction, entered_at)
SELECT customer_id, (SELECT day FROM temp.gen_days WHERE offset = f.offset),
    (SELECT value FROM temp.gen_methods WHERE k = (h >> 14) % {len(METHODS)}),
    owner, c.content, c.feedback, owner,
    CASE (h >> 21) % 5 WHEN 2 THEN 3 WHEN 3 THEN 4 WHEN 4 THEN 5 END,
    (SELECT day FROM temp.gen_days WHERE offset = f.offset - hour / 24)
        || printf('T%02d:00:00+00:00', hour % 24)
FROM (
    SELECT customer_id, owner, h,
        CASE WHEN j = followups - 1 THEN latest ELSE latest + CAST(
            (followups - 1 - j - 0.8 * (h >> 24) / 256.0) * (first - latest)
            / (followups - 1) AS INTEGER) END AS offset,
        9 + CASE WHEN h % 100 < 8 THEN 26 + (h >> 7) % 71 ELSE (h >> 7) % 13 END AS hour
    FROM ({_hashed(_numbered("followups", 0))})
    LIMIT -1 OFFSET 0
) f
CROSS JOIN temp.gen_contents c ON c.k = (f.h >> 17) % {len(CONTENTS)}
"""
_CONTACTS_FROM_PLAN_SQL = f"""
INSERT INTO contacts (customer_id, name, title, role, cares_about, phone)
SELECT customer_id,
    substr(:surnames, x % {len(SURNAMES)} + 1, 1) || substr(:given, (x >> 6) % {len(GIVEN)} + 1, 1)
        || substr(:given, (x >> 12) % {len(GIVEN)} + 1, 1),
    t.title, t.role, (SELECT value FROM temp.gen_cares WHERE k = (x >> 21) % {len(CARES)}),
    '1' || (3 + (x >> 24) % 7) || printf('%09d', h % 1000000000)
FROM ({_hashed(_numbered("contacts", 16))}) c
CROSS JOIN temp.gen_titles t ON t.k = (c.x >> 18) % {len(TITLES)}
"""
_TODO_SQL = (
    "INSERT INTO todos (customer_id, followup_id, text, due, owner, done) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)

def _batch(
    rng: random.Random, index0: int, id0: int, n: int, end: dt.date, reps: list[str], now: str,
) -> tuple[list[tuple[object, ...]], ...]:
    # Each column's values are drawn for the whole batch at once (``rng.choices`` with
    # ``k``) and dates are day offsets before ``end`` looked up in a table of ISO strings:
    # a per-value ``rng.choice`` and ``date.isoformat`` made this loop most of a
    # million-customer run.
    customers: list[tuple[object, ...]] = []
    plans: list[tuple[object, ...]] = []
    todos: list[tuple[object, ...]] = []
    rand = rng.random
    pick = rng.choices
    day = _day_table(end)
    sizes = pick(SIZES, k=n)
    owners_ = pick(reps, k=n)
    titles = pick(TITLES, k=n)
    columns = [pick(values, k=n) for values in (
        INDUSTRIES, REGIONS, SOURCES, NEEDS, SCENARIOS, PREFERENCES, SPEEDS, DECISIONS,
        RELATIONS, POTENTIALS)]
    followup_counts = pick(FOLLOWUP_COUNTS, k=n)
    contact_counts = pick(CONTACT_COUNTS, k=n)
    for k in range(n):
        customer_id = id0 + k
        name, norm, pinyin, initials = _company(index0 + k, rng)
        employees, size = sizes[k]
        owner = owners_[k]
        first_contact = 30 + int(rand() * (3 * 365 - 29))  # days before ``end``
        dealt = rand() < 0.7
        first_deal = last_deal = None
        total = 0
        orders = 0
        if dealt:
            first_deal = max(first_contact - int(rand() * 121), 0)
            last_deal = day[first_deal - int(rand() * (first_deal + 1))]
            first_deal_text: str | None = day[first_deal]
            # Heavy tail: most customers buy a few ten thousand yuan, a few buy millions.
            total = int(math.exp(rng.gauss(11.5, 1.3))) // 100 * 100
            orders = 1 + int(rand() * 40)
        else:
            first_deal_text = None
        status = STATUSES[1 + int(rand() * 5)] if dealt else STATUSES[int(rand() * 3)]
        stage = STAGES[1 + int(rand() * 3)] if dealt else STAGES[int(rand() * 2)]
        # The latest of the follow-ups on days drawn uniformly since the first contact
        # (the minimum of ``count`` uniform draws); SQL places the others before it.
        latest = int((first_contact + 1) * (1 - rand() ** (1 / followup_counts[k])))
        customers.append((
            customer_id, name, norm, pinyin, initials,
            "individual" if name.endswith("工作室") else "enterprise",
            titles[k][0], columns[0][k], size, employees, columns[1][k], columns[2][k],
            day[first_contact], first_deal_text, last_deal, total, orders or None, status,
            stage, owner, columns[3][k], columns[4][k], columns[5][k], columns[6][k],
            columns[7][k], columns[8][k], columns[9][k], day[latest], now, now,
        ))
        plans.append((customer_id, followup_counts[k], contact_counts[k], first_contact,
                      latest, owner))
        if rand() < 0.3:
            due = latest - 3 - int(rand() * 19)
            todos.append((customer_id, None, TODOS[int(rand() * len(TODOS))], day[due], owner,
                          int(due > 0 and rand() < 0.6)))
    return customers, plans, todos


@contextmanager
def _choice_tables(conn: sqlite3.Connection, end: dt.date) -> Iterator[None]:
    """Temp tables the follow-up SQL draws from: the days by offset before ``end``, the
    methods, the contents, the numbers of a customer's follow-ups, and the plan."""
    tables = ("gen_days", "gen_methods", "gen_contents", "gen_titles", "gen_cares",
              "gen_numbers", "gen_plan")
    for table in tables:
        conn.execute(f"DROP TABLE IF EXISTS temp.{table}")
    conn.execute("CREATE TEMP TABLE gen_days (offset INTEGER PRIMARY KEY, day TEXT)")
    days = _day_table(end)
    conn.executemany("INSERT INTO temp.gen_days VALUES (?, ?)",
                     [(k if k <= 3 * 365 else k - len(days), d) for k, d in enumerate(days)])
    conn.execute("CREATE TEMP TABLE gen_methods (k INTEGER PRIMARY KEY, value TEXT)")
    conn.executemany("INSERT INTO temp.gen_methods VALUES (?, ?)", enumerate(METHODS))
    conn.execute("CREATE TEMP TABLE gen_contents (k INTEGER PRIMARY KEY, content TEXT, "
                 "feedback TEXT)")
    conn.executemany("INSERT INTO temp.gen_contents VALUES (?, ?, ?)",
                     [(k, *pair) for k, pair in enumerate(CONTENTS)])
    conn.execute("CREATE TEMP TABLE gen_titles (k INTEGER PRIMARY KEY, title TEXT, role TEXT)")
    conn.executemany("INSERT INTO temp.gen_titles VALUES (?, ?, ?)",
                     [(k, *pair) for k, pair in enumerate(TITLES)])
    conn.execute("CREATE TEMP TABLE gen_cares (k INTEGER PRIMARY KEY, value TEXT)")
    conn.executemany("INSERT INTO temp.gen_cares VALUES (?, ?)", enumerate(CARES))
    conn.execute("CREATE TEMP TABLE gen_numbers (j INTEGER PRIMARY KEY)")
    conn.executemany("INSERT INTO temp.gen_numbers VALUES (?)",
                     [(j,) for j in range(max(*FOLLOWUP_COUNTS, *CONTACT_COUNTS))])
    conn.execute("CREATE TEMP TABLE gen_plan (customer_id INTEGER PRIMARY KEY, "
                 "followups INTEGER, contacts INTEGER, first INTEGER, latest INTEGER, "
                 "owner TEXT)")
    try:
        yield
    finally:
        for table in tables:
            conn.execute(f"DROP TABLE IF EXISTS temp.{table}")


def _day_table(end: dt.date) -> list[str]:
    """ISO dates by how many days before ``end`` they are; a negative index is a day
    after ``end`` (a list wraps negative indexes to its tail, which holds those)."""
    before = [(end - dt.timedelta(days=k)).isoformat() for k in range(3 * 365 + 1)]
    after = [(end + dt.timedelta(days=k)).isoformat() for k in range(30, 0, -1)]
    return before + after
