//! The console's dead-letter operations on SQS: redrive or delete chosen letters by id,
//! purge an error queue. SQS cannot fetch a message by id, so the chosen ones are found by
//! receiving: every letter received is hidden while the search goes on (so the next
//! receive gets others) and the ones not acted on are made visible again at the end, also
//! when an action failed half-way. A search stops when every id was found, the queue gives
//! nothing more, or after [`SCAN_MAX`] letters.

use super::{
    SqsBackend,
    client::sdk_error,
    codec::decode,
    held::{listed_id, receipts, release},
};
use crate::backend::BackendError;

/// The most letters one search receives.
const SCAN_MAX: usize = 10_000;

impl SqsBackend {
    /// Redrives (to `redrive_to`'s default when the story names no source) or, with
    /// `None`, deletes the letters of `error_queue` whose ids are in `ids`.
    pub(super) async fn act_on_ids(
        &self,
        error_queue: &str,
        ids: &[String],
        redrive_to: Option<&str>,
    ) -> Result<usize, BackendError> {
        let url = self.urls.get(&self.client, error_queue).await?;
        let mut left: std::collections::BTreeSet<&str> = ids.iter().map(String::as_str).collect();
        // Taken and not acted on (not chosen, or not reached when an action failed):
        // visible again at the end.
        let mut held: Vec<String> = Vec::new();
        let mut done = 0;
        let mut scanned = 0;
        let mut first = true;
        let result = async {
            while !left.is_empty() && scanned < SCAN_MAX {
                let got = self.take(error_queue, &url, 10, i32::from(first)).await?;
                first = false;
                if got.is_empty() {
                    break;
                }
                scanned += got.len();
                held.extend(receipts(&got));
                for m in got {
                    let Some(receipt) = m.receipt_handle() else {
                        continue;
                    };
                    let d = decode(m.body().unwrap_or_default(), m.message_attributes());
                    let id = listed_id(&m, d.meta.id);
                    if !left.remove(id.as_str()) {
                        continue;
                    }
                    match redrive_to {
                        Some(default_queue) => {
                            self.move_back(&url, &m, receipt, default_queue).await?;
                        }
                        None => self.batcher.delete(&url, receipt).await?,
                    }
                    release(&mut held, receipt);
                    done += 1;
                }
            }
            Ok::<_, BackendError>(())
        }
        .await;
        self.give_back(&url, held).await;
        result.map(|()| done)
    }

    /// Deletes everything in `error_queue` (SQS's PurgeQueue); returns how many messages
    /// it held (approximately, as SQS counts).
    pub(super) async fn purge_queue(&self, error_queue: &str) -> Result<usize, BackendError> {
        let held: u64 = self.counts(error_queue).await?.iter().sum();
        let url = self.urls.get(&self.client, error_queue).await?;
        self.client
            .purge_queue()
            .queue_url(&url)
            .send()
            .await
            .map_err(|e| sdk_error(error_queue, e))?;
        Ok(usize::try_from(held).unwrap_or(usize::MAX))
    }
}
