//! Per-minute rollups: adding a flush of heartbeat counts (one upsert per row), pruning
//! past the retention, and the queries of the Subscription and Realm pages.

use rusqlite::{Connection, params};

use crate::{
    console::{fleet::SubKey, rollup::Agg},
    control::wire::BUCKET_COUNT,
};

/// One rollup row to add: subscription, realm, Unix minute, counts.
pub type Row = (SubKey, String, i64, Agg);

const H: &str = "h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11, h12, h13, h14, h15";

fn sum_columns() -> String {
    "SUM(done), SUM(retried), SUM(dead_lettered), SUM(handling_ms), ".to_owned()
        + &(0..BUCKET_COUNT)
            .map(|i| format!("SUM(h{i})"))
            .collect::<Vec<_>>()
            .join(", ")
}

/// Reads an [`Agg`] from the columns starting at `first`.
fn agg(r: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<Agg> {
    let u = |i: usize| -> rusqlite::Result<u64> {
        Ok(u64::try_from(r.get::<_, Option<i64>>(first + i)?.unwrap_or(0)).unwrap_or(0))
    };
    let mut histogram = [0; BUCKET_COUNT];
    for (i, slot) in histogram.iter_mut().enumerate() {
        *slot = u(4 + i)?;
    }
    Ok(Agg {
        done: u(0)?,
        retried: u(1)?,
        dead_lettered: u(2)?,
        handling_ms: u(3)?,
        histogram,
    })
}

fn i(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Adds `rows` in one transaction.
pub fn write_rollups(conn: &mut Connection, rows: &[Row]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let placeholders = (9..9 + BUCKET_COUNT)
            .map(|n| format!("?{n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let updates = (0..BUCKET_COUNT)
            .map(|n| format!("h{n} = h{n} + excluded.h{n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO rollups (backend, subscription, realm, minute, done, retried, dead_lettered, handling_ms, {H})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, {placeholders})
             ON CONFLICT (backend, subscription, minute, realm) DO UPDATE SET
               done = done + excluded.done, retried = retried + excluded.retried,
               dead_lettered = dead_lettered + excluded.dead_lettered,
               handling_ms = handling_ms + excluded.handling_ms, {updates}"
        );
        let mut stmt = tx.prepare_cached(&sql)?;
        for (key, realm, minute, a) in rows {
            let mut values: Vec<rusqlite::types::Value> = vec![
                key.backend.clone().into(),
                key.name.clone().into(),
                realm.clone().into(),
                (*minute).into(),
                i(a.done).into(),
                i(a.retried).into(),
                i(a.dead_lettered).into(),
                i(a.handling_ms).into(),
            ];
            values.extend(a.histogram.iter().map(|&n| i(n).into()));
            stmt.execute(rusqlite::params_from_iter(values))?;
        }
    }
    tx.commit()
}

/// Deletes the rollups before `minute`; how many.
pub fn prune(conn: &mut Connection, minute: i64) -> rusqlite::Result<usize> {
    conn.execute("DELETE FROM rollups WHERE minute < ?1", params![minute])
}

/// Each realm of `key` from `since` (Unix minute): its counts, most handling time first.
pub fn realm_totals(
    conn: &mut Connection,
    key: &SubKey,
    since: i64,
) -> rusqlite::Result<Vec<(String, Agg)>> {
    let sql = format!(
        "SELECT realm, {} FROM rollups WHERE backend = ?1 AND subscription = ?2 AND minute >= ?3
         GROUP BY realm ORDER BY SUM(handling_ms) DESC, SUM(done) DESC",
        sum_columns()
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![key.backend, key.name, since], |r| {
        Ok((r.get::<_, String>(0)?, agg(r, 1)?))
    })?;
    rows.collect()
}

/// Done per minute per realm of `key` from `since`: `(minute, realm, done)`.
pub fn realm_series(
    conn: &mut Connection,
    key: &SubKey,
    since: i64,
) -> rusqlite::Result<Vec<(i64, String, u64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT minute, realm, done FROM rollups
         WHERE backend = ?1 AND subscription = ?2 AND minute >= ?3 ORDER BY minute",
    )?;
    let rows = stmt.query_map(params![key.backend, key.name, since], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
        ))
    })?;
    rows.collect()
}

/// One realm across every subscription from `since`.
pub fn realm_across(
    conn: &mut Connection,
    realm: &str,
    since: i64,
) -> rusqlite::Result<Vec<(SubKey, Agg)>> {
    let sql = format!(
        "SELECT backend, subscription, {} FROM rollups WHERE realm = ?1 AND minute >= ?2
         GROUP BY backend, subscription ORDER BY SUM(handling_ms) DESC",
        sum_columns()
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![realm, since], |r| {
        Ok((
            SubKey {
                backend: r.get(0)?,
                name: r.get(1)?,
            },
            agg(r, 2)?,
        ))
    })?;
    rows.collect()
}

/// The realms with the most handling time across the fleet from `since`.
pub fn top_realms(
    conn: &mut Connection,
    since: i64,
    limit: usize,
) -> rusqlite::Result<Vec<(String, Agg)>> {
    let sql = format!(
        "SELECT realm, {} FROM rollups WHERE minute >= ?1
         GROUP BY realm ORDER BY SUM(handling_ms) DESC, SUM(done) DESC LIMIT ?2",
        sum_columns()
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![since, i64::try_from(limit).unwrap_or(100)], |r| {
        Ok((r.get::<_, String>(0)?, agg(r, 1)?))
    })?;
    rows.collect()
}
