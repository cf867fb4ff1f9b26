//! The console's dead-letter operations on SQS: redrive or delete chosen letters by id,
//! purge an error queue. SQS cannot fetch a message by id, so the chosen ones are found by
//! receiving: every letter received is hidden while the search goes on (so the next
//! receive gets others) and the ones not chosen are made visible again at the end. A
//! search stops when every id was found, the queue gives nothing more, or after
//! [`SCAN_MAX`] letters.

use super::{SqsBackend, client::sdk_error, codec::decode};
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
        let mut passed = Vec::new();
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
                for m in got {
                    let Some(receipt) = m.receipt_handle().map(str::to_owned) else {
                        continue;
                    };
                    let d = decode(m.body().unwrap_or_default(), m.message_attributes());
                    let id = d
                        .meta
                        .id
                        .unwrap_or_else(|| m.message_id().unwrap_or_default().to_owned());
                    if !left.remove(id.as_str()) {
                        passed.push(receipt);
                        continue;
                    }
                    match redrive_to {
                        Some(default_queue) => {
                            self.move_back(&url, &m, &receipt, default_queue).await?;
                        }
                        None => self.batcher.delete(&url, &receipt).await?,
                    }
                    done += 1;
                }
            }
            Ok::<_, BackendError>(())
        }
        .await;
        for receipt in passed {
            // Visible again at once; a failure only leaves it hidden a little longer.
            let _ = self.batcher.change_visibility(&url, &receipt, 0).await;
        }
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
