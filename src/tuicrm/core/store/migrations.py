"""Schema versions, applied in order when a database is opened."""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from tuicrm.core.text import LETTER_BOUND

migrations = Migrations("tuicrm")

# Every customer's letters (text.name_letters), from the grams: a range of their key.
LETTERS_FROM_GRAMS_SQL = f"""
INSERT OR IGNORE INTO name_letters (letter, name_norm, customer_id)
SELECT g.gram, c.name_norm, c.id FROM name_grams g JOIN customers c ON c.id = g.customer_id
WHERE g.gram < '{LETTER_BOUND}' AND length(g.gram) = 1
ORDER BY 1, 2, 3
"""
# The letters of some customers (``{where}`` picks them), from their names: only names
# holding a character before the bound are spelled out, one recursive step a character.
LETTERS_OF_SQL = f"""
WITH RECURSIVE g(id, norm, i) AS (
    SELECT id, name_norm, 1 FROM customers
    WHERE ({{where}}) AND name_norm GLOB '*[ -{chr(ord(LETTER_BOUND) - 1)}]*'
    UNION ALL SELECT id, norm, i + 1 FROM g WHERE i < length(norm)
)
INSERT OR IGNORE INTO name_letters (letter, name_norm, customer_id)
SELECT substr(norm, i, 1), norm, id FROM g WHERE substr(norm, i, 1) < '{LETTER_BOUND}'
ORDER BY 1, 2, 3
"""

# Columns a list sorts or filters on; each gets an index ending in id for keyset paging.
SORTABLE = (
    "name_norm", "tier", "status", "owner", "industry", "annual_amount",
    "last_contact_date", "next_due",
)


@migrations()
def m001_core(db: Database) -> None:
    """Customers and what hangs off them."""
    db.execute(
        """
        CREATE TABLE customers (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            name_norm TEXT NOT NULL UNIQUE,
            pinyin TEXT NOT NULL DEFAULT '',
            initials TEXT NOT NULL DEFAULT '',
            kind TEXT NOT NULL DEFAULT 'enterprise',
            contact TEXT NOT NULL DEFAULT '',
            industry TEXT NOT NULL DEFAULT '',
            size TEXT NOT NULL DEFAULT '',
            employees INTEGER,
            revenue INTEGER,
            region TEXT NOT NULL DEFAULT '',
            source TEXT NOT NULL DEFAULT '',
            credit_rating TEXT NOT NULL DEFAULT '',
            first_contact_date TEXT,
            first_deal_date TEXT,
            last_deal_date TEXT,
            total_amount INTEGER NOT NULL DEFAULT 0,
            annual_amount INTEGER,
            order_count INTEGER,
            profit INTEGER,
            status TEXT NOT NULL DEFAULT '',
            stage TEXT NOT NULL DEFAULT '',
            owner TEXT NOT NULL DEFAULT '',
            need_categories TEXT NOT NULL DEFAULT '',
            usage_scenario TEXT NOT NULL DEFAULT '',
            urgency TEXT NOT NULL DEFAULT '',
            preference TEXT NOT NULL DEFAULT '',
            response_speed TEXT NOT NULL DEFAULT '',
            decision_style TEXT NOT NULL DEFAULT '',
            relationship TEXT NOT NULL DEFAULT '',
            potential TEXT NOT NULL DEFAULT '',
            pain_points TEXT NOT NULL DEFAULT '',
            goals TEXT NOT NULL DEFAULT '',
            next_due_manual TEXT,
            tier_override TEXT NOT NULL DEFAULT '',
            tier_override_reason TEXT NOT NULL DEFAULT '',
            custom TEXT NOT NULL DEFAULT '{}',
            tier TEXT NOT NULL DEFAULT '',
            lifecycle TEXT NOT NULL DEFAULT '',
            strategy TEXT NOT NULL DEFAULT '',
            cadence_days INTEGER,
            last_contact_date TEXT,
            next_due TEXT,
            version INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            updated_by TEXT NOT NULL DEFAULT ''
        )
        """
    )
    db.execute(
        """
        CREATE TABLE contacts (
            id INTEGER PRIMARY KEY,
            customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            title TEXT NOT NULL DEFAULT '',
            role TEXT NOT NULL DEFAULT '',
            cares_about TEXT NOT NULL DEFAULT '',
            phone TEXT NOT NULL DEFAULT '',
            email TEXT NOT NULL DEFAULT ''
        )
        """
    )
    db.execute("CREATE INDEX contacts_customer ON contacts(customer_id)")
    db.execute(
        """
        CREATE TABLE followups (
            id INTEGER PRIMARY KEY,
            customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
            date TEXT NOT NULL,
            method TEXT NOT NULL,
            participants TEXT NOT NULL DEFAULT '',
            content TEXT NOT NULL,
            feedback TEXT NOT NULL DEFAULT '',
            owner TEXT NOT NULL DEFAULT '',
            next_date TEXT,
            satisfaction INTEGER,
            entered_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX followups_customer_date ON followups(customer_id, date)")
    db.execute("CREATE INDEX followups_date ON followups(date)")
    db.execute(
        """
        CREATE TABLE todos (
            id INTEGER PRIMARY KEY,
            customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
            followup_id INTEGER REFERENCES followups(id) ON DELETE CASCADE,
            text TEXT NOT NULL,
            due TEXT,
            owner TEXT NOT NULL DEFAULT '',
            done INTEGER NOT NULL DEFAULT 0,
            done_at TEXT
        )
        """
    )
    db.execute("CREATE INDEX todos_customer ON todos(customer_id)")
    db.execute("CREATE INDEX todos_open_due ON todos(done, due)")
    db.execute(
        """
        CREATE TABLE strategy_plans (
            id INTEGER PRIMARY KEY,
            customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
            customer_type TEXT NOT NULL DEFAULT '',
            goal TEXT NOT NULL DEFAULT '',
            owner TEXT NOT NULL DEFAULT '',
            deadline TEXT,
            expected_effect TEXT NOT NULL DEFAULT ''
        )
        """
    )
    db.execute("CREATE INDEX strategy_plans_customer ON strategy_plans(customer_id)")
    db.execute(
        """
        CREATE TABLE strategy_actions (
            id INTEGER PRIMARY KEY,
            plan_id INTEGER NOT NULL REFERENCES strategy_plans(id) ON DELETE CASCADE,
            action TEXT NOT NULL,
            owner TEXT NOT NULL DEFAULT '',
            deadline TEXT,
            expected_effect TEXT NOT NULL DEFAULT '',
            done INTEGER NOT NULL DEFAULT 0,
            done_on TEXT
        )
        """
    )
    db.execute("CREATE INDEX strategy_actions_plan ON strategy_actions(plan_id)")
    db.execute(
        """
        CREATE TABLE tags (
            customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
            dimension TEXT NOT NULL,
            value TEXT NOT NULL,
            source TEXT NOT NULL DEFAULT 'manual',
            reason TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (customer_id, dimension, value)
        ) WITHOUT ROWID
        """
    )
    db.execute("CREATE INDEX tags_value ON tags(dimension, value, customer_id)")
    db.execute(
        """
        CREATE TABLE tier_history (
            id INTEGER PRIMARY KEY,
            customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            old TEXT NOT NULL DEFAULT '',
            new TEXT NOT NULL,
            at TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT ''
        )
        """
    )
    db.execute("CREATE INDEX tier_history_customer ON tier_history(customer_id, at)")
    db.execute("CREATE INDEX tier_history_at ON tier_history(at)")
    db.execute(
        """
        CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            customer_id INTEGER,
            user TEXT NOT NULL,
            at TEXT NOT NULL,
            action TEXT NOT NULL,
            field TEXT NOT NULL DEFAULT '',
            old TEXT,
            new TEXT
        )
        """
    )
    db.execute("CREATE INDEX audit_customer ON audit(customer_id, at)")


@migrations()
def m002_search(db: Database) -> None:
    """The search index: trigram FTS for 3+ characters; 1- and 2-character grams of each
    name for the short queries trigram cannot answer."""
    db.execute(
        """
        CREATE VIRTUAL TABLE customer_search USING fts5(
            name, pinyin, initials, contacts, facts, tags, notes,
            tokenize = 'trigram'
        )
        """
    )
    db.execute(
        """
        CREATE TABLE name_grams (
            gram TEXT NOT NULL,
            customer_id INTEGER NOT NULL,
            PRIMARY KEY (gram, customer_id)
        ) WITHOUT ROWID
        """
    )


@migrations()
def m003_list_indexes(db: Database) -> None:
    """Indexes for keyset paging on every sortable column, and the board's counts."""
    for column in SORTABLE[1:]:
        db.execute(f"CREATE INDEX customers_{column} ON customers({column}, id)")
    db.execute(
        "CREATE INDEX customers_board ON customers(tier, status, annual_amount, total_amount)"
    )


@migrations()
def m004_segments(db: Database) -> None:
    """The segment each customer is in (the playbook key) and the state of the last
    segmentation run (as of which date, under which rules)."""
    db.execute("ALTER TABLE customers ADD COLUMN segment TEXT NOT NULL DEFAULT ''")
    db.execute(
        """
        CREATE TABLE segmentation_state (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            as_of TEXT NOT NULL,
            rules_fingerprint TEXT NOT NULL,
            at TEXT NOT NULL,
            customers INTEGER NOT NULL
        )
        """
    )


@migrations()
def m030_users(db: Database) -> None:
    """Team install: who may work, and as what. The first user to open the database with
    a team command becomes a manager."""
    db.execute(
        """
        CREATE TABLE users (
            name TEXT PRIMARY KEY,
            role TEXT NOT NULL CHECK (role IN ('rep', 'manager')),
            created_at TEXT NOT NULL,
            created_by TEXT NOT NULL DEFAULT ''
        )
        """
    )


@migrations()
def m031_ownership(db: Database) -> None:
    """When a customer's current owner got it (claim or assignment), so the public pool
    does not take back a customer claimed yesterday. No row: since the customer was
    created."""
    db.execute(
        """
        CREATE TABLE ownership (
            customer_id INTEGER PRIMARY KEY REFERENCES customers(id) ON DELETE CASCADE,
            owner TEXT NOT NULL,
            since TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX followups_customer_owner ON followups(customer_id, owner, date)")


@migrations()
def m020_app_indexes(db: Database) -> None:
    """Indexes of the app: never-NULL sort keys for the nullable list columns (so keyset
    paging can compare row values), the amount column, and covering indexes for the
    review board's aggregates with and without an owner filter."""
    db.execute("CREATE INDEX customers_amount_key ON customers(total_amount, id)")
    db.execute(
        "CREATE INDEX customers_last_contact_key "
        "ON customers(coalesce(last_contact_date, ''), id)"
    )
    db.execute("CREATE INDEX customers_next_due_key ON customers(coalesce(next_due, ''), id)")
    db.execute(
        "CREATE INDEX customers_board_due ON customers(tier, status, total_amount, next_due)"
    )
    db.execute(
        "CREATE INDEX customers_owner_board "
        "ON customers(owner, tier, status, total_amount, next_due)"
    )


@migrations()
def m010_import_batches(db: Database) -> None:
    """Import batches, so an import can be undone whole: the batch that created each row,
    and the old value of every field an import changed."""
    db.execute(
        """
        CREATE TABLE import_batches (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            table_name TEXT NOT NULL,
            user TEXT NOT NULL DEFAULT '',
            started_at TEXT NOT NULL,
            rows INTEGER NOT NULL DEFAULT 0,
            created INTEGER NOT NULL DEFAULT 0,
            updated INTEGER NOT NULL DEFAULT 0,
            rejected INTEGER NOT NULL DEFAULT 0,
            undone_at TEXT,
            undone_by TEXT NOT NULL DEFAULT ''
        )
        """
    )
    db.execute(
        """
        CREATE TABLE import_changes (
            id INTEGER PRIMARY KEY,
            batch_id INTEGER NOT NULL REFERENCES import_batches(id),
            table_name TEXT NOT NULL,
            row_id INTEGER NOT NULL,
            field TEXT NOT NULL,
            old TEXT,
            new TEXT
        )
        """
    )
    db.execute("CREATE INDEX import_changes_batch ON import_changes(batch_id)")
    for table in ("customers", "contacts", "followups", "todos", "strategy_plans",
                  "strategy_actions", "tags"):
        db.execute(f"ALTER TABLE {table} ADD COLUMN import_batch INTEGER")


@migrations()
def m040_lessons(db: Database) -> None:
    """The team's lessons (success and failure cases) and the customers each is about."""
    db.execute(
        """
        CREATE TABLE lessons (
            id INTEGER PRIMARY KEY,
            title TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('success', 'failure')),
            happened TEXT NOT NULL DEFAULT '',
            advice TEXT NOT NULL DEFAULT '',
            tags TEXT NOT NULL DEFAULT '[]',
            created_at TEXT NOT NULL,
            created_by TEXT NOT NULL DEFAULT ''
        )
        """
    )
    db.execute(
        """
        CREATE TABLE lesson_customers (
            lesson_id INTEGER NOT NULL REFERENCES lessons(id) ON DELETE CASCADE,
            customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
            PRIMARY KEY (lesson_id, customer_id)
        ) WITHOUT ROWID
        """
    )
    db.execute("CREATE INDEX lesson_customers_customer ON lesson_customers(customer_id)")


@migrations()
def m041_review_indexes(db: Database) -> None:
    """Indexes of the weekly and quarterly review: new customers and deals by date, the
    quarter's conversion and repurchase in one pass over a narrow covering index,
    strategy actions by deadline, purchase-total changes in the audit by date, and
    covering indexes for the period's follow-ups and the customers due by owner."""
    db.execute(
        "CREATE INDEX customers_known ON customers("
        "coalesce(first_contact_date, substr(created_at, 1, 10)))"
    )
    db.execute("CREATE INDEX customers_last_deal ON customers(last_deal_date)")
    db.execute(
        "CREATE INDEX customers_review ON customers(segment, owner, first_deal_date, "
        "last_deal_date, first_contact_date, created_at)"
    )
    db.execute("CREATE INDEX strategy_actions_deadline ON strategy_actions(deadline)")
    db.execute("CREATE INDEX audit_field_at ON audit(field, at)")
    db.execute(
        "CREATE INDEX followups_review ON followups(date, owner, customer_id, entered_at, "
        "satisfaction)"
    )
    db.execute("CREATE INDEX customers_due_owner ON customers(next_due, owner)")
    db.execute("CREATE INDEX customers_id_segment ON customers(id, segment, owner)")


@migrations()
def m070_review_figures(db: Database) -> None:
    """Indexes of the review's counts: the tier and lifecycle moves alone (a partial index,
    without the first assignments that outnumber them), open to-dos by due date with
    their customer (counting customers without reading the table), and open to-dos by
    follow-up (unresolved feedback)."""
    db.execute(
        "CREATE INDEX tier_history_moves ON tier_history(at, kind, old, new, customer_id) "
        "WHERE old != '' AND old != new"
    )
    db.execute("CREATE INDEX todos_open_due_customer ON todos(done, due, customer_id)")
    db.execute("CREATE INDEX todos_open_followup ON todos(done, followup_id)")


@migrations()
def m080_fewer_indexes(db: Database) -> None:
    """Drop the indexes nothing needs any more, each one rebuilt by every bulk load and
    kept up by every re-segmentation: the list sorts by the expressions of the ``*_key``
    indexes and the board reads ``customers_board_due``, so the plain annual-amount,
    last-contact and old board indexes go; ``followups_date`` and ``todos_open_due`` are
    the first columns of ``followups_review`` and ``todos_open_due_customer``."""
    for name in ("customers_board", "customers_annual_amount", "customers_last_contact_date",
                 "followups_date", "todos_open_due"):
        db.execute(f"DROP INDEX IF EXISTS {name}")


@migrations()
def m090_name_letters(db: Database) -> None:
    """Each name's letters (its one-character grams outside the CJK blocks) in name
    order: a one-letter search in name order reads its page off this range, where
    walking the name index crossed the Latin names that sort first and lack the letter
    (``k``: 60,000 names, 20–30 ms at a million customers)."""
    db.execute(
        """
        CREATE TABLE name_letters (
            letter TEXT NOT NULL,
            name_norm TEXT NOT NULL,
            customer_id INTEGER NOT NULL,
            PRIMARY KEY (letter, name_norm, customer_id)
        ) WITHOUT ROWID
        """
    )
    db.execute(LETTERS_FROM_GRAMS_SQL)


@migrations()
def m100_common_grams(db: Database) -> None:
    """The name grams too common to list (see ``text.COMMON_GRAM_SHARE``): a bulk load
    leaves their pairs out of ``name_grams``, and a search for one checks the names
    instead. Empty until such a load; a gram listed here may still have pairs, which no
    search reads."""
    db.execute("CREATE TABLE common_grams (gram TEXT PRIMARY KEY) WITHOUT ROWID")
