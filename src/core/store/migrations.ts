/**
 * Numbered schema migrations, applied in order on `PRAGMA user_version`, each in one
 * transaction. Never edit a released migration: add the next one.
 */
export interface Migration {
  version: number
  name: string
  sql: string
}

/** One trigger statement: adds `delta` to the counts of every counted column of `row` (NEW or OLD). */
const countDelta = (row: 'NEW' | 'OLD', delta: 1 | -1): string => `
        INSERT INTO activity_count (field, value, n)
          SELECT f, v, ${delta} FROM (
            SELECT '*' AS f, '' AS v UNION ALL SELECT 'type', ${row}.type UNION ALL SELECT 'status', ${row}.status
            UNION ALL SELECT 'server_name', ${row}.server_name UNION ALL SELECT 'tool_name', ${row}.tool_name
            UNION ALL SELECT 'session_id', ${row}.session_id UNION ALL SELECT 'intent_type', ${row}.intent_type
            UNION ALL SELECT 'sensitive', CASE WHEN ${row}.sensitive = 1 THEN '1' END
          ) WHERE v IS NOT NULL
          ON CONFLICT (field, value) DO UPDATE SET n = n + excluded.n;`
const ADD_NEW = countDelta('NEW', 1)
const SUB_OLD = countDelta('OLD', -1)

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'activity log, bodies, full-text index, chain checkpoints and tombstones, sessions, tool pins',
    sql: `
      -- One row per record. rid is the rowid (FTS key); id is the ULID whose order is time order;
      -- seq is the position in the hash chain, NULL while a record is pending.
      CREATE TABLE activity (
        rid          INTEGER PRIMARY KEY,
        id           TEXT    NOT NULL,
        seq          INTEGER,
        ts           INTEGER NOT NULL,
        type         TEXT    NOT NULL,
        status       TEXT    NOT NULL,
        server_name  TEXT,
        tool_name    TEXT,
        session_id   TEXT,
        request_id   TEXT,
        intent_type  TEXT,
        sensitive    INTEGER NOT NULL DEFAULT 0,
        duration_ms  REAL,
        error        TEXT,
        meta         TEXT    NOT NULL DEFAULT '{}',
        prev_hash    TEXT,
        hash         TEXT
      ) STRICT;
      CREATE UNIQUE INDEX activity_by_id        ON activity(id);
      CREATE UNIQUE INDEX activity_by_seq       ON activity(seq) WHERE seq IS NOT NULL;
      CREATE INDEX activity_by_type             ON activity(type, id);
      CREATE INDEX activity_by_status           ON activity(status, id);
      CREATE INDEX activity_by_server           ON activity(server_name, id);
      CREATE INDEX activity_by_tool             ON activity(tool_name, id);
      CREATE INDEX activity_by_session          ON activity(session_id, id);
      CREATE INDEX activity_by_intent           ON activity(intent_type, id) WHERE intent_type IS NOT NULL;
      CREATE INDEX activity_sensitive           ON activity(id) WHERE sensitive = 1;
      CREATE INDEX activity_pending             ON activity(id) WHERE seq IS NULL;

      -- Record counts per filterable value ('*' = all records), kept by triggers so that totals
      -- of single-filter lists and filter-options do not scan a million index entries.
      CREATE TABLE activity_count (
        field  TEXT    NOT NULL,
        value  TEXT    NOT NULL,
        n      INTEGER NOT NULL,
        PRIMARY KEY (field, value)
      ) STRICT, WITHOUT ROWID;
      CREATE TRIGGER activity_count_insert AFTER INSERT ON activity BEGIN
${ADD_NEW}
      END;
      CREATE TRIGGER activity_count_delete AFTER DELETE ON activity BEGIN
${SUB_OLD}
      END;
      CREATE TRIGGER activity_count_update
        AFTER UPDATE OF type, status, server_name, tool_name, session_id, intent_type, sensitive ON activity BEGIN
${SUB_OLD}
${ADD_NEW}
      END;

      -- Bodies live apart so that lists, counts and summaries read narrow rows.
      CREATE TABLE activity_body (
        rid        INTEGER PRIMARY KEY,
        arguments  TEXT,
        response   TEXT
      ) STRICT;

      -- Full-text over tool name, arguments, response, error and intent reason (rowid = activity.rid).
      CREATE VIRTUAL TABLE activity_fts USING fts5(
        body, content='', contentless_delete=1, detail=none, tokenize="unicode61 tokenchars '_-.'"
      );

      -- Written when retention prunes the oldest records: verification starts at first_seq,
      -- whose prev_hash must equal prev_hash here. Checkpoints are chained to each other.
      CREATE TABLE chain_checkpoint (
        id          INTEGER PRIMARY KEY,
        created_at  TEXT    NOT NULL,
        first_seq   INTEGER NOT NULL,
        prev_hash   TEXT    NOT NULL,
        pruned      INTEGER NOT NULL,
        reason      TEXT    NOT NULL,
        prior_hash  TEXT,
        hash        TEXT    NOT NULL
      ) STRICT;

      -- A record deleted on request keeps its place in the chain here; deleted_by names the
      -- record that recorded the deletion.
      CREATE TABLE activity_tombstone (
        seq         INTEGER PRIMARY KEY,
        id          TEXT    NOT NULL,
        prev_hash   TEXT    NOT NULL,
        hash        TEXT    NOT NULL,
        deleted_by  TEXT    NOT NULL
      ) STRICT;

      CREATE TABLE session (
        id              TEXT PRIMARY KEY,
        transport       TEXT NOT NULL,
        client_name     TEXT,
        client_version  TEXT,
        client_pid      INTEGER,
        client_exe      TEXT,
        started_at      TEXT NOT NULL,
        ended_at        TEXT,
        call_count      INTEGER NOT NULL DEFAULT 0
      ) STRICT;
      CREATE INDEX session_by_start ON session(started_at);

      -- Approved tool definitions (rug-pull protection).
      CREATE TABLE tool_pin (
        server_name  TEXT NOT NULL,
        tool_name    TEXT NOT NULL,
        hash         TEXT NOT NULL,
        definition   TEXT NOT NULL,
        approved_at  TEXT NOT NULL,
        PRIMARY KEY (server_name, tool_name)
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    name: 'activity_count kept by the write path instead of triggers',
    // The counts the triggers kept so far stay as they are; from now on the one write path
    // (append.ts) and every deleting statement (deletion, retention) keep them in the same
    // transaction. The insert trigger alone was two thirds of an insert's cost.
    sql: `
      DROP TRIGGER activity_count_insert;
      DROP TRIGGER activity_count_delete;
      DROP TRIGGER activity_count_update;
    `,
  },
  {
    version: 3,
    name: 'hourly record counts for period summaries',
    // Kept by the same write path as activity_count (activity-counts.ts), so that a summary of a
    // day reads a thousand rollup rows (and the records of its two partial hours) instead of
    // every record of the day. hour = ts / 3600000.
    sql: `
      CREATE TABLE activity_hourly_status (
        hour    INTEGER NOT NULL,
        type    TEXT    NOT NULL,
        status  TEXT    NOT NULL,
        n       INTEGER NOT NULL,
        -- records with a duration_ms
        timed   INTEGER NOT NULL,
        PRIMARY KEY (hour, type, status)
      ) STRICT, WITHOUT ROWID;
      -- Tool calls only. A key column cannot be NULL: a NULL server or tool is stored as '' with
      -- bit 1 (server) or 2 (tool) set in nulls.
      CREATE TABLE activity_hourly_tool (
        hour         INTEGER NOT NULL,
        server_name  TEXT    NOT NULL,
        tool_name    TEXT    NOT NULL,
        nulls        INTEGER NOT NULL,
        n            INTEGER NOT NULL,
        PRIMARY KEY (hour, server_name, tool_name, nulls)
      ) STRICT, WITHOUT ROWID;
      INSERT INTO activity_hourly_status (hour, type, status, n, timed)
        SELECT ts / 3600000, type, status, count(*), count(duration_ms) FROM activity GROUP BY 1, 2, 3;
      INSERT INTO activity_hourly_tool (hour, server_name, tool_name, nulls, n)
        SELECT ts / 3600000, coalesce(server_name, ''), coalesce(tool_name, ''), (server_name IS NULL) + 2 * (tool_name IS NULL), count(*)
        FROM activity WHERE type = 'tool_call' GROUP BY 1, 2, 3, 4;
    `,
  },
  {
    version: 4,
    name: 'chain head anchor',
    // The seq and hash of the newest chained record (or tombstone, or what the latest checkpoint
    // continues from), kept by the write path in the transaction that moves the chain's end:
    // verify compares the end it walks to with it, so removing the newest records shows. One row,
    // always there (64 zeros = GENESIS_HASH, an empty chain's head).
    sql: `
      CREATE TABLE chain_head (
        id    INTEGER PRIMARY KEY CHECK (id = 1),
        seq   INTEGER NOT NULL,
        hash  TEXT    NOT NULL
      ) STRICT;
      INSERT INTO chain_head (id, seq, hash)
        SELECT 1, seq, hash FROM (
          SELECT 0 AS seq, '${'0'.repeat(64)}' AS hash
          UNION ALL SELECT * FROM (SELECT seq, hash FROM activity WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1)
          UNION ALL SELECT * FROM (SELECT seq, hash FROM activity_tombstone ORDER BY seq DESC LIMIT 1)
          UNION ALL SELECT * FROM (SELECT first_seq - 1, prev_hash FROM chain_checkpoint ORDER BY id DESC LIMIT 1)
        ) ORDER BY seq DESC LIMIT 1;
    `,
  },
  {
    version: 5,
    name: 'tombstones by the deletion that made them',
    // a deletion by filter runs in chunks, and each chunk skips the records of deletions (the
    // records tombstones name): looked up per candidate, not read whole per chunk
    sql: `
      CREATE INDEX activity_tombstone_by_deletion ON activity_tombstone(deleted_by);
    `,
  },
  {
    version: 6,
    name: 'the process that wrote each pending record',
    // A process writing a pending record registers once (pid, and its start time where the OS
    // tells it) and names itself for that record until it is completed: the orphan sweep completes
    // the pending records of a process that is gone at once (writer-identity.ts, orphans.ts).
    sql: `
      CREATE TABLE activity_writer (
        id          INTEGER PRIMARY KEY,
        pid         INTEGER NOT NULL,
        started     TEXT,
        opened_at   TEXT    NOT NULL
      ) STRICT;
      CREATE TABLE activity_pending_writer (
        rid     INTEGER PRIMARY KEY,
        writer  INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 7,
    name: 'tool changes a person refused',
    // Blocking a changed tool keeps its pin and remembers the refused definition's hash, so the
    // review lists it as blocked rather than waiting; a later, different change is listed again.
    sql: `
      ALTER TABLE tool_pin ADD COLUMN rejected_hash TEXT;
      ALTER TABLE tool_pin ADD COLUMN rejected_at TEXT;
    `,
  },
  {
    version: 8,
    name: 'tombstones by record id',
    // an import skips the ids a deletion removed: looked up per imported record
    sql: `
      CREATE INDEX activity_tombstone_by_id ON activity_tombstone(id);
    `,
  },
]

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version
