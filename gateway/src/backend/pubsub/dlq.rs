//! The console's dead-letter operations on Pub/Sub: redrive or delete chosen letters by
//! id, purge an error subscription. Pub/Sub cannot fetch a message by id: letters are
//! pulled (held while the search goes on), the chosen ones redriven or acked, the rest
//! given back at once. A search pulls at most [`SCAN_MAX`] letters.

use std::collections::{BTreeSet, HashMap};

use super::{
    PubsubBackend,
    admin::{give_back, move_back, pull_up_to, stable_id},
};
use crate::backend::BackendError;

/// The most letters one search pulls.
const SCAN_MAX: usize = 10_000;

/// Redrives (to `redrive_to`'s topic when the story names no source) or, with `None`,
/// deletes the letters of `error_queue` whose ids are in `ids`.
pub(super) async fn act_on_ids(
    b: &PubsubBackend,
    error_queue: &str,
    ids: &[String],
    redrive_to: Option<&str>,
) -> Result<usize, BackendError> {
    if b.api.sub_info(error_queue).await?.is_none() {
        return Ok(0);
    }
    let mut left: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
    let pulled = pull_up_to(b, error_queue, SCAN_MAX).await?;
    let mut passed = Vec::new();
    let mut topics = HashMap::new();
    let mut done = 0;
    let mut result = Ok(());
    for rm in pulled {
        let chosen = rm
            .message
            .as_ref()
            .is_some_and(|m| left.remove(stable_id(m).as_str()));
        if !chosen || result.is_err() {
            passed.push(rm.ack_id);
            continue;
        }
        let ack_id = rm.ack_id.clone();
        let acted = match redrive_to {
            Some(default_queue) => move_back(b, error_queue, rm, default_queue, &mut topics).await,
            None => b.api.ack(error_queue, vec![rm.ack_id]).await.map(|()| true),
        };
        match acted {
            Ok(true) => done += 1,
            Ok(false) => {}
            Err(e) => {
                // The letter that failed goes back too.
                passed.push(ack_id);
                result = Err(e);
            }
        }
    }
    give_back(b, error_queue, passed).await;
    result.map(|()| done)
}

/// Acks every letter of `error_queue` (pulled in rounds until none comes).
pub(super) async fn purge(b: &PubsubBackend, error_queue: &str) -> Result<usize, BackendError> {
    if b.api.sub_info(error_queue).await?.is_none() {
        return Ok(0);
    }
    let mut purged = 0;
    loop {
        let got = b.api.pull_now(error_queue, 1000).await?;
        if got.is_empty() {
            return Ok(purged);
        }
        purged += got.len();
        b.api
            .ack(error_queue, got.into_iter().map(|m| m.ack_id).collect())
            .await?;
    }
}
